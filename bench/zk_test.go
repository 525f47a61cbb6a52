package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
	"ferry/internal/zkwire"
)

// TestZKThroughput is the znode workload (issue 18): 100,000 small znodes
// (100 parents of 1,000 children, 0 to 100 bytes each) copied by `ferry
// run` from one local ZooKeeper server to another, in znodes per second,
// against the same destination server's own ceiling measured in the same
// run: a plain writer that creates the same znodes (already in memory,
// nothing read) in multi-op transactions of 1,000, two in flight. The
// ceiling is measured before and after ferry's run and averaged.
//
// It runs only with FERRY_BENCH_ZK=1; FERRY_BENCH_ZK_N sets the number of
// znodes (default 100000); FERRY_BENCH_ZK_HOME keeps ferry's home (logs)
// in that directory; FERRY_CPUPROFILE=path profiles ferry's run
// (bench/cmd/ferryprof); FERRY_BENCH_ZK_BIN runs that ferry binary instead
// of building this one.
//
// A second ceiling is measured in the same run, before and after ferry:
// the exact copier (zkexact_test.go), which reads every znode's data and
// ACL as ferry must and writes them as the writer does; and the getACL
// reads alone, the part no copier of exact ACLs can batch.
func TestZKThroughput(t *testing.T) {
	if os.Getenv("FERRY_BENCH_ZK") == "" {
		t.Skip("the znode workload runs with FERRY_BENCH_ZK=1; see bench/run.sh")
	}
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("FERRY_BENCH_ZK_N")); err == nil && v > 0 {
		n = v
	}
	src := zktest.Start(t, zktest.Options{Heap: "1g"})
	dst := zktest.Start(t, zktest.Options{Heap: "1g"})
	sc := zktest.Connect(t, src.Addr, "", "")
	dc := zktest.Connect(t, dst.Addr, "", "")
	nodes := zkWorkload(n)
	if err := zkPlainWrite(sc, "/app", nodes); err != nil {
		t.Fatal(err)
	}

	load0 := loadAvg()
	ceiling1, err := zkCeiling(dc, "/ceiling1", nodes)
	if err != nil {
		t.Fatal(err)
	}
	readers, err := dialReaders(src.Addr, exactReaders)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(readers)
	servers := func() (time.Duration, int64, int64) {
		return procCPU(src.PID()) + procCPU(dst.PID()), packets(src), packets(dst)
	}
	e0cpu, e0src, e0dst := servers()
	exact1, exactCPU1, rels := exactRun(t, readers, dc, "/exact1", n)
	e1cpu, e1src, e1dst := servers()
	aclAlone, err := aclReadsAlone(readers, "/app", rels)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	if h := os.Getenv("FERRY_BENCH_ZK_HOME"); h != "" {
		home = h
	}
	bin := filepath.Join(home, "ferry")
	pkg := "./cmd/ferry"
	if os.Getenv("FERRY_CPUPROFILE") != "" {
		pkg = "./bench/cmd/ferryprof" // the same ferry, profiled
	}
	if b := os.Getenv("FERRY_BENCH_ZK_BIN"); b != "" {
		bin = b // a ferry built elsewhere (another commit's, to compare)
	} else {
		build := exec.Command("go", "build", "-o", bin, pkg)
		build.Dir = ".."
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	os.MkdirAll(filepath.Join(home, "conf"), 0o755)
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(home, "conf", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys.properties", fmt.Sprintf("workingDir=%s\nmasterAddress=127.0.0.1:%d\nworkerTaskThreadNum=%s\nworkerMaxTaskNum=4\n",
		filepath.Join(home, "work"), zktest.FreePort(t), envOr("FERRY_BENCH_ZK_THREADS", "256")))
	write("job.cfg", fmt.Sprintf("jobName=zk_bench\nsrcType=zk\nsrcDomain=%s\nsrcPrefix=/app\ndestType=zk\ndestDomain=%s\ndestPrefix=/app\n"+
		"taskObjectCountLimit=10000\nisAuditAfterImport=%s\n", src.Addr, dst.Addr, envOr("FERRY_BENCH_ZK_AUDIT", "true")))
	f0cpu, f0src, f0dst := servers()
	start := time.Now()
	run := exec.Command(bin, "--home", home, "run", filepath.Join(home, "conf", "job.cfg"))
	out, err := run.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("ferry run: %v\n%s", err, out)
	}
	ferryCPU := run.ProcessState.UserTime() + run.ProcessState.SystemTime()
	f1cpu, f1src, f1dst := servers()
	ceiling2, err := zkCeiling(dc, "/ceiling2", nodes)
	if err != nil {
		t.Fatal(err)
	}
	exact2, exactCPU2, _ := exactRun(t, readers, dc, "/exact2", n)
	load1 := loadAvg()
	if got := zktest.Snapshot(t, dc, "/app"); len(got) != n+1 {
		t.Fatalf("the destination holds %d znodes, want %d", len(got), n+1)
	}
	if d := zktest.Diff(zktest.Snapshot(t, sc, "/app"), zktest.Snapshot(t, dc, "/exact2")); d != "" {
		t.Fatalf("the exact copier's copy differs from the source:\n%s", d)
	}
	ferry := float64(n+1) / took.Seconds()
	ceiling := (ceiling1 + ceiling2) / 2
	exact := (exact1 + exact2) / 2
	t.Logf("znodes: %d; ferry run %.0f znodes/s (%s, scan and audit included); plain multi-op writer %.0f and %.0f znodes/s; ratio %.2f",
		n, ferry, took.Round(time.Millisecond), ceiling1, ceiling2, ferry/ceiling)
	t.Logf("exact copier (list, multiRead data, getACL over %d connections, multi-op writes of 1,000, two in flight) %.0f and %.0f znodes/s; ferry / exact copier %.2f; exact copier / writer %.2f",
		exactReaders, exact1, exact2, ferry/exact, exact/ceiling)
	t.Logf("getACL reads alone: %d in %s (%.0f/s over %d connections)", len(rels), aclAlone.Round(time.Millisecond),
		float64(len(rels))/aclAlone.Seconds(), exactReaders)
	t.Logf("CPU: ferry %.1f s (%.0f us a znode), exact copier %.1f s and %.1f s; both servers during ferry's run %.1f s, during the first exact copy %.1f s; load average %s -> %s",
		ferryCPU.Seconds(), ferryCPU.Seconds()*1e6/float64(n+1), exactCPU1.Seconds(), exactCPU2.Seconds(),
		(f1cpu - f0cpu).Seconds(), (e1cpu - e0cpu).Seconds(), load0, load1)
	t.Logf("requests received (source, destination): ferry %d, %d; first exact copy %d, %d",
		f1src-f0src, f1dst-f0dst, e1src-e0src, e1dst-e0dst)
	fmt.Printf("| %d small znodes, zk to zk | %.0f znodes/s | %.0f znodes/s | %.2f |\n", n, ferry, ceiling, ferry/ceiling)
	fmt.Printf("| %d small znodes, zk to zk, exact copier | %.0f znodes/s | %.0f znodes/s | %.2f |\n", n, ferry, exact, ferry/exact)
}

