package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
)

// TestZKCluster: two worker hosts (network namespaces, deployed over SSH)
// copy one ZooKeeper tree together, the servers listening on the cluster's
// bridge: the destination tree equals the source (paths, data, ACLs), the
// ephemeral is skipped, each znode has exactly one OK line, both hosts
// completed tasks, and a new sequential child on the destination numbers
// above every copied one.
func TestZKCluster(t *testing.T) {
	zktest.Require(t)
	ch := newClusterHome(t, "zk-cluster", 2)
	bridge := ch.c.BridgeAddr()
	src := zktest.Start(t, zktest.Options{Host: bridge})
	dst := zktest.Start(t, zktest.Options{Host: bridge})
	srcAddr, dstAddr := src.Addr, dst.Addr // on the bridge, which the hosts reach
	h := &zkHome{home: ch.home, src: src, dst: dst,
		srcC: zktest.Connect(t, srcAddr, zkUser, zkPassword), dstC: zktest.Connect(t, dstAddr, zkUser, zkPassword)}
	eph := zktest.Connect(t, srcAddr, zkUser, zkPassword)
	tr := makeZKTree(t, h.srcC, eph, 3000, 23)
	ch.writeJob(ch.jobFile, kv{"srcType", "zk"}, kv{"srcDomain", srcAddr}, kv{"srcPrefix", "/app"},
		kv{"srcAccessKey", zkUser}, kv{"srcSecretKey", zkPassword},
		kv{"destType", "zk"}, kv{"destDomain", dstAddr}, kv{"destPrefix", "/app"},
		kv{"destAccessKey", zkUser}, kv{"destSecretKey", zkPassword}, kv{"taskObjectCountLimit", "100"})

	ch.start()
	ch.mustDeploy()
	ch.must(30*time.Second, "submit", ch.jobFile)
	start := time.Now()
	ch.waitSucceed(3 * time.Minute)
	t.Logf("%d znodes copied by 2 hosts in %s", len(tr.paths)+1, time.Since(start).Round(time.Millisecond))
	h.same()

	as := ch.attempts()
	ok, skips := map[string]int{}, map[string]int{}
	for _, a := range as {
		if a.failed {
			t.Errorf("attempt %s failed: %q", a.path, a.errors)
			continue
		}
		for _, r := range a.records {
			switch r.result {
			case "OK":
				ok[r.key]++
			case "SKIP":
				skips[r.key]++
			}
		}
	}
	want := map[string]bool{".": true}
	for _, p := range tr.paths {
		want[zkKey(p)] = true
	}
	for k := range want {
		if ok[k] != 1 {
			t.Errorf("%s: %d OK lines, want 1", k, ok[k])
		}
	}
	if len(ok) != len(want) {
		t.Errorf("%d keys have OK lines, want %d", len(ok), len(want))
	}
	if e := zkKey(tr.ephemeral); skips[e] != 1 || len(skips) != 1 {
		t.Errorf("SKIP lines %v, want one for the ephemeral %s", skips, e)
	}
	per := workersOf(as)
	t.Logf("tasks per worker: %v", per)
	for i := range ch.hosts {
		if per[ch.id(i)] == 0 {
			t.Errorf("host %d (worker %s) completed no task; tasks per worker: %v", i, ch.id(i), per)
		}
	}
	for par, top := range tr.seqMax {
		p, err := h.dstC.Create(par+"/item-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
		if err != nil {
			t.Fatalf("create a sequential child of %s at the destination: %v", par, err)
		}
		var n int64
		fmt.Sscanf(p[len(p)-10:], "%d", &n)
		if n <= top {
			t.Errorf("new sequential child %s, but %d was copied", p, top)
		}
	}
}
