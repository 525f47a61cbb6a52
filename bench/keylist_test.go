package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestKeyListScan is issue 17's scale check of key lists: the master
// (bench/cmd/scan: the real master, bbolt on disk, nothing else in the
// process) scans a key list of 10,000,000 keys in no order, each with its
// size, from srcListFile, and must finish under 5 minutes with a peak
// resident set under 200 MiB. It runs only with FERRY_BENCH_KEYLIST=1
// (FERRY_BENCH_KEYLIST_N sets the number of keys) and prints
//
//	KEYLIST entries=10000000 seconds=18.8 peak_rss_mib=152
func TestKeyListScan(t *testing.T) {
	if os.Getenv("FERRY_BENCH_KEYLIST") == "" {
		t.Skip("the key-list scan runs with FERRY_BENCH_KEYLIST=1; see bench/run.sh")
	}
	n := 10_000_000
	if v, err := strconv.Atoi(os.Getenv("FERRY_BENCH_KEYLIST_N")); err == nil && v > 0 {
		n = v
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "scan")
	if out, err := exec.Command("go", "build", "-o", bin, "ferry/bench/cmd/scan").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	list := filepath.Join(dir, "keys.txt")
	f, err := os.Create(list)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		// 10,000 directories, visited in a scattered order.
		fmt.Fprintf(w, "d%04d/f%08d.bin\t%d\n", (i*7919)%10000, i, i%100000)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o755)
	start := time.Now()
	out, err := exec.Command(bin, "-src", src, "-list", list, "-workdir", filepath.Join(dir, "wd")).CombinedOutput()
	if err != nil {
		t.Fatalf("scan: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`entries=(\d+) tasks=\d+ seconds=([\d.]+) peak_rss_kib=(\d+)`).FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("scan printed %q", out)
	}
	entries, _ := strconv.Atoi(m[1])
	secs, _ := strconv.ParseFloat(m[2], 64)
	rss, _ := strconv.Atoi(m[3])
	fmt.Printf("KEYLIST entries=%d seconds=%.1f peak_rss_mib=%d (wall %s)\n", entries, secs, rss>>10, time.Since(start).Round(time.Second))
	if entries != n {
		t.Errorf("%d entries scanned, want %d", entries, n)
	}
	if n >= 10_000_000 && (secs > 300 || rss > 200<<10) {
		t.Errorf("scan of %d keys took %.0f s and %d MiB; want under 300 s and 200 MiB", n, secs, rss>>10)
	}
}
