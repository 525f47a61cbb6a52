package zk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"

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

// connect opens the session and waits for it, then adds the digest
// identity. The client reconnects by itself (to another server, or with a
// new session once the old one expired) and sends the identity again.
func (s *Store) connect(ctx context.Context, servers []string) error {
	s.log = &connLog{}
	up := make(chan struct{}, 1)
	cb := func(ev zk.Event) {
		if ev.Type == zk.EventSession && ev.State == zk.StateHasSession {
			select {
			case up <- struct{}{}:
			default:
			}
		}
	}
	conn, _, err := zk.Connect(servers, s.cfg.SessionTimeout, zk.WithLogger(s.log), zk.WithLogInfo(false),
		zk.WithEventCallback(cb), zk.WithMaxBufferSize(8<<20), zk.WithMaxConnBufferSize(8<<20))
	if err != nil {
		return fmt.Errorf("%sDomain: %w", s.cfg.Role, err)
	}
	s.conn = conn
	t := time.NewTimer(s.cfg.ConnectTimeout)
	defer t.Stop()
	select {
	case <-up:
	case <-t.C:
		conn.Close()
		why := s.log.lastFailure()
		if why == "" {
			why = "no session was established"
		}
		return fmt.Errorf("%sDomain: no server of %s answered within %s (%s)", s.cfg.Role,
			strings.Join(servers, ","), s.cfg.ConnectTimeout, why)
	case <-ctx.Done():
		conn.Close()
		return ctx.Err()
	}
	if s.cfg.User != "" {
		if err := conn.AddAuth("digest", []byte(s.cfg.User+":"+s.cfg.Password)); err != nil {
			conn.Close()
			return fmt.Errorf("%sAccessKey: adding digest user %q to the session failed: %v", s.cfg.Role, s.cfg.User, err)
		}
	}
	return nil
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

// do runs fn, again while it fails with a lost connection or session
// (under the store's retry policy), and not past ctx: when ctx ends the
// call is left to finish in the background.
func (s *Store) do(ctx context.Context, fn func() error) error {
	return s.retry.Do(ctx, func(int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		done := make(chan error, 1)
		go func() { done <- classify(fn()) }()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	})
}

// get reads a znode's data and stat.
func (s *Store) get(ctx context.Context, p string) (data []byte, st *zk.Stat, err error) {
	err = s.do(ctx, func() error {
		var err error
		data, st, err = s.conn.Get(p)
		return err
	})
	return data, st, err
}

// getACL reads a znode's ACL and stat.
func (s *Store) getACL(ctx context.Context, p string) (acl []zk.ACL, st *zk.Stat, err error) {
	err = s.do(ctx, func() error {
		var err error
		acl, st, err = s.conn.GetACL(p)
		return err
	})
	return acl, st, err
}

// exists reads a znode's stat, if it exists.
func (s *Store) exists(ctx context.Context, p string) (ok bool, st *zk.Stat, err error) {
	err = s.do(ctx, func() error {
		var err error
		ok, st, err = s.conn.Exists(p)
		return err
	})
	return ok, st, err
}

// children lists a znode's children (in no order).
func (s *Store) children(ctx context.Context, p string) (names []string, err error) {
	err = s.do(ctx, func() error {
		var err error
		names, _, err = s.conn.Children(p)
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
