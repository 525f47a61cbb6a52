package zktest

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"
)

// quiet drops the client library's log lines.
type quiet struct{}

func (quiet) Printf(string, ...any) {}

// Connect opens a session to addr (adding the digest identity user:password
// when user is set) and waits for it; it is closed when the test ends.
func Connect(t testing.TB, addr, user, password string) *zk.Conn {
	t.Helper()
	c, err := Dial(addr, user, password, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// Dial is Connect for code without a testing.TB: the caller closes it.
func Dial(addr, user, password string, sessionTimeout time.Duration) (*zk.Conn, error) {
	c, ev, err := zk.Connect([]string{addr}, sessionTimeout, zk.WithLogger(quiet{}), zk.WithLogInfo(false))
	if err != nil {
		return nil, err
	}
	deadline := time.After(30 * time.Second)
	for up := false; !up; {
		select {
		case e := <-ev:
			up = e.State == zk.StateHasSession
		case <-deadline:
			c.Close()
			return nil, fmt.Errorf("zktest: no session with %s within 30s", addr)
		}
	}
	if user != "" {
		if err := c.AddAuth("digest", []byte(user+":"+password)); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// Node is what a tree snapshot holds of one znode.
type Node struct {
	Data      string
	ACL       string // "scheme:id:perms,..." as read
	Ephemeral bool
	Children  int
}

// Snapshot reads the subtree at root through c: every znode by its path
// relative to root ("." for root itself), leaving out ZooKeeper's own
// /zookeeper. It fails the test on any error.
func Snapshot(t testing.TB, c *zk.Conn, root string) map[string]Node {
	t.Helper()
	out := make(map[string]Node)
	var walk func(p, key string)
	walk = func(p, key string) {
		data, st, err := c.Get(p)
		if errors.Is(err, zk.ErrNoNode) {
			return
		}
		if err != nil {
			t.Fatalf("snapshot: get %s: %v", p, err)
		}
		acl, _, err := c.GetACL(p)
		if err != nil {
			t.Fatalf("snapshot: getACL %s: %v", p, err)
		}
		out[key] = Node{Data: string(data), ACL: ShowACL(acl), Ephemeral: st.EphemeralOwner != 0, Children: int(st.NumChildren)}
		kids, _, err := c.Children(p)
		if err != nil && !errors.Is(err, zk.ErrNoNode) {
			t.Fatalf("snapshot: children %s: %v", p, err)
		}
		for _, k := range kids {
			cp := p + "/" + k
			if p == "/" {
				cp = "/" + k
				if k == "zookeeper" {
					continue
				}
			}
			ck := k
			if key != "." {
				ck = key + "/" + k
			}
			walk(cp, ck)
		}
	}
	walk(root, ".")
	return out
}

// ShowACL writes an ACL as "scheme:id:perms(number)" entries joined by ",".
func ShowACL(acl []zk.ACL) string {
	parts := make([]string, len(acl))
	for i, a := range acl {
		parts[i] = fmt.Sprintf("%s:%s:%d", a.Scheme, a.ID, a.Perms)
	}
	return strings.Join(parts, ",")
}

// Diff lists how snapshot got differs from want, ephemeral znodes of want
// left out (they are not copied); "" when they are the same. The roots'
// child counts are compared too (they differ by the ephemerals).
func Diff(want, got map[string]Node) string {
	var out []string
	for k, w := range want {
		if w.Ephemeral {
			if _, ok := got[k]; ok {
				out = append(out, fmt.Sprintf("%s: ephemeral at the source, present at the destination", k))
			}
			continue
		}
		g, ok := got[k]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: missing", k))
		case g.Data != w.Data:
			out = append(out, fmt.Sprintf("%s: data %d bytes, want %d bytes", k, len(g.Data), len(w.Data)))
		case g.ACL != w.ACL:
			out = append(out, fmt.Sprintf("%s: acl %s, want %s", k, g.ACL, w.ACL))
		case g.Ephemeral:
			out = append(out, fmt.Sprintf("%s: ephemeral at the destination", k))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s: extra", k))
		}
	}
	sort.Strings(out)
	if len(out) > 20 {
		out = append(out[:20], fmt.Sprintf("... and %d more", len(out)-20))
	}
	return strings.Join(out, "\n")
}
