package zk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zkwire"
	"ferry/store"
)

// connLog takes the client library's log lines: it keeps the last failure
// to connect (for the error of an unreachable ensemble) and drops the
// rest, which say nothing a ferry user needs and would go to stderr.
type connLog struct {
	mu   sync.Mutex
	last string
}

func (l *connLog) Printf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if strings.HasPrefix(msg, "failed to connect") || strings.HasPrefix(msg, "authentication failed") {
		l.mu.Lock()
		l.last = msg
		l.mu.Unlock()
	}
}

func (l *connLog) lastFailure() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// connect opens the main session and waits for it, then adds the digest
// identity. The client reconnects by itself (to another server, or with a
// new session once the old one expired) and sends the identity again.
func (s *Store) connect(ctx context.Context, servers []string) error {
	s.log = &connLog{}
	conn, err := s.dial(ctx, servers, s.log)
	if err != nil {
		return err
	}
	s.conn = conn
	return nil
}

// dial opens a session to servers and waits for it at most
// ConnectTimeout, then adds the digest identity.
func (s *Store) dial(ctx context.Context, servers []string, log *connLog) (*zk.Conn, error) {
	up := make(chan struct{}, 1)
	cb := func(ev zk.Event) {
		if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
			select {
			case up <- struct{}{}:
			default:
			}
		}
	}
	conn, _, err := zk.Connect(servers, s.cfg.SessionTimeout, zk.WithLogger(log), zk.WithLogInfo(false),
		zk.WithEventCallback(cb), zk.WithMaxBufferSize(8<<20), zk.WithMaxConnBufferSize(8<<20))
	if err != nil {
		return nil, fmt.Errorf("%sDomain: %w", s.cfg.Role, err)
	}
	t := time.NewTimer(s.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case <-up:
	case <-t.C:
		conn.Close()
		why := log.lastFailure()
		if why == "" {
			why = "no session was established"
		}
		return nil, fmt.Errorf("%sDomain: no server of %s answered within %s (%s)", s.cfg.Role,
			strings.Join(servers, ","), s.cfg.ConnectTimeout, why)
	case <-ctx.Done():
		conn.Close()
		return nil, ctx.Err()
	}
	if s.cfg.User != "" {
		if err := conn.AddAuth("digest", []byte(s.cfg.User+":"+s.cfg.Password)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("%sAccessKey: adding digest user %q to the session failed: %v", s.cfg.Role, s.cfg.User, err)
		}
	}
	return conn, nil
}

// readSessions is how many sessions besides the main one a store opens
// for its reads, with its own read client (internal/zkwire): go-zookeeper
// sends a connection's requests one write at a time and decodes each
// answer by reflection; zkwire pipelines them, and batches data reads
// (multiRead: some 300,000 znodes a second). ACLs cannot be batched, and
// a ZooKeeper 3.8 server answers one connection's getACLs at some 14,000
// a second however many are in flight; 4 connections carry 31,000, 8
// carry 37,000 (measured here, 2 cores): six it is.
const readSessions = 6

// openReaders opens the read sessions, all to the server the main
// session is connected to: a read there, on any session, sees every write
// the main session has been answered for (the server applied it before
// answering), so the store reads its own writes whatever session reads.
// A read session that cannot connect in time is left out, and one that
// loses its connection leaves its reads to the main session (see readOn),
// until it is dialed again (redial).
func (s *Store) openReaders(ctx context.Context) {
	server := s.conn.Server()
	if server == "" {
		return
	}
	s.readers = make([]atomic.Pointer[zkwire.Conn], readSessions)
	var wg sync.WaitGroup
	for i := range s.readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c := s.dialReader(ctx, server); c != nil {
				s.readers[i].Store(c)
			}
		}()
	}
	wg.Wait()
}

// dialReader opens one read session to server, or returns nil.
func (s *Store) dialReader(ctx context.Context, server string) *zkwire.Conn {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ConnectTimeout)
	defer cancel()
	c, err := zkwire.Dial(ctx, server, s.cfg.SessionTimeout)
	if err != nil {
		return nil
	}
	if s.cfg.User != "" {
		if err := c.AddAuth("digest", []byte(s.cfg.User+":"+s.cfg.Password)); err != nil {
			c.Close()
			return nil
		}
	}
	return c
}

// reader returns the read session the next read goes to, in turn, or nil
// when none is usable. A read session that lost its connection, or is on
// another server than the main session now is (it moved), is dialed again
// in the background.
func (s *Store) reader() *zkwire.Conn {
	n := uint32(len(s.readers))
	for range n {
		slot := &s.readers[s.turn.Add(1)%n]
		c := slot.Load()
		if c != nil && c.Err() == nil && c.Server() == s.conn.Server() {
			return c
		}
		s.redial(slot, c)
	}
	return nil
}

// redialEvery bounds how often a store dials a read session again.
const redialEvery = time.Second

// redial replaces the read session old in slot with a new one to the main
// session's server, in the background, at most once per redialEvery.
func (s *Store) redial(slot *atomic.Pointer[zkwire.Conn], old *zkwire.Conn) {
	now := time.Now().UnixNano()
	last := s.redialed.Load()
	if now-last < int64(redialEvery) || !s.redialed.CompareAndSwap(last, now) {
		return
	}
	go func() {
		server := s.conn.Server()
		if server == "" || s.closed.Load() {
			return
		}
		c := s.dialReader(context.Background(), server)
		if c == nil {
			return
		}
		if !slot.CompareAndSwap(old, c) || s.closed.Load() {
			c.Close()
			return
		}
		if old != nil {
			old.Close()
		}
	}()
}

