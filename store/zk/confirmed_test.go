package zk_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
	"ferry/store"
	zkstore "ferry/store/zk"
)

// TestPutConfirmed: the entry a Put returns is Confirmed and is the
// destination's state as a look would find it: the data's size and CRC64,
// the ACL as set (created with it, or set over another), and a counter at
// least the source's; Differs finds nothing between it and the source.
// The worker skips its after-import look on that proof.
func TestPutConfirmed(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	dsrv := zktest.Start(t, zktest.Options{})
	c := zktest.Connect(t, srv.Addr, "ferry", "pw")
	mustCreate(t, c, "/src", nil, 0, open)
	mustCreate(t, c, "/src/digest", []byte("secret"), 0, zk.DigestACL(zk.PermAll, "ferry", "pw"))
	mustCreate(t, c, "/src/q", []byte("queue"), 0, open)
	for range 7 {
		mustCreate(t, c, "/src/q/item-", nil, zk.FlagSequence, open)
	}
	dc := zktest.Connect(t, dsrv.Addr, "ferry", "pw")
	mustCreate(t, dc, "/dst", nil, 0, open)
	// Already there, with other data and ACL: the Put sets both.
	mustCreate(t, dc, "/dst/digest", []byte("old data"), 0, zk.WorldACL(zk.PermRead|zk.PermWrite|zk.PermAdmin))

	src := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/src", User: "ferry", Password: "pw"})
	dst := newStore(t, zkstore.Config{Connect: dsrv.Addr, Prefix: "/dst", User: "ferry", Password: "pw", Role: "dest"})
	ctx := context.Background()
	for _, key := range []string{"digest", "q", "q/item-0000000003"} {
		r, before, err := src.OpenStat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := dst.Put(ctx, key, r, before, store.PutOptions{})
		if err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		if !got.Confirmed || !got.HasCRC || got.CRC64 != before.CRC64 || got.Size != before.Size {
			t.Errorf("%s: Put returned %+v; want Confirmed with the source's size %d and CRC64 %x", key, got, before.Size, before.CRC64)
		}
		if why := zkstore.Differs(before, got); why != "" || got.Meta[zkstore.MetaACL] != before.Meta[zkstore.MetaACL] {
			t.Errorf("%s: Put's entry differs from the source: %q (ACL %q, want %q)", key, why, got.Meta[zkstore.MetaACL], before.Meta[zkstore.MetaACL])
		}
		look, err := dst.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if look.Meta[zkstore.MetaACL] != got.Meta[zkstore.MetaACL] || look.CRC64 != got.CRC64 || look.Size != got.Size {
			t.Errorf("%s: Put said ACL %q size %d crc %x; the destination holds %q %d %x", key,
				got.Meta[zkstore.MetaACL], got.Size, got.CRC64, look.Meta[zkstore.MetaACL], look.Size, look.CRC64)
		}
		if n, _ := strconv.Atoi(got.Meta[zkstore.MetaSeq]); n < 7 && key == "q" {
			t.Errorf("q: Put says counter %d, want at least the source's 7", n)
		}
	}
	data, _, err := dc.Get("/dst/digest")
	if err != nil || !bytes.Equal(data, []byte("secret")) {
		t.Errorf("/dst/digest holds %q (%v), want the source's data", data, err)
	}
}

// TestPutRoot: Puts do not look for the destination's root once it was
// there (one multi-op request per Put on the main session, counted by the
// server), and a root deleted behind the store's back is made again by
// the next Put.
func TestPutRoot(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	dst := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/a/b", Role: "dest"})
	ctx := context.Background()
	put := func(key string) {
		t.Helper()
		if _, err := dst.Put(ctx, key, bytes.NewReader([]byte(key)), store.Entry{Key: key}, store.PutOptions{}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	put("first")
	main := dst.MainSession().SessionID()
	before := received(t, srv.Addr)[main]
	const n = 40
	for i := range n {
		put("k" + strconv.Itoa(i))
	}
	if d := received(t, srv.Addr)[main] - before; d > n+3 {
		t.Errorf("%d Puts sent %d requests on the main session, want one each", n, d)
	}
	c := zktest.Connect(t, srv.Addr, "", "")
	if err := deleteAll(c, "/a"); err != nil {
		t.Fatal(err)
	}
	put("x/y")
	if data, _, err := c.Get("/a/b/x/y"); err != nil || string(data) != "x/y" {
		t.Fatalf("after the root was deleted: /a/b/x/y %q, %v", data, err)
	}
}

func deleteAll(c *zk.Conn, p string) error {
	kids, _, err := c.Children(p)
	if err != nil {
		return err
	}
	for _, k := range kids {
		if err := deleteAll(c, p+"/"+k); err != nil {
			return err
		}
	}
	return c.Delete(p, -1)
}
