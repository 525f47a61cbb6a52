package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zktest"
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
// (bench/cmd/ferryprof).
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

	ceiling1, err := zkCeiling(dc, "/ceiling1", nodes)
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
	build := exec.Command("go", "build", "-o", bin, pkg)
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
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
	start := time.Now()
	run := exec.Command(bin, "--home", home, "run", filepath.Join(home, "conf", "job.cfg"))
	out, err := run.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("ferry run: %v\n%s", err, out)
	}
	ceiling2, err := zkCeiling(dc, "/ceiling2", nodes)
	if err != nil {
		t.Fatal(err)
	}
	if got := zktest.Snapshot(t, dc, "/app"); len(got) != n+1 {
		t.Fatalf("the destination holds %d znodes, want %d", len(got), n+1)
	}
	ferry := float64(n+1) / took.Seconds()
	ceiling := (ceiling1 + ceiling2) / 2
	t.Logf("znodes: %d; ferry run %.0f znodes/s (%s, scan and audit included); plain multi-op writer %.0f and %.0f znodes/s; ratio %.2f",
		n, ferry, took.Round(time.Millisecond), ceiling1, ceiling2, ferry/ceiling)
	fmt.Printf("| %d small znodes, zk to zk | %.0f znodes/s | %.0f znodes/s | %.2f |\n", n, ferry, ceiling, ferry/ceiling)
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
