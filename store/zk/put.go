package zk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/go-zookeeper/zk"

	"ferry/store"
)

// maxData bounds what Put reads of one znode's data: ZooKeeper's own limit
// (jute.maxbuffer) is 1 MiB by default; a server may raise it.
const maxData = 16 << 20

// errAbandoned is the error of a write whose caller stopped waiting.
var errAbandoned = errors.New("abandoned: the copy was stopped")

// Put writes the znode key: its data from r and its ACL and sequential
// counter from e.Meta (MetaACL, MetaSeq). A znode that does not exist is
// created, with any missing parent (see ensureParents); one that exists
// is overwritten, its ACL set when it differs. The counter is then raised
// to the source's when it is behind. Each step is atomic and repeatable,
// so a Put cut off by a lost session is simply made again; only a Put
// that returns nil has written all of it.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, e store.Entry, _ store.PutOptions) (store.Entry, error) {
	p, err := s.path(key)
	if err != nil {
		return store.Entry{}, err
	}
	data, err := io.ReadAll(io.LimitReader(r, maxData+1))
	if err != nil {
		return store.Entry{}, err // the source's failure, as it said it
	}
	if len(data) > maxData {
		return store.Entry{}, fmt.Errorf("znode %s: data larger than %d bytes", p, maxData)
	}
	acl := s.acl
	if a, ok := e.Meta[MetaACL]; ok {
		if acl, err = parseACL(a); err != nil {
			return store.Entry{}, fmt.Errorf("znode %s: %w", p, err)
		}
	}
	if len(acl) == 0 {
		acl = zk.WorldACL(zk.PermAll)
	}
	var seq int64
	if v, ok := e.Meta[MetaSeq]; ok {
		seq, _ = strconv.ParseInt(v, 10, 64)
	}
	var landed store.Entry
	err = s.retry.Do(ctx, func(int) error {
		var err error
		landed, err = s.put(ctx, key, p, data, acl, seq)
		return classify(err)
	})
	if err != nil {
		return store.Entry{}, s.describeWrite(err, p)
	}
	return landed, nil
}

// put is one attempt of Put.
func (s *Store) put(ctx context.Context, key, p string, data []byte, acl []zk.ACL, seq int64) (store.Entry, error) {
	if key != RootKey && s.root != "/" {
		if err := s.ensureRoot(ctx); err != nil {
			return store.Entry{}, err
		}
	}
	w := &write{path: p, data: data, acl: acl, create: !s.existed.Load()}
	created := false
	for tries := 0; ; tries++ {
		if tries == 8 {
			return store.Entry{}, fmt.Errorf("znode %s: created and deleted by someone else meanwhile, again and again", p)
		}
		err := s.batch.do(ctx.Done(), w)
		switch {
		case err == nil:
			created = w.create
		case errors.Is(err, zk.ErrNodeExists) && w.create:
			w.create = false
			continue
		case errors.Is(err, zk.ErrNoNode) && !w.create:
			w.create = true
			continue
		case errors.Is(err, zk.ErrNoNode):
			if err := s.ensureParents(ctx, p); err != nil {
				return store.Entry{}, err
			}
			continue
		case errors.Is(err, zk.ErrNoAuth) && w.create:
			return store.Entry{}, fmt.Errorf("%w: the parent's ACL does not let %s create children", err, s.identity())
		case errors.Is(err, zk.ErrNoAuth):
			return store.Entry{}, fmt.Errorf("%w: the znode's ACL does not let %s write it", err, s.identity())
		case errors.Is(err, errAbandoned):
			return store.Entry{}, ctx.Err()
		default:
			return store.Entry{}, err
		}
		break
	}
	s.existed.Store(!created)
	st := w.stat
	if !created {
		if err := s.setACL(ctx, p, acl); err != nil {
			return store.Entry{}, err
		}
	}
	if seq > 0 {
		if st == nil || created {
			ok, cur, err := s.conn.Exists(p)
			if err != nil {
				return store.Entry{}, err
			}
			if !ok {
				return store.Entry{}, fmt.Errorf("znode %s: deleted by someone else right after it was written", p)
			}
			st = cur
		}
		if err := s.raise(ctx, p, st, seq); err != nil {
			return store.Entry{}, err
		}
	}
	return landed(key, data, acl, st, created, seq)
}

