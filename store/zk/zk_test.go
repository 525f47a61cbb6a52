package zk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

var open = zk.WorldACL(zk.PermAll)

func mustCreate(t *testing.T, c *zk.Conn, p string, data []byte, flags int32, acl []zk.ACL) string {
	t.Helper()
	got, err := c.Create(p, data, flags, acl)
	if err != nil {
		t.Fatalf("create %s: %v", p, err)
	}
	return got
}

func newStore(t *testing.T, cfg zkstore.Config) *zkstore.Store {
	t.Helper()
	s, err := zkstore.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func list(t *testing.T, s store.Store, after string) []store.Entry {
	t.Helper()
	var out []store.Entry
	if err := s.List(context.Background(), "", after, func(e store.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func keys(es []store.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
}

// TestListOrder: the listing is in byte order of the keys (so a parent
// comes before its children, though not always right before them),
// resumes after any key, reports ephemeral znodes as skipped, a znode the
// session may not read as unreadable, and empty data apart from a missing
// znode.
func TestListOrder(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	c := zktest.Connect(t, srv.Addr, "", "")
	mustCreate(t, c, "/src", []byte("root"), 0, open)
	for _, p := range []string{"/src/a", "/src/a-b", "/src/a/c", "/src/a/c/d", "/src/a-b/x", "/src/+", "/src/b", "/src/a/.e"} {
		data := []byte(p)
		if p == "/src/b" {
			data = nil // empty, not missing
		}
		mustCreate(t, c, p, data, 0, open)
	}
	mustCreate(t, c, "/src/a/eph", nil, zk.FlagEphemeral, open)
	mustCreate(t, c, "/src/secret", []byte("s"), 0, zk.DigestACL(zk.PermAll, "ferry", "pw"))

	s := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/src"})
	got := list(t, s, "")
	want := []string{"+", ".", "a", "a-b", "a-b/x", "a/.e", "a/c", "a/c/d", "a/eph", "b", "secret"}
	if !slices.Equal(keys(got), want) {
		t.Fatalf("keys %q\nwant %q", keys(got), want)
	}
	if !slices.IsSorted(keys(got)) {
		t.Fatal("not in byte order")
	}
	byKey := map[string]store.Entry{}
	for _, e := range got {
		byKey[e.Key] = e
	}
	if e := byKey["a/eph"]; e.Kind != store.Special || !strings.Contains(e.Detail, "ephemeral") {
		t.Errorf("ephemeral: %+v", e)
	}
	if e := byKey["secret"]; e.Kind != store.Unreadable || !strings.Contains(e.Detail, "not authorized") {
		t.Errorf("unreadable: %+v", e)
	}
	if e := byKey["b"]; e.Kind != store.File || e.Size != 0 || !e.HasCRC {
		t.Errorf("empty znode: %+v", e)
	}
	if e := byKey["."]; e.Size != 4 || e.Meta[zkstore.MetaACL] != "31:world:anyone" {
		t.Errorf("root: %+v", e)
	}
	for i := range want {
		if rest := keys(list(t, s, want[i])); !slices.Equal(rest, want[i+1:]) {
			t.Errorf("after %q: %q, want %q", want[i], rest, want[i+1:])
		}
	}
	if _, err := s.Stat(context.Background(), "nope"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("missing znode: %v", err)
	}
	// With the digest user, the protected znode reads.
	s2 := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/src", User: "ferry", Password: "pw"})
	if e, err := s2.Stat(context.Background(), "secret"); err != nil || e.Kind != store.File || e.Size != 1 {
		t.Errorf("digest user: %+v %v", e, err)
	}
}

// copyTree copies src to dst as a worker would (OpenStat, then Put),
// threads at a time, skipping what is not a file.
func copyTree(t *testing.T, src, dst *zkstore.Store, threads int) (copied, skipped int) {
	t.Helper()
	ctx := context.Background()
	ch := make(chan store.Entry)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range ch {
				r, before, err := src.OpenStat(ctx, e.Key)
				if err == nil {
					_, err = dst.Put(ctx, e.Key, r, before, store.PutOptions{})
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					copied++
				}
				mu.Unlock()
			}
		}()
	}
	err := src.List(ctx, "", "", func(e store.Entry) error {
		if e.Kind != store.File {
			skipped++
			return nil
		}
		ch <- e
		return nil
	})
	close(ch)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Fatalf("%d puts failed, first: %v", len(errs), errs[0])
	}
	return copied, skipped
}

// TestCopyKeepsACLAndCounters: data (empty data too), ACLs of every scheme
// and sequential counters arrive; ephemeral znodes do not; a new
// sequential child at the destination is numbered after every copied one.
func TestCopyKeepsACLAndCounters(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	dsrv := zktest.Start(t, zktest.Options{})
	c := zktest.Connect(t, srv.Addr, "ferry", "pw")
	mustCreate(t, c, "/src", nil, 0, open)
	mustCreate(t, c, "/src/world", []byte("w"), 0, zk.WorldACL(zk.PermRead|zk.PermWrite|zk.PermCreate|zk.PermDelete|zk.PermAdmin))
	mustCreate(t, c, "/src/digest", []byte("d"), 0, zk.DigestACL(zk.PermAll, "ferry", "pw"))
	mustCreate(t, c, "/src/auth", []byte("a"), 0, zk.AuthACL(zk.PermAll))
	mustCreate(t, c, "/src/ip", []byte("i"), 0, []zk.ACL{{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.1"}, {Perms: zk.PermRead, Scheme: "world", ID: "anyone"}})
	mustCreate(t, c, "/src/mixed", nil, 0, append(zk.DigestACL(zk.PermAll, "ferry", "pw"), zk.ACL{Perms: zk.PermRead, Scheme: "digest", ID: "other:OTEz8sN4rtZ2aoVYWyxOyBPTnOw="}))
	mustCreate(t, c, "/src/q", nil, 0, open)
	var maxSeq int64
	for i := range 30 {
		p := mustCreate(t, c, "/src/q/item-", []byte(strconv.Itoa(i)), zk.FlagSequence, open)
		if i%3 == 0 {
			if err := c.Delete(p, -1); err != nil {
				t.Fatal(err)
			}
			continue
		}
		n, _ := strconv.ParseInt(p[len(p)-10:], 10, 64)
		maxSeq = max(maxSeq, n)
	}
	mustCreate(t, c, "/src/q/eph-", nil, zk.FlagEphemeral|zk.FlagSequence, open)

	src := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/src", User: "ferry", Password: "pw"})
	dst := newStore(t, zkstore.Config{Connect: dsrv.Addr, Prefix: "/copy/here", User: "ferry", Password: "pw", Role: "dest"})
	copied, skipped := copyTree(t, src, dst, 8)
	if skipped != 1 {
		t.Errorf("skipped %d, want the ephemeral", skipped)
	}
	dc := zktest.Connect(t, dsrv.Addr, "ferry", "pw")
	want, got := zktest.Snapshot(t, c, "/src"), zktest.Snapshot(t, dc, "/copy/here")
	if d := zktest.Diff(want, got); d != "" {
		t.Fatalf("destination differs (%d copied):\n%s", copied, d)
	}
	p := mustCreate(t, dc, "/copy/here/q/item-", nil, zk.FlagSequence, open)
	if n, _ := strconv.ParseInt(p[len(p)-10:], 10, 64); n <= maxSeq {
		t.Errorf("new sequential child %s, but %d was copied", p, maxSeq)
	}
	if err := dc.Delete(p, -1); err != nil {
		t.Fatal(err)
	}
	// Copying again over the copy changes nothing and still succeeds.
	copyTree(t, src, dst, 8)
	if d := zktest.Diff(want, zktest.Snapshot(t, dc, "/copy/here")); d != "" {
		t.Fatalf("second copy:\n%s", d)
	}
}

// TestNextSeq: the counter formula holds on the ZooKeeper we run, through
// deletes, an ephemeral child gone with its session, and a restart.
func TestNextSeq(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	c := zktest.Connect(t, srv.Addr, "", "")
	mustCreate(t, c, "/p", nil, 0, open)
	for range 3 {
		mustCreate(t, c, "/p/a", nil, 0, open)
		if err := c.Delete("/p/a", -1); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate(t, c, "/p/k", nil, 0, open)
	c2, err := zktest.Dial(srv.Addr, "", "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, c2, "/p/e", nil, zk.FlagEphemeral, open)
	c2.Close()
	srv.Restart()
	c = zktest.Connect(t, srv.Addr, "", "")
	s := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/p"})
	e, err := s.Stat(context.Background(), ".")
	if err != nil {
		t.Fatal(err)
	}
	p := mustCreate(t, c, "/p/s-", nil, zk.FlagSequence, open)
	if want := fmt.Sprintf("%010s", e.Meta[zkstore.MetaSeq]); !strings.HasSuffix(p, want) {
		t.Errorf("MetaSeq %s, but the next sequential child is %s", e.Meta[zkstore.MetaSeq], p)
	}
}
