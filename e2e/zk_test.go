package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
)

// TestZKCopy: `run` copies a tree of 20,000 znodes (up to 6 levels, data
// of 0 to 100 KiB, digest and ip ACLs, sequential children, an ephemeral
// znode held by a live session) from one ZooKeeper server to another: the
// destination equals the source in paths, data and ACLs; the ephemeral is
// one SKIP line with its reason and every other znode one OK line; and a
// sequential child created at the destination afterwards is numbered
// after every copied one.
func TestZKCopy(t *testing.T) {
	h := newZKHome(t, "zk_copy")
	eph := zktest.Connect(t, h.src.Addr, zkUser, zkPassword)
	tr := makeZKTree(t, h.srcC, eph, 20000, 18)
	r := h.ferry(5*time.Minute, "run", h.jobFile)
	if r.code != 0 || !strings.Contains(r.stdout, "job zk_copy: Succeed") {
		t.Fatalf("run: want exit 0 and Succeed:\n%s", r)
	}
	h.same()
	audit := ctlAuditOf(h.attempts())
	wantOK := append([]string{"."}, tr.paths...)
	for _, p := range wantOK {
		k := p
		if p != "." {
			k = zkKey(p)
		}
		rs := audit[k]
		if len(rs) != 1 || rs[0].result != "OK" {
			t.Errorf("%s: want one OK record, got %+v", k, rs)
		}
		delete(audit, k)
	}
	eRec := audit[zkKey(tr.ephemeral)]
	if len(eRec) != 1 || eRec[0].result != "SKIP" || !strings.Contains(eRec[0].detail, "ephemeral") {
		t.Errorf("ephemeral %s: want one SKIP record saying ephemeral, got %+v", tr.ephemeral, eRec)
	}
	delete(audit, zkKey(tr.ephemeral))
	if len(audit) != 0 {
		t.Errorf("%d audit keys that are no znode of the source, e.g. %v", len(audit), head(mapKeys(audit), 5))
	}
	if _, _, err := h.dstC.Get(tr.ephemeral); err != zk.ErrNoNode {
		t.Errorf("the ephemeral znode at the destination: %v, want it absent", err)
	}
	for par, maxSeq := range tr.seqMax {
		p, err := h.dstC.Create(par+"/item-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
		if err != nil {
			t.Fatalf("new sequential child of %s at the destination: %v", par, err)
		}
		if n, _ := strconv.ParseInt(p[len(p)-10:], 10, 64); n <= maxSeq {
			t.Errorf("new sequential child %s at the destination, but %d was copied", p, maxSeq)
		}
	}
}

func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestZKIncremental: a round after 50 changes (45 of data, 5 of ACL), 10
// creations and 5 deletions on the source writes exactly those 60 znodes
// (their OK records are the only ones after the changes), the mirror
// deletes the 5 (deleted.log), and verify then finds the trees equal.
func TestZKIncremental(t *testing.T) {
	h := newZKHome(t, "zk_inc", kv{"isIncremental", "true"}, kv{"incrementalModeInterval", "12"}, kv{"mirror", "true"})
	h.writeSys(kv{"workerTaskThreadNum", "32"}, kv{"incrementalMinInterval", "1"})
	eph := zktest.Connect(t, h.src.Addr, zkUser, zkPassword)
	tr := makeZKTree(t, h.srcC, eph, 3000, 7)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := h.background(ctx, "run", h.jobFile)
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			run.cmd.Process.Signal(syscall.SIGINT)
			<-run.exited
		})
	}
	defer stop()
	waitFor(t, time.Minute, "the job to be submitted", func() bool {
		return h.ferryCtx(ctx, "stat", h.job).code == 0
	})
	// Change the source between two rounds, with time to spare before
	// the next one.
	var st ctlStat
	for r := 1; ; r = st.Round + 1 {
		st = h.ctlWaitRound(r, 2*time.Minute)
		next, err := time.Parse(time.RFC3339, st.NextRound)
		if err != nil {
			t.Fatalf("NextRound %q: %v", st.NextRound, err)
		}
		if time.Until(next) > 6*time.Second {
			break
		}
	}
	h.same()
	round := st.Round + 1
	changedAt := time.Now()

	// Leaves (no children) to change and delete; parents to add to.
	var leaves []string
	for _, p := range tr.paths {
		if _, st, err := h.srcC.Exists(p); err == nil && st.NumChildren == 0 && !strings.Contains(p, "queue-") {
			leaves = append(leaves, p)
		}
	}
	want := map[string]bool{}
	for i, p := range leaves[:50] {
		if i < 45 {
			if _, err := h.srcC.Set(p, []byte(fmt.Sprintf("changed %d", i)), -1); err != nil {
				t.Fatal(err)
			}
		} else if _, err := h.srcC.SetACL(p, append(zk.DigestACL(zk.PermAll, zkUser, zkPassword), zk.WorldACL(zk.PermRead)...), -1); err != nil {
			t.Fatal(err)
		}
		want[zkKey(p)] = true
	}
	for i := range 10 {
		p := fmt.Sprintf("%s/new-%d", leaves[100+i], i)
		if _, err := h.srcC.Create(p, []byte("new"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		want[zkKey(p)] = true
	}
	deleted := map[string]bool{}
	for _, p := range leaves[200:205] {
		if err := h.srcC.Delete(p, -1); err != nil {
			t.Fatal(err)
		}
		deleted[zkKey(p)] = true
	}
	if d := time.Since(changedAt); d > 5*time.Second {
		t.Fatalf("the changes took %s, longer than the interval between rounds", d)
	}
	st = h.ctlWaitRound(round, 2*time.Minute)
	h.same()
	var wrote []string
	for _, a := range h.attempts() {
		for _, r := range a.records {
			if r.result == "OK" && r.time.After(changedAt) {
				wrote = append(wrote, r.key)
			}
		}
	}
	sort.Strings(wrote)
	if len(wrote) != 60 || !allIn(wrote, want) {
		t.Errorf("round 2 wrote %d znodes, want exactly the 60 changed and created: %v", len(wrote), head(wrote, 70))
	}
	dl := lines(readString(t, filepath.Join(h.jobDir(), "deleted.log")))
	var gone []string
	for _, l := range dl {
		f := strings.Split(l, "\t")
		gone = append(gone, f[len(f)-1])
	}
	if len(gone) != 5 || !allIn(gone, deleted) || st.FilesDeleted != 5 {
		t.Errorf("mirror deleted %v (stat says %d), want the 5 deleted at the source %v", gone, st.FilesDeleted, deleted)
	}
	stop()
	v := h.verifyJob()
	if v.code != 0 || len(v.diffs) != 0 {
		t.Errorf("verify after the round: want exit 0 and no difference:\n%s", v.result)
	}
}

func allIn(keys []string, set map[string]bool) bool {
	seen := map[string]bool{}
	for _, k := range keys {
		if !set[k] || seen[k] {
			return false
		}
		seen[k] = true
	}
	return len(seen) == len(set)
}

// TestZKVerify: verify names exactly the znodes altered at the destination
// behind ferry's back: one whose data changed, one whose ACL changed
// (DIFFERENT, with the reason), and a child added (EXTRA); exit 1.
func TestZKVerify(t *testing.T) {
	h := newZKHome(t, "zk_verify")
	eph := zktest.Connect(t, h.src.Addr, zkUser, zkPassword)
	tr := makeZKTree(t, h.srcC, eph, 500, 3)
	h.ctlRunOK()
	if v := h.verifyJob(); v.code != 0 || len(v.diffs) != 0 {
		t.Fatalf("verify after the copy: want exit 0:\n%s", v.result)
	}
	data, acl, parent := tr.paths[10], tr.paths[20], tr.paths[30]
	if _, err := h.dstC.Set(data, []byte("altered"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := h.dstC.SetACL(acl, zk.WorldACL(zk.PermRead|zk.PermWrite|zk.PermAdmin|zk.PermCreate|zk.PermDelete|zk.PermAdmin), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := h.dstC.Create(parent+"/added", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	v := h.verifyJob()
	want := map[string]string{zkKey(data): "DIFFERENT", zkKey(acl): "DIFFERENT", zkKey(parent + "/added"): "EXTRA"}
	if v.code != 1 || len(v.diffs) != len(want) {
		t.Fatalf("verify: want exit 1 and exactly %v:\n%v\n%s", want, v.diffs, v.result)
	}
	for k, kind := range want {
		if v.diffs[k] != kind {
			t.Errorf("%s: %q, want %s", k, v.diffs[k], kind)
		}
	}
	if !strings.Contains(v.result.stdout, "acl ") {
		t.Errorf("verify does not say the ACL differs:\n%s", v.result.stdout)
	}
}

// TestZKVerifyRepair: after znodes are altered behind ferry's back at the
// destination (data, ACL, a sequential counter set back by deleting and
// creating the parent again, a child added, a znode and its subtree
// deleted), `verify --repair` of a mirror job names them, rewrites what is
// missing or different from the source, deletes the extra child, verifies
// again and exits 0: the trees are equal. Without mirror the extra child
// is kept and the exit status is 1. Another job's `verify --repair` is
// refused.
func TestZKVerifyRepair(t *testing.T) {
	h := newZKHome(t, "zk_repair", kv{"mirror", "true"})
	eph := zktest.Connect(t, h.src.Addr, zkUser, zkPassword)
	tr := makeZKTree(t, h.srcC, eph, 500, 5)
	h.ctlRunOK()
	data, acl, parent := tr.paths[10], tr.paths[20], tr.paths[30]
	if _, err := h.dstC.Set(data, []byte("altered"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := h.dstC.SetACL(acl, zk.WorldACL(zk.PermRead|zk.PermWrite|zk.PermCreate|zk.PermAdmin), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := h.dstC.Create(parent+"/added", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	// A subtree gone: a sequential parent and its children (its counter
	// starts again from 0 when it is created again).
	queue := "/app/queue-1"
	var gone []string
	for _, p := range tr.paths {
		if p == queue || strings.HasPrefix(p, queue+"/") {
			gone = append(gone, p)
		}
	}
	for i := len(gone) - 1; i >= 0; i-- {
		if err := h.dstC.Delete(gone[i], -1); err != nil {
			t.Fatal(err)
		}
	}
	v := h.verifyJob("--repair")
	if v.code != 0 || !strings.Contains(v.result.stdout, fmt.Sprintf("repair: %d rewritten, 1 extra deleted; verifying again", 2+len(gone))) {
		t.Fatalf("verify --repair: want exit 0 after rewriting %d znodes and deleting 1:\n%s", 2+len(gone), v.result)
	}
	if v.counts["missing"] != 0 || v.counts["different"] != 0 || v.counts["extra"] != 0 {
		t.Errorf("the second verify found %v", v.counts)
	}
	h.same()
	p, err := h.dstC.Create(queue+"/item-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.ParseInt(p[len(p)-10:], 10, 64); n <= tr.seqMax[queue] {
		t.Errorf("new sequential child %s after the repair, but %d was copied", p, tr.seqMax[queue])
	}
	if err := h.dstC.Delete(p, -1); err != nil {
		t.Fatal(err)
	}

	// Without mirror, an extra znode stays, and verify says so.
	h2 := newZKHome(t, "zk_repair_keep")
	h2.srcC.Create("/app", []byte("x"), 0, zk.WorldACL(zk.PermAll))
	h2.srcC.Create("/app/a", []byte("a"), 0, zk.WorldACL(zk.PermAll))
	h2.ctlRunOK()
	h2.dstC.Create("/app/extra", nil, 0, zk.WorldACL(zk.PermAll))
	h2.dstC.Set("/app/a", []byte("changed"), -1)
	v = h2.verifyJob("--repair")
	if v.code != 1 || !strings.Contains(v.result.stdout, "repair: 1 rewritten, 0 extra deleted (extras are kept: mirror=false)") ||
		v.counts["extra"] != 1 || v.counts["different"] != 0 {
		t.Fatalf("verify --repair without mirror: want exit 1, /app/a rewritten, the extra kept:\n%s", v.result)
	}
	if got, _, err := h2.dstC.Get("/app/a"); err != nil || string(got) != "a" {
		t.Errorf("/app/a after the repair: %q, %v", got, err)
	}
	// A znode whose ACL at the destination refuses ferry is named, and
	// the others repaired.
	h2.srcC.Create("/app/b", []byte("b"), 0, zk.WorldACL(zk.PermAll))
	h2.dstC.Create("/app/b", []byte("locked"), 0, zk.WorldACL(zk.PermRead))
	h2.srcC.Set("/app/a", []byte("a2"), -1)
	v = h2.verifyJob("--repair")
	if v.code != 1 || !strings.Contains(v.result.stdout, "repair: 1 rewritten, 0 extra deleted (extras are kept: mirror=false), 1 not repaired (the first: rewrite b: ") ||
		v.diffs["b"] != "DIFFERENT" || v.diffs["a"] != "" {
		t.Fatalf("verify --repair with a znode ferry may not write: want /app/a rewritten, b named:\n%s", v.result)
	}
}

// TestZKKillRun: `run` (master and worker in one process) is killed with
// SIGKILL twice in the middle of the copy; the next `run` finishes it: the
// trees are equal and every znode has exactly one OK record across the
// published attempts (an attempt cut off is never published, and nothing
// it half-wrote remains: each write is one transaction).
func TestZKKillRun(t *testing.T) {
	h := newZKHome(t, "zk_kill", kv{"taskObjectCountLimit", "500"})
	h.writeSys(kv{"workerTaskThreadNum", "8"})
	eph := zktest.Connect(t, h.src.Addr, zkUser, zkPassword)
	tr := makeZKTree(t, h.srcC, eph, 6000, 11)
	for i, delay := range []time.Duration{1500 * time.Millisecond, 1200 * time.Millisecond} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		r := h.background(ctx, "run", h.jobFile)
		select {
		case err := <-r.exited:
			t.Logf("run %d ended by itself before the kill (%v)", i+1, err)
		case <-time.After(delay):
			r.cmd.Process.Signal(syscall.SIGKILL)
			<-r.exited
			got, _ := h.dst.Stats()
			t.Logf("run %d killed with SIGKILL after %s; destination server holds %s znodes", i+1, delay, got["zk_znode_count"])
		}
		cancel()
	}
	h.ctlRunOK()
	h.same()
	ok := map[string]int{}
	for _, a := range h.attempts() {
		if a.failed {
			t.Errorf("attempt %s failed: %q", a.path, a.errors)
			continue
		}
		for _, r := range a.records {
			if r.result == "OK" {
				ok[r.key]++
			}
		}
	}
	want := map[string]bool{".": true}
	for _, p := range tr.paths {
		want[zkKey(p)] = true
	}
	for k := range want {
		if ok[k] != 1 {
			t.Errorf("%s: %d OK records, want 1", k, ok[k])
		}
	}
	if len(ok) != len(want) {
		t.Errorf("%d keys have OK records, want %d", len(ok), len(want))
	}
}

// TestZKCutover runs the README's cutover procedure: incremental rounds
// while clients still write to the source (data changes, creations,
// deletions), then the writes freeze, a last round starts after the
// freeze and ends, and verify exits 0: the destination is ready for the
// clients to switch to.
func TestZKCutover(t *testing.T) {
	h := newZKHome(t, "zk_cutover", kv{"isIncremental", "true"}, kv{"incrementalModeInterval", "1"}, kv{"mirror", "true"})
	h.writeSys(kv{"workerTaskThreadNum", "16"}, kv{"incrementalMinInterval", "1"})
	eph := zktest.Connect(t, h.src.Addr, zkUser, zkPassword)
	tr := makeZKTree(t, h.srcC, eph, 2000, 5)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := h.background(ctx, "run", h.jobFile)
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			run.cmd.Process.Signal(syscall.SIGINT)
			<-run.exited
		})
	}
	defer stop()

	// Clients write until the freeze.
	freeze := make(chan struct{})
	wrote := make(chan int)
	go func() {
		n := 0
		defer func() { wrote <- n }()
		for i := 0; ; i++ {
			select {
			case <-freeze:
				return
			default:
			}
			p := tr.paths[(i*7919)%len(tr.paths)]
			var err error
			switch i % 10 {
			case 0:
				_, err = h.srcC.Create(fmt.Sprintf("%s/client-%d", p, i), []byte("new"), 0, zk.WorldACL(zk.PermAll))
			case 1:
				err = h.srcC.Delete(fmt.Sprintf("%s/client-%d", tr.paths[((i-1)*7919)%len(tr.paths)], i-1), -1)
			default:
				_, err = h.srcC.Set(p, []byte(fmt.Sprintf("client write %d", i)), -1)
			}
			if err == nil {
				n++
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	waitFor(t, time.Minute, "the job to be submitted", func() bool { return h.ferryCtx(ctx, "stat", h.job).code == 0 })
	h.ctlWaitRound(3, 3*time.Minute)
	close(freeze)
	t.Logf("clients wrote %d times during the rounds", <-wrote)
	// The last round: the first to start after the freeze.
	last := h.ctlStatJSON().Round + 1
	h.ctlWaitRound(last, 2*time.Minute)
	stop()
	h.same()
	if v := h.verifyJob(); v.code != 0 || len(v.diffs) != 0 {
		t.Fatalf("verify after the last round: want exit 0:\n%s", v.result)
	}
}

// TestZKDryRunAndThrottle: a dry run of a zk job counts what it would copy
// (every znode but the ephemeral, which it shows skipped at copy time) and
// writes nothing; maxRequestsPerSecond then paces the copy in znodes per
// second (whatever requests a znode costs: two, three with the audit
// after import).
func TestZKDryRunAndThrottle(t *testing.T) {
	h := newZKHome(t, "zk_dry", kv{"maxRequestsPerSecond", "100"})
	eph := zktest.Connect(t, h.src.Addr, zkUser, zkPassword)
	tr := makeZKTree(t, h.srcC, eph, 400, 9)
	r := h.ferry(time.Minute, "submit", "--dry-run", h.jobFile)
	n := len(tr.paths) + 2 // the root and the ephemeral
	if r.code != 0 || !regexp.MustCompile(fmt.Sprintf(`copy\s+%d entries`, n)).MatchString(r.stdout) {
		t.Fatalf("dry run: want exit 0 and %d entries to copy:\n%s", n, r)
	}
	if ok, _, err := h.dstC.Exists("/app"); err != nil || ok {
		t.Fatalf("the dry run wrote to the destination (/app exists: %v, %v)", ok, err)
	}
	// maxRequestsPerSecond is znodes per second: n entries at 100 a
	// second take n/100 s (not two or three times as long, as when each
	// request of a znode counted).
	start := time.Now()
	h.ctlRunOK()
	took := time.Since(start)
	want := time.Duration(n) * time.Second / 100
	if took < want*8/10 || took > want*2 {
		t.Errorf("run took %s; %d znodes at 100 znodes/s take about %s", took, n, want)
	}
	h.same()
}
