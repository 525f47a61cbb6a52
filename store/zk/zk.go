// Package zk is the store of ZooKeeper trees (srcType=zk, destType=zk): a
// subtree of znodes under a prefix, one entry per znode. A key is the
// znode's path relative to the prefix ("a/b"); the prefix's own znode is
// the key "." (ZooKeeper allows no znode named "."), so that its data, ACL
// and child counter are copied too. Listing streams the subtree in byte
// order of the keys, which puts every parent before its children.
//
// An entry's content is the znode's data (bytes, up to ZooKeeper's 1 MiB;
// empty data is a znode like any other), its CRC64 computed as listed. Its
// Meta holds what a copy must keep beside the data: the ACL, exactly as
// read (MetaACL), and the parent's sequential counter (MetaSeq); Differs
// compares them. Ephemeral znodes are listed as store.Special, so that a
// copy skips them with the reason; a znode this session may not read is
// store.Unreadable, and fails alone.
//
// Put writes the data and ACL of one znode, creating it (and any missing
// parent, as a placeholder whose own entry writes its data and ACL later)
// or overwriting it. Concurrent Puts are gathered into multi-op
// transactions (batch.go), each all or nothing. After a Put the znode's
// sequential counter at the destination is at least the source's, so that
// a sequential child created later gets a higher number than any copied
// one.
package zk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zkwire"
	"ferry/store"
)

// Config says which ensemble and subtree a store is, and as whom.
type Config struct {
	// Connect is the connect string, "h1:2181,h2:2181", optionally with a
	// chroot after the last address ("h1:2181,h2:2181/app").
	Connect string
	// Prefix is the subtree's root znode, absolute ("/a/b"; "/" or "" is
	// the whole tree, without ZooKeeper's own /zookeeper).
	Prefix string
	// User and Password are a digest identity added to the session when
	// User is set (job.cfg's *AccessKey and *SecretKey).
	User, Password string
	// Role is "src" or "dest": it names the keys in messages. A source's
	// prefix must exist; a destination's is created at the first Put.
	Role string
	// SessionTimeout is the session's timeout asked of the ensemble
	// (default 15 s; the servers bound it by their tickTime).
	SessionTimeout time.Duration
	// ConnectTimeout bounds the wait for a first session (default 15 s).
	ConnectTimeout time.Duration
	// Retry is the policy of operations that failed because the session
	// or its connection was lost (default store.DefaultRetry).
	Retry store.RetryPolicy
}

// Store is one subtree of one ensemble, over one session.
type Store struct {
	cfg      Config
	conn     *zk.Conn                      // the main session: writes, and reads of what a write needs
	readers  []atomic.Pointer[zkwire.Conn] // more sessions to the same server, for reads (session.go)
	turn     atomic.Uint32
	redialed atomic.Int64 // when a read session was last dialed again (unix ns)
	closed   atomic.Bool
	log      *connLog
	chroot   string // "" or "/app": prepended to every path sent
	root     string // the subtree's root, as the ensemble sees it (chroot included)
	acl      []zk.ACL
	retry    store.RetryPolicy
	batch    *batcher
	rbatch   *readBatcher // the copy's data reads (readbatch.go)

	rootSeen atomic.Bool // a destination's root was found or made (put.go)

	existed atomic.Bool // the last Put found its znode there: try a set first
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.StatOpener  = (*Store)(nil)
	_ store.Deleter     = (*Store)(nil)
	_ store.TreeDeleter = (*Store)(nil)
	_ store.Differ      = (*Store)(nil)
)

// RootKey is the key of the prefix's own znode.
const RootKey = "."

// New connects to the ensemble and checks the subtree: the chroot must
// exist, and a source's prefix must exist and be readable. It waits for
// the first session at most ConnectTimeout.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Role == "" {
		cfg.Role = "src"
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 15 * time.Second
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	if cfg.Retry.Attempts <= 0 {
		cfg.Retry = store.DefaultRetry
	}
	servers, chroot, err := ParseConnect(cfg.Connect)
	if err != nil {
		return nil, fmt.Errorf("%sDomain: %w", cfg.Role, err)
	}
	prefix, err := cleanPrefix(cfg.Prefix)
	if err != nil {
		return nil, fmt.Errorf("%sPrefix: %w", cfg.Role, err)
	}
	s := &Store{cfg: cfg, chroot: chroot, root: joinPath(chroot, prefix), retry: cfg.Retry}
	s.acl = zk.WorldACL(zk.PermAll)
	if cfg.User != "" {
		s.acl = zk.DigestACL(zk.PermAll, cfg.User, cfg.Password)
	}
	if err := s.connect(ctx, servers); err != nil {
		return nil, err
	}
	s.openReaders(ctx)
	s.batch = newBatcher(s)
	s.rbatch = &readBatcher{s: s}
	if err := s.check(ctx, prefix); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// check makes sure the chroot exists and, for a source, that the prefix
