package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"ferry/conf"
	"ferry/internal/dbtest"
	"ferry/master"
	"ferry/store"
	"ferry/store/local"
	"ferry/task"
)

// scanFiles is the size of BenchmarkScan's tree: FERRY_BENCH_SCAN_FILES,
// default 100,000 empty files in 100 directories (the scan workload of
// run.sh has a million in 1,000; same shape, a tenth of it).
func scanFiles() int {
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_SCAN_FILES")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

var scanTree struct {
	once sync.Once
	dir  string
	err  error
}

// sharedTree makes the scanned tree once per test binary, in TMPDIR.
func sharedTree(b *testing.B) (string, int) {
	n := scanFiles()
	scanTree.once.Do(func() {
		d, err := os.MkdirTemp("", "ferry-bench-tree-")
		if err != nil {
			scanTree.err = err
			return
		}
		scanTree.dir = d
		dirs := max(n/1000, 1)
		for i := range n {
			p := filepath.Join(d, fmt.Sprintf("d%04d", i%dirs), fmt.Sprintf("f%07d.bin", i))
			if i < dirs {
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					scanTree.err = err
					return
				}
			}
			f, err := os.Create(p)
			if err != nil {
				scanTree.err = err
				return
			}
			f.Close()
		}
	})
	if scanTree.err != nil {
		b.Fatal(scanTree.err)
	}
	return scanTree.dir, n
}

func TestMain(m *testing.M) {
	code := m.Run()
	dbtest.StopAll() // the database servers TestTables and TestTablesExact started
	if scanTree.dir != "" {
		os.RemoveAll(scanTree.dir)
	}
	os.Exit(code)
}

// BenchmarkScan measures the master's scan: listing a source in key order
// and storing it as tasks of taskObjectCountLimit=10000 entries (ferry's
// default), each task and the scan checkpoint in one bbolt transaction.
// "tree" lists a generated tree of empty files (FERRY_BENCH_SCAN_FILES,
// default 100,000) with the local store, as `run` does; "synthetic" lists
// entries made in memory, so it shows the cost of splitting and storing
// alone. One op is one whole scan; entries/s is the figure to compare with
// issue 6's target (1M in under 30 s: 33,000 entries/s).
func BenchmarkScan(b *testing.B) {
	for _, loc := range locations {
		b.Run("tree-"+loc.name, func(b *testing.B) {
			b.StopTimer() // the first call makes the tree
			src, n := sharedTree(b)
			benchScan(b, loc, n, func(task.Spec) (store.Store, error) { return local.New(src, local.Options{}) })
		})
	}
	b.Run("synthetic-shm", func(b *testing.B) {
		n := scanFiles()
		benchScan(b, locations[1], n, func(task.Spec) (store.Store, error) { return synthetic{n: n}, nil })
	})
}

func benchScan(b *testing.B, loc location, n int, open func(task.Spec) (store.Store, error)) {
	var total time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := loc.dir(b)
		m, err := master.Open(master.Config{Dir: dir, LeaseDur: time.Minute, OpenSource: open})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); m.Run(ctx) }()
		b.StartTimer()
		start := time.Now()
		spec := conf.DefaultSpec("scan")
		spec.Src, spec.Dest = task.Endpoint{Type: "local", Prefix: "/bench"}, task.Endpoint{Type: "local", Prefix: "/bench-dest"}
		spec.SizeLimit = 1 << 30
		if err := m.Submit(ctx, spec); err != nil {
			b.Fatal(err)
		}
		j := waitScan(b, m, "scan", 10*time.Minute)
		total += time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		m.Close()
		if j.Counters.FilesTotal != int64(n) {
			b.Fatalf("scanned %d entries, want %d", j.Counters.FilesTotal, n)
		}
		os.RemoveAll(dir)
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "entries/s")
}