// serverList is the configured servers, for messages.
func (s *Store) serverList() []string {
	servers, _, _ := ParseConnect(s.cfg.Connect)
	return servers
}

// transient reports whether err is the loss of a connection or session:
// the operation may succeed if tried again (the client reconnects).
func transient(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrSessionExpired) ||
		errors.Is(err, zk.ErrNoServer) || errors.Is(err, zk.ErrSessionMoved)
}

// classify marks err for store.RetryPolicy.Do: lost sessions and
// connections are transient, the rest permanent.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if transient(err) {
		return store.Transient(err)
	}
	return store.Permanent(err)
}

// do runs fn on the main session, again while it fails with a lost
// connection or session (under the store's retry policy), and not past
// ctx: when ctx ends the call is left to finish in the background.
func (s *Store) do(ctx context.Context, fn func() error) error {
	return s.retry.Do(ctx, func(int) error {
		return s.call(ctx, s.conn, func(*zk.Conn) error { return fn() })
	})
}

// reading is do for a read on the main session; the reads below go to a
// read session first (read).
func (s *Store) reading(ctx context.Context, fn func(c *zk.Conn) error) error {
	return s.retry.Do(ctx, func(int) error { return s.call(ctx, s.conn, fn) })
}

// readOn sends a read on the next read session (send) and waits for it;
// when there is none, or it has lost its connection, the read is made on
// the main session (main), as do makes it.
func (s *Store) readOn(ctx context.Context, send func(c *zkwire.Conn) *zkwire.Call, main func(c *zk.Conn) error) error {
	if c := s.reader(); c != nil {
		err := wait(ctx, send(c))
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case !transient(err) && !errors.Is(err, zk.ErrClosing):
			return &store.AttemptsError{Err: err, Attempts: 1} // as do returns it
		}
	}
	return s.reading(ctx, main)
}

// wait waits for call's answer, not past ctx.
func wait(ctx context.Context, call *zkwire.Call) error {
	select {
	case <-call.Done():
		return call.Err()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// call runs fn on c, classified for store.RetryPolicy.Do, and not past
// ctx.
func (s *Store) call(ctx context.Context, c *zk.Conn, fn func(c *zk.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- classify(fn(c)) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// get reads a znode's data and stat.
func (s *Store) get(ctx context.Context, p string) (data []byte, st *zk.Stat, err error) {
	var ws zk.Stat
	err = s.readOn(ctx, func(c *zkwire.Conn) *zkwire.Call {
		st = &ws
		return c.GoGetData(p, &data, &ws)
	}, func(c *zk.Conn) error {
		var err error
		data, st, err = c.Get(p)
		return err
	})
	return data, st, err
}

// getBatchedWithACL reads a znode's data and stat in a batch, and its ACL
// with the batch (readbatch.go); the ACL's error is apart.
func (s *Store) getBatchedWithACL(ctx context.Context, p string) (data []byte, st *zk.Stat, acl []zk.ACL, aclErr, err error) {
	data, st, acl, aclErr, err = s.rbatch.getWithACL(ctx, p)
	if err != nil && ctx.Err() == nil && !transient(err) {
		err = &store.AttemptsError{Err: err, Attempts: 1} // as do returns it
	}
	if aclErr != nil && ctx.Err() == nil && !transient(aclErr) {
		aclErr = &store.AttemptsError{Err: aclErr, Attempts: 1}
	}
	return data, st, acl, aclErr, err
}

// getMain reads a znode's data and stat on the main session.
func (s *Store) getMain(ctx context.Context, p string) (data []byte, st *zk.Stat, err error) {
	err = s.reading(ctx, func(c *zk.Conn) error {
		var err error
		data, st, err = c.Get(p)
		return err
	})
	return data, st, err
}

// getACL reads a znode's ACL and stat.
func (s *Store) getACL(ctx context.Context, p string) (acl []zk.ACL, st *zk.Stat, err error) {
	var ws zk.Stat
	err = s.readOn(ctx, func(c *zkwire.Conn) *zkwire.Call {
		st = &ws
		return c.GoGetACL(p, &acl, &ws)
	}, func(c *zk.Conn) error {
		var err error
		acl, st, err = c.GetACL(p)
		return err
	})
	return acl, st, err
}

// exists reads a znode's stat, if it exists.
func (s *Store) exists(ctx context.Context, p string) (ok bool, st *zk.Stat, err error) {
	err = s.reading(ctx, func(c *zk.Conn) error {
		var err error
		ok, st, err = c.Exists(p)
		return err
	})
	return ok, st, err
}

// children lists a znode's children (in no order).
func (s *Store) children(ctx context.Context, p string) (names []string, err error) {
	err = s.readOn(ctx, func(c *zkwire.Conn) *zkwire.Call {
		return c.GoChildren(p, &names)
	}, func(c *zk.Conn) error {
		var err error
		names, _, err = c.Children(p)
		return err
	})
	return names, err
}

// describe turns an error of the ensemble into one that names the znode
// and says what to do, wrapping store's sentinels where one applies.
func (s *Store) describe(err error, p string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zk.ErrNoNode):
		return fmt.Errorf("znode %s: %w", p, store.ErrNotExist)
	case errors.Is(err, zk.ErrNoAuth):
		return fmt.Errorf("znode %s: not authorized as %s (its ACL does not allow it): %w", p, s.identity(), store.ErrPermission)
	case transient(err):
		return fmt.Errorf("znode %s: %w (ensemble %s)", p, err, s.servers())
	}
	return fmt.Errorf("znode %s: %w", p, err)
}
