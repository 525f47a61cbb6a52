package e2e

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
)

// The digest user ferry and the tests act as on both ensembles.
const zkUser, zkPassword = "ferry", "ferry-secret-pw"

// zkHome is a home whose job copies the subtree /app of one real
// ZooKeeper server to /app of another.
type zkHome struct {
	*home
	src, dst   *zktest.Server
	srcC, dstC *zk.Conn
}

func newZKHome(t *testing.T, name string, over ...kv) *zkHome {
	t.Helper()
	zktest.Require(t)
	h := &zkHome{home: newHome(t, name)}
	h.src = zktest.Start(t, zktest.Options{})
	h.dst = zktest.Start(t, zktest.Options{})
	h.srcC = zktest.Connect(t, h.src.Addr, zkUser, zkPassword)
	h.dstC = zktest.Connect(t, h.dst.Addr, zkUser, zkPassword)
	h.writeSys(kv{"workerTaskThreadNum", "32"})
	h.writeZKJob(over...)
	return h
}

func (h *zkHome) writeZKJob(over ...kv) {
	base := []kv{{"srcType", "zk"}, {"srcDomain", h.src.Addr}, {"srcPrefix", "/app"},
		{"srcAccessKey", zkUser}, {"srcSecretKey", zkPassword},
		{"destType", "zk"}, {"destDomain", h.dst.Addr}, {"destPrefix", "/app"},
		{"destAccessKey", zkUser}, {"destSecretKey", zkPassword}, {"taskObjectCountLimit", "2000"}}
	h.writeJob(h.jobFile, append(base, over...)...)
}

// same wants the destination's /app to equal the source's (paths, data,
// ACLs; ephemeral znodes left out).
func (h *zkHome) same() {
	h.t.Helper()
	want, got := zktest.Snapshot(h.t, h.srcC, "/app"), zktest.Snapshot(h.t, h.dstC, "/app")
	if d := zktest.Diff(want, got); d != "" {
		h.t.Fatalf("destination /app differs from the source:\n%s", d)
	}
}

// zkTree is a source tree made by makeZKTree.
type zkTree struct {
	paths     []string         // every persistent znode below /app, parents first
	seqMax    map[string]int64 // sequential parent -> highest number it keeps
	ephemeral string           // the ephemeral znode's path
}

var zkNameRunes = []rune("abcdefghijklmnopqrstuvwxyz0123456789-._ +é")

// makeZKTree makes /app on c: about n znodes up to 6 levels below it, with
// data of 0 to 100 KiB (most small), a tenth with the digest user's ACL
// (some with an ip entry too, some world-writable with another digest user
// reading), three parents with sequential children (a third deleted
// again), and one ephemeral znode held by the session eph.
func makeZKTree(t *testing.T, c, eph *zk.Conn, n int, seed uint64) *zkTree {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	tr := &zkTree{seqMax: map[string]int64{}}
	if _, err := c.Create("/app", []byte("the app"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	type nd struct {
		p     string
		depth int
	}
	nodes := []nd{{"/app", 0}}
	seen := map[string]bool{}
	for len(nodes) < n-130 {
		par := nodes[rng.IntN(len(nodes))]
		if par.depth >= 6 {
			continue
		}
		var b strings.Builder
		for range 1 + rng.IntN(10) {
			b.WriteRune(zkNameRunes[rng.IntN(len(zkNameRunes))])
		}
		name := b.String()
		if name == "." || name == ".." || name == "zookeeper" {
			continue
		}
		p := par.p + "/" + name
		if seen[p] {
			continue
		}
		seen[p] = true
		nodes = append(nodes, nd{p, par.depth + 1})
	}
	for _, x := range nodes[1:] {
		tr.paths = append(tr.paths, x.p)
	}
	sort.Strings(tr.paths) // a parent sorts before its children
	var ops []any
	size := 0
	flush := func() {
		if len(ops) == 0 {
			return
		}
		if _, err := c.Multi(ops...); err != nil {
			t.Fatalf("create the source tree: %v", err)
		}
		ops, size = ops[:0], 0
	}
	for i, p := range tr.paths {
		d := zkData(rng, p)
		acl := zk.WorldACL(zk.PermAll)
		switch {
		case i%37 == 0:
			acl = append(zk.DigestACL(zk.PermAll, zkUser, zkPassword), zk.ACL{Perms: zk.PermRead, Scheme: "ip", ID: "127.0.0.1"})
		case i%10 == 0:
			acl = zk.DigestACL(zk.PermAll, zkUser, zkPassword)
		case i%53 == 0:
			acl = append(zk.WorldACL(zk.PermAll), zk.DigestACL(zk.PermRead, "reader", "other")...)
		}
		if size+len(d) > 400<<10 || len(ops) >= 500 {
			flush()
		}
		ops = append(ops, &zk.CreateRequest{Path: p, Data: d, Acl: acl})
		size += len(d)
	}
	flush()
	for q := range 3 {
		par := fmt.Sprintf("/app/queue-%d", q)
		if _, err := c.Create(par, nil, 0, zk.DigestACL(zk.PermAll, zkUser, zkPassword)); err != nil {
			t.Fatal(err)
		}
		tr.paths = append(tr.paths, par)
		for i := range 40 {
			p, err := c.Create(par+"/item-", []byte(strconv.Itoa(i)), zk.FlagSequence, zk.WorldACL(zk.PermAll))
			if err != nil {
				t.Fatal(err)
			}
			if i%3 == 1 {
				if err := c.Delete(p, -1); err != nil {
					t.Fatal(err)
				}
				continue
			}
			num, _ := strconv.ParseInt(p[len(p)-10:], 10, 64)
			tr.seqMax[par] = max(tr.seqMax[par], num)
			tr.paths = append(tr.paths, p)
		}
	}
	tr.ephemeral = "/app/queue-0/session-lock"
	if _, err := eph.Create(tr.ephemeral, []byte("held"), zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	sort.Strings(tr.paths)
	return tr
}

// zkData is the data of znode p: empty for some, most under 200 bytes,
// some up to 10 KiB, a few up to 100 KiB.
func zkData(rng *rand.Rand, p string) []byte {
	var n int
	switch r := rng.Float64(); {
	case r < 0.05:
		return nil
	case r < 0.90:
		n = rng.IntN(200)
	case r < 0.99:
		n = rng.IntN(10 << 10)
	default:
		n = 1 + rng.IntN(100<<10)
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.IntN(256))
	}
	copy(b, p)
	return b
}

// zkKey is the audit key of the znode at path p below /app.
func zkKey(p string) string { return strings.TrimPrefix(p, "/app/") }