// exists and can be read.
func (s *Store) check(ctx context.Context, prefix string) error {
	if s.chroot != "" {
		ok, _, err := s.exists(ctx, s.chroot)
		if err != nil {
			return s.describe(err, s.chroot)
		}
		if !ok {
			return fmt.Errorf("%sDomain: chroot %s does not exist on %s: %w", s.cfg.Role, s.chroot, s.servers(), store.ErrNotExist)
		}
	}
	if s.cfg.Role != "src" {
		return nil
	}
	_, _, err := s.get(ctx, s.root)
	switch {
	case errors.Is(err, zk.ErrNoNode):
		return fmt.Errorf("%sPrefix: znode %s does not exist on %s: %w", s.cfg.Role, s.show(prefix), s.servers(), store.ErrNotExist)
	case errors.Is(err, zk.ErrNoAuth):
		return fmt.Errorf("%sPrefix: not authorized to read znode %s as %s: check %sAccessKey and %sSecretKey: %w",
			s.cfg.Role, s.show(prefix), s.identity(), s.cfg.Role, s.cfg.Role, store.ErrPermission)
	case err != nil:
		return s.describe(err, s.root)
	}
	return nil
}

// show names a prefix for messages, with the chroot when there is one.
func (s *Store) show(prefix string) string {
	if s.chroot != "" {
		return prefix + " (under chroot " + s.chroot + ")"
	}
	return prefix
}

// identity says as whom the session acts, for messages (never the
// password).
func (s *Store) identity() string {
	if s.cfg.User == "" {
		return "a session without credentials"
	}
	return fmt.Sprintf("digest user %q", s.cfg.User)
}

func (s *Store) servers() string { return strings.Join(s.serverList(), ",") }

// Close ends the session.
func (s *Store) Close() error {
	if s.batch != nil {
		s.batch.close()
	}
	s.closed.Store(true)
	for i := range s.readers {
		if c := s.readers[i].Load(); c != nil {
			c.Close()
		}
	}
	s.conn.Close()
	return nil
}

// ParseConnect splits a connect string into its servers (host:port, port
// 2181 when absent) and its chroot ("" or "/app").
func ParseConnect(connect string) ([]string, string, error) {
	connect = strings.TrimSpace(connect)
	hosts, chroot := connect, ""
	if i := strings.IndexByte(connect, '/'); i >= 0 {
		hosts, chroot = connect[:i], connect[i:]
		if strings.Contains(hosts, "://") || strings.HasPrefix(connect, "zk:") {
			return nil, "", fmt.Errorf("%q: a connect string is host:port[,host:port...][/chroot], without a scheme", connect)
		}
		c, err := cleanPrefix(chroot)
		if err != nil {
			return nil, "", fmt.Errorf("chroot in %q: %w", connect, err)
		}
		if c == "/" {
			c = ""
		}
		chroot = c
	}
	var servers []string
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if !strings.Contains(h, ":") || strings.HasSuffix(h, "]") {
			h += ":2181"
		}
		servers = append(servers, h)
	}
	if len(servers) == 0 {
		return nil, "", fmt.Errorf("%q: no server (want host:port[,host:port...][/chroot])", connect)
	}
	return servers, chroot, nil
}

// cleanPrefix checks a znode path and returns it clean: absolute, no
// trailing "/" but for the root, no empty, "." or ".." component.
func cleanPrefix(p string) (string, error) {
	if p == "" || p == "/" {
		return "/", nil
	}
	if p[0] != '/' {
		return "", fmt.Errorf("%q: a znode path starts with /", p)
	}
	p = strings.TrimSuffix(p, "/")
	for _, c := range strings.Split(p[1:], "/") {
		if c == "" || c == "." || c == ".." || strings.IndexByte(c, 0) >= 0 {
			return "", fmt.Errorf("%q: not a valid znode path (empty, \".\" or \"..\" component, or NUL)", p)
		}
	}
	return p, nil
}

func joinPath(a, b string) string {
	switch {
	case a == "" || a == "/":
		return b
	case b == "/":
		return a
	}
	return a + b
}

// path returns the znode path of key, as sent to the ensemble.
func (s *Store) path(key string) (string, error) {
	if key == RootKey {
		return s.root, nil
	}
	if err := checkKey(key); err != nil {
		return "", err
	}
	if s.root == "/" {
		return "/" + key, nil
	}
	return s.root + "/" + key, nil
}

// checkKey refuses a key that names no znode below the root.
func checkKey(key string) error {
	if key == "" || key[0] == '/' || key[len(key)-1] == '/' {
		return fmt.Errorf("%w %q: not a relative znode path", store.ErrInvalidKey, key)
	}
	for _, c := range strings.Split(key, "/") {
		if c == "" || c == "." || c == ".." || strings.IndexByte(c, 0) >= 0 {
			return fmt.Errorf("%w %q: not a valid znode path", store.ErrInvalidKey, key)
		}
	}
	return nil
}

// parentKey is the key of key's parent: RootKey for a top-level key.
func parentKey(key string) string {
	if i := strings.LastIndexByte(key, '/'); i >= 0 {
		return key[:i]
	}
	return RootKey
}

// systemNode reports whether p is ZooKeeper's own subtree (/zookeeper),
// which a copy of the whole tree leaves out.
func systemNode(p string) bool { return p == "/zookeeper" || strings.HasPrefix(p, "/zookeeper/") }