// landed is the entry of a Put that succeeded, Confirmed: the
// transaction that created or set the znode carried exactly data (the
// server answers a set with the stat it now holds, whose length must be
// data's) and either created it with acl or was followed by a set of acl
// (or a read that found it); the counter was raised to at least seq. Its
// Meta holds what Differs compares, as written: the ACL and the counter's
// lower bound (MetaSeq), not the children, which the write does not know.
func landed(key string, data []byte, acl []zk.ACL, st *zk.Stat, created bool, seq int64) (store.Entry, error) {
	size := int64(len(data))
	if st != nil && !created && int64(st.DataLength) != size {
		return store.Entry{Key: key, Size: int64(st.DataLength)}, nil // verify says SIZE_NOT_MATCH
	}
	if st != nil {
		seq = max(seq, nextSeq(st))
	}
	return store.Entry{Key: key, Size: size, CRC64: store.UpdateCRC64(0, data), HasCRC: true, Confirmed: true,
		Meta: map[string]string{MetaACL: formatACL(acl), MetaSeq: strconv.FormatInt(seq, 10)}}, nil
}

// setACL gives the existing znode p the ACL acl, unless it has it.
func (s *Store) setACL(ctx context.Context, p string, acl []zk.ACL) error {
	cur, _, err := s.conn.GetACL(p)
	if err != nil {
		return err
	}
	if formatACL(cur) == formatACL(acl) {
		return nil
	}
	_, err = s.conn.SetACL(p, acl, -1)
	if errors.Is(err, zk.ErrNoAuth) {
		return fmt.Errorf("%w: setting the ACL of znode %s needs ADMIN, which its ACL does not give %s", err, p, s.identity())
	}
	return err
}

// bumpName is the child created and deleted to raise a counter; a name
// ZooKeeper applications are unlikely to use.
const bumpName = "ferry-seq-bump-0f3c9a"

// bumpPairs is how many creates (each with its delete) one transaction
// holds when raising a counter.
const bumpPairs = 500

// raise brings the sequential counter of znode p (whose stat is st) up to
// seq, by creating and deleting a child in the same transaction as many
// times as it is behind: each create raises it by one.
func (s *Store) raise(ctx context.Context, p string, st *zk.Stat, seq int64) error {
	behind := seq - nextSeq(st)
	child := p + "/" + bumpName
	if p == "/" {
		child = "/" + bumpName
	}
	for behind > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(behind, bumpPairs)
		ops := make([]any, 0, 2*n)
		for range n {
			ops = append(ops, &zk.CreateRequest{Path: child, Acl: zk.WorldACL(zk.PermAll)},
				&zk.DeleteRequest{Path: child, Version: -1})
		}
		if _, err := s.conn.Multi(ops...); err != nil {
			if errors.Is(err, zk.ErrNoAuth) {
				return fmt.Errorf("%w: raising the sequential counter of znode %s to %d needs CREATE and DELETE, which its ACL does not give %s",
					err, p, seq, s.identity())
			}
			return fmt.Errorf("raising the sequential counter of znode %s to %d: %w", p, seq, err)
		}
		behind -= n
	}
	return nil
}

// ensureRoot creates a destination's root znode (and its parents) the
// first time it is needed; once it was there, Puts no longer look (one
// request each). A root deleted later makes a create fail with no parent,
// and Put then creates the parents (ensureParents).
func (s *Store) ensureRoot(ctx context.Context) error {
	if s.rootSeen.Load() {
		return nil
	}
	ok, _, err := s.conn.Exists(s.root)
	if err == nil && !ok {
		err = s.ensureParents(ctx, s.root+"/x")
	}
	if err == nil {
		s.rootSeen.Store(true)
	}
	return err
}

// ensureParents creates the missing ancestors of znode p, from the top,
// as placeholders: empty data, and the ACL of this store's identity
// (all permissions for the digest user, or for anyone without one). Each
// ancestor inside the copied subtree gets its own data and ACL when its
// entry is copied.
func (s *Store) ensureParents(ctx context.Context, p string) error {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	dir := ""
	for _, c := range parts[:len(parts)-1] {
		dir += "/" + c
		if s.chroot != "" && strings.HasPrefix(s.chroot+"/", dir+"/") {
			continue // the chroot exists (checked at open)
		}
		_, err := s.conn.Create(dir, nil, 0, s.acl)
		if err != nil && !errors.Is(err, zk.ErrNodeExists) {
			if errors.Is(err, zk.ErrNoAuth) {
				return fmt.Errorf("%w: creating the missing parent znode %s: its parent's ACL does not let %s create children", err, dir, s.identity())
			}
			return fmt.Errorf("creating the missing parent znode %s: %w", dir, err)
		}
	}
	return nil
}

// describeWrite is describe for a failed Put.
func (s *Store) describeWrite(err error, p string) error {
	if errors.Is(err, zk.ErrNoAuth) {
		return fmt.Errorf("znode %s: not authorized: %w: %w", p, err, store.ErrPermission)
	}
	if transient(err) {
		return fmt.Errorf("znode %s: %w (ensemble %s)", p, err, s.servers())
	}
	return fmt.Errorf("znode %s: %w", p, err)
}
