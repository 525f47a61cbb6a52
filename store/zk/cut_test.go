package zk_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
	"ferry/store"
	zkstore "ferry/store/zk"
)

// TestListReadSessionCut: the read sessions' TCP connections are cut
// (through a proxy between the store and a real server) in the middle of
// a listing, each in the middle of an answer, while batched reads
// (multiRead of data and children, pipelined getACLs) are in flight on
// them. The znodes of the broken batches are read again one by one, and
// the listing is the same, entry for entry (data size and CRC64, ACL,
// kind), as one made with no cut.
func TestListReadSessionCut(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	c := zktest.Connect(t, srv.Addr, "", "")
	readOnly := zk.WorldACL(zk.PermRead)
	mixed := append(zk.WorldACL(zk.PermRead|zk.PermWrite), zk.ACL{Perms: zk.PermAll, Scheme: "ip", ID: "127.0.0.1"})
	mustCreate(t, c, "/c", []byte("root"), 0, open)
	n := 1
	for d := range 8 {
		dir := fmt.Sprintf("/c/d%d", d)
		mustCreate(t, c, dir, nil, 0, open)
		n++
		for i := range 250 {
			acl := open
			switch i % 7 {
			case 3:
				acl = readOnly
			case 5:
				acl = mixed
			}
			p := fmt.Sprintf("%s/n%03d", dir, i)
			mustCreate(t, c, p, []byte(strings.Repeat("x", (i*13+d)%200)), 0, acl)
			n++
			if i%25 == 0 && i%7 != 3 && i%7 != 5 { // CREATE is allowed
				for k := range 3 {
					mustCreate(t, c, fmt.Sprintf("%s/g%d", p, k), []byte{byte(k)}, 0, open)
					n++
				}
			}
		}
	}

	px := startCutProxy(t, srv.Addr)
	s := newStore(t, zkstore.Config{Connect: px.addr(), Prefix: "/c"})
	if got := s.MainSession().Server(); got != px.addr() {
		t.Fatalf("main session on %s, want the proxy %s", got, px.addr())
	}
	readers := s.ReadSessions()
	if len(readers) < 2 {
		t.Fatalf("%d read sessions, want several", len(readers))
	}
	want := list(t, s, "")
	if len(want) != n {
		t.Fatalf("listed %d znodes with no cut, want %d", len(want), n)
	}

	// Every connection made so far but the first (the main session's) is
	// cut once it has carried 6 KB more of answers.
	px.arm(6 << 10)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []store.Entry
	if err := s.List(ctx, "", "", func(e store.Entry) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatalf("listing with the read sessions cut: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d znodes with the read sessions cut, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("entry %d with the read sessions cut:\n%+v\nwant\n%+v", i, got[i], want[i])
		}
	}
	if cut := px.cut.Load(); cut != int32(len(readers)) {
		t.Fatalf("%d read connections cut during the listing, want all %d", cut, len(readers))
	}
	for _, r := range readers {
		if r.Err() == nil {
			t.Errorf("read session 0x%x still usable after its connection was cut", r.SessionID())
		}
	}
}

// cutProxy forwards TCP connections to a server, and cuts those made
// before arm once they have carried a number of bytes more from the
// server, in the middle of a read.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []*proxied
	cut    atomic.Int32
}

type proxied struct {
	client, server net.Conn
	budget         atomic.Int64 // bytes from the server still let through; < 0: not armed
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.client.Close()
			c.server.Close()
		}
	})
	go func() {
		for {
			cc, err := ln.Accept()
			if err != nil {
				return
			}
			sc, err := net.Dial("tcp", target)
			if err != nil {
				cc.Close()
				continue
			}
			pc := &proxied{client: cc, server: sc}
			pc.budget.Store(-1)
			p.mu.Lock()
			p.conns = append(p.conns, pc)
			p.mu.Unlock()
			go func() { io.Copy(sc, cc); sc.Close() }()
			go p.down(pc)
		}
	}()
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

// arm gives every connection made so far but the first a budget of
// bytes from the server, after which it is cut.
func (p *cutProxy) arm(bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns[1:] {
		c.budget.Store(bytes)
	}
}

// down copies the server's bytes to the client, cutting both connections
// when the budget runs out (after writing what is left of it).
func (p *cutProxy) down(c *proxied) {
	defer c.client.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := c.server.Read(buf)
		if n > 0 {
			b := c.budget.Load()
			if b >= 0 && int64(n) > b {
				c.client.Write(buf[:b])
				c.server.Close()
				p.cut.Add(1)
				return
			}
			if b >= 0 {
				c.budget.Add(-int64(n))
			}
			if _, err := c.client.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
