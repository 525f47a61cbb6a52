package zk_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
	"ferry/store"
	zkstore "ferry/store/zk"
)

// TestOpenErrors: an unreachable ensemble, a missing chroot, a missing
// srcPrefix and a prefix the digest user may not read each stop the open
// with one error that says which and where.
func TestOpenErrors(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	c := zktest.Connect(t, srv.Addr, "", "")
	mustCreate(t, c, "/locked", nil, 0, zk.DigestACL(zk.PermAll, "owner", "pw"))
	dead := "127.0.0.1:" + itoa(zktest.FreePort(t))
	for _, tc := range []struct {
		name string
		cfg  zkstore.Config
		want []string
		is   error
	}{
		{"unreachable", zkstore.Config{Connect: dead, Prefix: "/", ConnectTimeout: 2 * time.Second},
			[]string{"srcDomain: no server of " + dead + " answered within 2s", "connection refused"}, nil},
		{"chroot", zkstore.Config{Connect: srv.Addr + "/nochroot", Prefix: "/a"},
			[]string{"srcDomain: chroot /nochroot does not exist on " + srv.Addr}, store.ErrNotExist},
		{"prefix", zkstore.Config{Connect: srv.Addr, Prefix: "/missing"},
			[]string{"srcPrefix: znode /missing does not exist on " + srv.Addr}, store.ErrNotExist},
		{"auth", zkstore.Config{Connect: srv.Addr, Prefix: "/locked", User: "ferry", Password: "wrong"},
			[]string{`srcPrefix: not authorized to read znode /locked as digest user "ferry": check srcAccessKey and srcSecretKey`}, store.ErrPermission},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := zkstore.New(context.Background(), tc.cfg)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
	// A destination's prefix need not exist: the first Put makes it.
	dst := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/new/dest", Role: "dest"})
	if got := list(t, dst, ""); len(got) != 0 {
		t.Errorf("missing destination lists %v", got)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestSessionExpiry: the destination server stops answering for longer
// than the session lasts while Puts are in flight; the session expires,
// the client makes a new one, and every Put completes (each step is
// atomic and tried again), leaving the tree whole.
func TestSessionExpiry(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	dsrv := zktest.Start(t, zktest.Options{TickMs: 100}) // sessions of at most 2 s
	c := zktest.Connect(t, srv.Addr, "", "")
	mustCreate(t, c, "/src", nil, 0, open)
	for i := range 300 {
		mustCreate(t, c, "/src/n"+itoa(1000+i), []byte("data "+itoa(i+1)), 0, open)
	}
	src := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/src"})
	dst := newStore(t, zkstore.Config{Connect: dsrv.Addr, Prefix: "/dst", Role: "dest", SessionTimeout: time.Second,
		Retry: store.RetryPolicy{Attempts: 30, Base: 100 * time.Millisecond, Max: time.Second}})
	var once sync.Once
	ctx, retries := store.WithRetryCounter(context.Background())
	var n int
	err := src.List(ctx, "", "", func(e store.Entry) error {
		n++
		if n == 100 {
			once.Do(func() {
				dsrv.Pause()
				go func() { time.Sleep(4 * time.Second); dsrv.Resume() }()
			})
		}
		r, before, err := src.OpenStat(ctx, e.Key)
		if err != nil {
			return err
		}
		_, err = dst.Put(ctx, e.Key, r, before, store.PutOptions{})
		return err
	})
	if err != nil {
		t.Fatalf("a Put did not survive the expired session: %v", err)
	}
	if retries.Retries() == 0 {
		t.Error("no operation was tried again: the server's pause went unnoticed")
	}
	dc := zktest.Connect(t, dsrv.Addr, "", "")
	if d := zktest.Diff(zktest.Snapshot(t, c, "/src"), zktest.Snapshot(t, dc, "/dst")); d != "" {
		t.Fatalf("destination differs:\n%s", d)
	}
}