// exactRun runs exactCopy from the source's /app to root on dc and checks
// it wrote the n+1 znodes: znodes per second, its CPU time (this
// process's), and the paths.
func exactRun(t *testing.T, readers []*zkwire.Conn, dc *zk.Conn, root string, n int) (float64, time.Duration, []string) {
	t.Helper()
	cpu0 := selfCPU()
	rate, rels, err := exactCopy(readers, "/app", dc, root)
	if err != nil {
		t.Fatalf("exact copier: %v", err)
	}
	cpu := selfCPU() - cpu0
	if len(rels) != n+1 {
		t.Fatalf("exact copier wrote %d znodes, want %d", len(rels), n+1)
	}
	return rate, cpu, rels
}

// selfCPU is this process's user and system CPU time so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is process pid's user and system CPU time so far (0 if unknown).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)        // utime, field 14
	st, _ := strconv.ParseInt(f[12], 10, 64)        // stime, field 15
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// packets is the number of requests srv has received (mntr's
// zk_packets_received), -1 if unknown.
func packets(srv *zktest.Server) int64 {
	m, err := srv.Stats()
	if err != nil {
		return -1
	}
	v, err := strconv.ParseInt(m["zk_packets_received"], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

type zkNode struct {
	path string // below the root
	data []byte
}

// zkWorkload is n znodes: n/1000 parents ("/dNN") of up to 1,000 children
// each, data 0 to 100 bytes, parents first.
func zkWorkload(n int) []zkNode {
	var out []zkNode
	for i := 0; len(out) < n; i++ {
		dir := fmt.Sprintf("/d%03d", i)
		out = append(out, zkNode{dir, nil})
		for j := 0; j < 999 && len(out) < n; j++ {
			out = append(out, zkNode{fmt.Sprintf("%s/n%05d", dir, j), []byte(fmt.Sprintf("%0*d", (i*31+j)%101, j))})
		}
	}
	return out
}

// zkPlainWrite creates root and nodes below it in multi-op transactions of
// 1,000 creates, two in flight.
func zkPlainWrite(c *zk.Conn, root string, nodes []zkNode) error {
	if _, err := c.Create(root, nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		return err
	}
	acl := zk.WorldACL(zk.PermAll)
	errs := make(chan error, 2)
	inflight := 0
	for i := 0; i < len(nodes); i += 1000 {
		batch := nodes[i:min(i+1000, len(nodes))]
		ops := make([]any, len(batch))
		for k, nd := range batch {
			ops[k] = &zk.CreateRequest{Path: root + nd.path, Data: nd.data, Acl: acl}
		}
		if inflight == 2 {
			if err := <-errs; err != nil {
				return err
			}
			inflight--
		}
		// Each batch holds one parent and its children (zkWorkload's
		// blocks are 1,000 znodes), so two may be in flight in any order.
		inflight++
		go func() { _, err := c.Multi(ops...); errs <- err }()
	}
	for ; inflight > 0; inflight-- {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// zkCeiling times zkPlainWrite of nodes under root: znodes per second.
func zkCeiling(c *zk.Conn, root string, nodes []zkNode) (float64, error) {
	start := time.Now()
	if err := zkPlainWrite(c, root, nodes); err != nil {
		return 0, err
	}
	return float64(len(nodes)+1) / time.Since(start).Seconds(), nil
}
