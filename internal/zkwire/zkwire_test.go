package zkwire_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
	"ferry/internal/zkwire"
)

func dial(t *testing.T, addr string) *zkwire.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := zkwire.Dial(ctx, addr, 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestReads: against a real ZooKeeper 3.8, the answers are go-zookeeper's
// (data, stat, ACL, children), empty data is not missing data, a missing
// znode is zk.ErrNoNode and a protected one zk.ErrNoAuth until the digest
// user is added; a multiRead answers each read alone, and thousands of
// requests in flight at once all get their own answer.
func TestReads(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	gc := zktest.Connect(t, srv.Addr, "u", "pw")
	open := zk.WorldACL(zk.PermAll)
	must := func(p string, data []byte, flags int32, acl []zk.ACL) {
		t.Helper()
		if _, err := gc.Create(p, data, flags, acl); err != nil {
			t.Fatalf("create %s: %v", p, err)
		}
	}
	must("/r", []byte("root"), 0, open)
	must("/r/empty", []byte{}, 0, open)
	must("/r/locked", []byte("secret"), 0, zk.DigestACL(zk.PermAll, "u", "pw"))
	must("/r/mixed", []byte("m"), 0, append(zk.DigestACL(zk.PermRead, "u", "pw"), zk.ACL{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.1"}))
	const n = 3000
	for i := range n {
		must(fmt.Sprintf("/r/n%04d", i), bytes.Repeat([]byte{byte(i)}, i%200), 0, open)
	}

	c := dial(t, srv.Addr)
	data, st, err := c.GetData("/r")
	_, gst, _ := gc.Get("/r")
	if err != nil || string(data) != "root" || st != *gst {
		t.Fatalf("getData /r: %q %+v %v; want %q %+v", data, st, err, "root", *gst)
	}
	if data, st, err := c.GetData("/r/empty"); err != nil || data == nil || len(data) != 0 || st.DataLength != 0 {
		t.Errorf("getData /r/empty: %v %+v %v; want empty, not nil", data, st, err)
	}
	if _, _, err := c.GetData("/r/none"); !errors.Is(err, zk.ErrNoNode) {
		t.Errorf("getData of a missing znode: %v, want ErrNoNode", err)
	}
	if _, _, err := c.GetData("/r/locked"); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("getData of a protected znode without its user: %v, want ErrNoAuth", err)
	}
	kids, err := c.Children("/r")
	gkids, _, _ := gc.Children("/r")
	slices.Sort(kids)
	slices.Sort(gkids)
	if err != nil || !slices.Equal(kids, gkids) || len(kids) != n+3 {
		t.Errorf("children of /r: %d names (%v), want go-zookeeper's %d", len(kids), err, len(gkids))
	}

	// Thousands in flight, each answered with its own znode's data.
	datas := make([][]byte, n)
	stats := make([]zk.Stat, n)
	calls := make([]*zkwire.Call, n)
	for i := range n {
		calls[i] = c.GoGetData(fmt.Sprintf("/r/n%04d", i), &datas[i], &stats[i])
	}
	for i, call := range calls {
		if err := call.Wait(); err != nil || !bytes.Equal(datas[i], bytes.Repeat([]byte{byte(i)}, i%200)) || int(stats[i].DataLength) != i%200 {
			t.Fatalf("pipelined getData n%04d: %d bytes, %v", i, len(datas[i]), err)
		}
	}

	// One multiRead: data, children, a missing and a protected znode.
	reads := []zkwire.Read{{Path: "/r/n0007"}, {Path: "/r", Children: true}, {Path: "/r/none"}, {Path: "/r/locked"}, {Path: "/r/empty"}}
	if err := c.MultiRead(reads); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(reads[0].Data, bytes.Repeat([]byte{7}, 7)) || reads[0].Err != nil || reads[0].Stat.DataLength != 7 {
		t.Errorf("multiRead getData: %+v", reads[0])
	}
	if len(reads[1].Names) != n+3 || reads[1].Err != nil {
		t.Errorf("multiRead getChildren: %d names, %v", len(reads[1].Names), reads[1].Err)
	}
	if !errors.Is(reads[2].Err, zk.ErrNoNode) || !errors.Is(reads[3].Err, zk.ErrNoAuth) {
		t.Errorf("multiRead of a missing and a protected znode: %v, %v; want ErrNoNode, ErrNoAuth", reads[2].Err, reads[3].Err)
	}
	if reads[4].Data == nil || reads[4].Err != nil {
		t.Errorf("multiRead of empty data: %v, %v; want empty, not nil", reads[4].Data, reads[4].Err)
	}
	big := make([]zkwire.Read, n)
	for i := range big {
		big[i].Path = fmt.Sprintf("/r/n%04d", i)
	}
	if err := c.MultiRead(big); err != nil {
		t.Fatal(err)
	}
	for i, r := range big {
		if r.Err != nil || !bytes.Equal(r.Data, bytes.Repeat([]byte{byte(i)}, i%200)) {
			t.Fatalf("multiRead of %d: n%04d %d bytes, %v", n, i, len(r.Data), r.Err)
		}
	}

	// The digest user: protected znodes read, ACLs as go-zookeeper reads them.
	if err := c.AddAuth("digest", []byte("u:pw")); err != nil {
		t.Fatal(err)
	}
	if data, _, err := c.GetData("/r/locked"); err != nil || string(data) != "secret" {
		t.Errorf("getData /r/locked as its user: %q, %v", data, err)
	}
	acl, st, err := c.GetACL("/r/mixed")
	gacl, gst, _ := gc.GetACL("/r/mixed")
	if err != nil || !slices.Equal(acl, gacl) || st != *gst {
		t.Errorf("getACL /r/mixed: %v %+v %v; want %v %+v", acl, st, err, gacl, *gst)
	}
}

// TestSession: the session outlives several of its timeouts while idle
// (pings), a refused credential (a scheme the server does not know: it
// takes any digest user) ends it with zk.ErrAuthFailed, and a
// server gone fails what is in flight and what follows with
// zk.ErrConnectionClosed.
func TestSession(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{TickMs: 200})
	gc := zktest.Connect(t, srv.Addr, "", "")
	if _, err := gc.Create("/s", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := zkwire.Dial(ctx, srv.Addr, 1200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(4 * time.Second)
	if _, _, err := c.GetData("/s"); err != nil {
		t.Fatalf("after 4 s idle: %v", err)
	}

	bad, err := zkwire.Dial(ctx, srv.Addr, 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.AddAuth("nosuchscheme", []byte("nobody")); !errors.Is(err, zk.ErrAuthFailed) {
		t.Errorf("a credential of an unknown scheme: %v, want ErrAuthFailed", err)
	}
	if _, _, err := bad.GetData("/s"); err == nil {
		t.Errorf("a read after a refused credential succeeded")
	}

	var data []byte
	var st zk.Stat
	srv.Pause()
	call := c.GoGetData("/s", &data, &st)
	srv.Stop()
	if err := call.Wait(); !errors.Is(err, zk.ErrConnectionClosed) {
		t.Errorf("a read in flight when the server died: %v, want ErrConnectionClosed", err)
	}
	if _, _, err := c.GetData("/s"); !errors.Is(err, zk.ErrConnectionClosed) {
		t.Errorf("a read after the server died: %v, want ErrConnectionClosed", err)
	}
}

// TestGroup: the requests sent inside Group go out in one write (Flushes
// counts one), and each gets its own answer.
func TestGroup(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	gc := zktest.Connect(t, srv.Addr, "", "")
	const n = 200
	for i := range n {
		acl := zk.WorldACL(int32(zk.PermRead | (i%16)<<1))
		if _, err := gc.Create(fmt.Sprintf("/g%03d", i), nil, 0, acl); err != nil {
			t.Fatal(err)
		}
	}
	c := dial(t, srv.Addr)
	if _, err := c.Children("/"); err != nil { // the session is up, its first writes done
		t.Fatal(err)
	}
	before := c.Flushes()
	acls := make([][]zk.ACL, n)
	sts := make([]zk.Stat, n)
	calls := make([]*zkwire.Call, n)
	c.Group(func() {
		for i := range n {
			calls[i] = c.GoGetACL(fmt.Sprintf("/g%03d", i), &acls[i], &sts[i])
			time.Sleep(50 * time.Microsecond) // time for a flush, were one asked for
		}
	})
	for i, call := range calls {
		if err := call.Wait(); err != nil {
			t.Fatal(err)
		}
		if want := zk.WorldACL(int32(zk.PermRead | (i%16)<<1)); !slices.Equal(acls[i], want) {
			t.Fatalf("/g%03d: ACL %v, want %v", i, acls[i], want)
		}
	}
	if d := c.Flushes() - before; d != 1 {
		t.Fatalf("%d requests sent in a Group took %d writes, want 1", n, d)
	}
}
