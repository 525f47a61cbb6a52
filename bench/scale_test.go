package bench

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/internal/netns"
)

// scaleRate is the shaped speed of every host's link.
const scaleRate = "200mbit"

// TestScale is the scale workload of issue 6: ferry copies a URL list
// (srcType=http) served from the root namespace to a local directory, with
// 1, 2 and 4 workers, each on its own host (a network namespace with sshd,
// deployed by `ferry deploy` over SSH), each host's link shaped to
// 200 Mbit/s in both directions with tc (tbf). The copy is network-bound,
// as in a data centre: throughput should grow with the workers. The hosts
// share this machine's file system, so the destination is one directory
// for all, as an NFS mount would be.
//
// It runs only with FERRY_BENCH_SCALE=1 (it needs root, ip, tc and sshd)
// and prints one line per worker count:
//
//	SCALE workers=4 seconds=8.31 MBps=96.9
//
// It fails unless 2 workers copy at least 1.6x as fast as one and 4 workers
// 3.0x (at the default size; see the margin below).
//
// FERRY_BENCH_SCALE_MB sets the data size (default 768, in 16 MiB files);
// FERRY_BENCH_ROOT where the data, homes and destinations go (default a
// temporary directory).
func TestScale(t *testing.T) {
	if os.Getenv("FERRY_BENCH_SCALE") == "" {
		t.Skip("the scale workload runs with FERRY_BENCH_SCALE=1 (root, ip, tc, sshd); see bench/run.sh")
	}
	netns.Require(t)
	if _, err := exec.LookPath("tc"); err != nil {
		t.Skip("tc (iproute2) not found")
	}
	mb := 768
	if v, err := strconv.Atoi(os.Getenv("FERRY_BENCH_SCALE_MB")); err == nil && v > 0 {
		mb = v
	}
	root := os.Getenv("FERRY_BENCH_ROOT")
	if root == "" {
		root = t.TempDir()
	}
	root = mustMkdir(t, root)
	bin := filepath.Join(root, "bin", "ferry")
	if out, err := exec.Command("go", "build", "-o", bin, "ferry/cmd/ferry").CombinedOutput(); err != nil {
		t.Fatalf("go build ferry: %v\n%s", err, out)
	}

	const fileSize = 16 << 20
	files := max(mb<<20/fileSize, 1)
	data := mustMkdir(t, filepath.Join(root, "data"))
	writeScaleData(t, data, files, fileSize)

	c := netns.NewCluster(t, 4)
	for i := range c.Len() {
		h := c.Host(i)
		veth := h.NS[:strings.LastIndex(h.NS, "-")] + "v" + h.NS[strings.LastIndex(h.NS, "-")+1:]
		shape := []string{"qdisc", "replace", "dev", "", "root", "tbf", "rate", scaleRate, "burst", "256kb", "latency", "50ms"}
		shape[3] = veth // root side: traffic to the host
		if out, err := exec.Command("tc", shape...).CombinedOutput(); err != nil {
			t.Fatalf("tc on %s: %v: %s", veth, err, out)
		}
		shape[3] = "eth0" // host side: traffic from the host
		if _, err := c.Exec(i, append([]string{"tc"}, shape...)...); err != nil {
			t.Fatal(err)
		}
	}

	// The files, over HTTP from the root namespace, on the bridge.
	lis, err := net.Listen("tcp", net.JoinHostPort(c.BridgeAddr(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(data))}
	go srv.Serve(lis)
	t.Cleanup(func() { srv.Close() })
	var list strings.Builder
	for i := range files {
		fmt.Fprintf(&list, "http://%s/\t%s\n", lis.Addr(), scaleName(i))
	}
	listFile := filepath.Join(root, "urls.txt")
	if err := os.WriteFile(listFile, []byte(list.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	mbps := map[int]float64{}
	for _, n := range []int{1, 2, 4} {
		secs := scaleRun(t, c, root, bin, listFile, n, files)
		mbps[n] = float64(files*fileSize) / 1e6 / secs
		fmt.Printf("SCALE workers=%d seconds=%.2f MBps=%.1f\n", n, secs, mbps[n])
	}
	// Each worker has a link of its own, so n workers could copy n times
	// as fast, but for the rounds: with tasks of one file, n workers need
	// ceil(files/n) rounds where one worker needs files (at the default 48
	// files, 2x and 4x; at the quick run's 6 files, 2x and 3x). Asked: 80%
	// of that for 2 workers, 75% for 4, i.e. 1.6x and 3.0x at the default
	// size. The margin is for what does not grow with the links: the
	// submit, scan and first lease and the 100 ms poll of stat, paid once
	// per run and weighing most in the shortest run (4 workers, ~8.5 s);
	// the stragglers of the last round; and the master, HTTP server and
	// destination disk all workers share, on a machine whose cores other
	// work may hold. The README's 3.97x was measured idle. A dispatch that
	// serialised workers (at most 2x with 4) or left one of four idle (at
	// most 3x, less the fixed costs) still fails.
	for _, r := range []struct {
		n      int
		margin float64
	}{{2, 0.80}, {4, 0.75}} {
		rounds := (files + r.n - 1) / r.n
		ideal := float64(files) / float64(rounds)
		got := mbps[r.n] / mbps[1]
		fmt.Printf("SCALE-RATIO workers=%d ratio=%.2f ideal=%.2f want>=%.2f\n", r.n, got, ideal, r.margin*ideal)
		if got < r.margin*ideal {
			t.Errorf("%d workers copied %.2fx as fast as one (%.1f against %.1f MB/s); want at least %.2fx (%.0f%% of the %.2fx %d files allow)",
				r.n, got, mbps[r.n], mbps[1], r.margin*ideal, r.margin*100, ideal, files)
		}
	}
}

func scaleName(i int) string { return fmt.Sprintf("d%02d/f%04d.bin", i%8, i) }

func writeScaleData(t *testing.T, dir string, files, size int) {
	t.Helper()
	buf := make([]byte, size)
	for i := range files {
		p := filepath.Join(dir, scaleName(i))
		if fi, err := os.Stat(p); err == nil && fi.Size() == int64(size) {
			continue
		}
		var key [32]byte
		binary.LittleEndian.PutUint64(key[:], uint64(i))
		copy(key[8:], "ferry-bench-scale")
		rand.NewChaCha8(key).Read(buf)
		mustMkdir(t, filepath.Dir(p))
		if err := os.WriteFile(p, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// scaleRun copies the list with n workers and returns the seconds from
// submit to the job's success.
func scaleRun(t *testing.T, c *netns.Cluster, root, bin, listFile string, n, files int) float64 {
	home := filepath.Join(root, fmt.Sprintf("home-%d", n))
	dst := filepath.Join(root, fmt.Sprintf("dst-%d", n))
	os.RemoveAll(home)
	os.RemoveAll(dst)
	mustMkdir(t, filepath.Join(home, "conf"))
	port := freePort(t, c.BridgeAddr())
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(home, "conf", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("sys.properties", fmt.Sprintf("workingDir=workdir\nmasterAddress=%s\nworkerUser=root\nprivateKeyFile=%s\nknownHostsFile=%s\n",
		net.JoinHostPort(c.BridgeAddr(), strconv.Itoa(port)), c.ClientKeyFile(), c.KnownHostsFile()))
	var hosts []string
	for i := range n {
		hosts = append(hosts, c.Host(i).Addr)
	}
	write("workers", strings.Join(hosts, "\n")+"\n")
	// Tasks of one 16 MiB file, so 4 workers holding 2 tasks each all
	// have work until near the end.
	write("job.cfg", fmt.Sprintf("jobName=scale\nsrcType=http\nsrcPrefix=\nhttpListFilePath=%s\nhttpPrefixColumn=1\nrelativePathColumn=2\n"+
		"destType=local\ndestPrefix=%s/\ntaskObjectCountLimit=1\n", listFile, dst))

	ferry := func(timeout time.Duration, args ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, bin, append([]string{"--home", home}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("ferry %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	ferry(time.Minute, "start")
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		exec.CommandContext(ctx, bin, "--home", home, "stop").Run()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	out, err := exec.CommandContext(ctx, bin, "--home", home, "deploy").CombinedOutput()
	cancel()
	if err != nil || strings.Count(string(out), ": OK") != n {
		// Start the workers the way deploy does, without SSH: the
		// measurement is the copy, not the deployment.
		fmt.Printf("SCALE-NOTE deploy failed (%v: %s); workers started with ip netns exec instead\n",
			err, strings.Join(strings.Fields(string(out)), " "))
		startWorkers(t, c, bin, home, n)
	}
	start := time.Now()
	ferry(time.Minute, "submit")
	for {
		var st []struct {
			JobState    string `json:"jobState"`
			FilesDone   int64  `json:"filesDone"`
			FilesFailed int64  `json:"filesFailed"`
		}
		raw := ferry(time.Minute, "stat", "--json", "scale")
		if err := json.Unmarshal([]byte(raw), &st); err != nil || len(st) != 1 {
			t.Fatalf("stat --json: %v\n%s", err, raw)
		}
		switch st[0].JobState {
		case "Succeed":
			secs := time.Since(start).Seconds()
			if st[0].FilesDone != int64(files) || st[0].FilesFailed != 0 {
				t.Fatalf("%d workers: %+v, want %d files done", n, st[0], files)
			}
			os.RemoveAll(dst)
			return secs
		case "Failed", "Cancelled":
			t.Fatalf("%d workers: job ended %s\n%s", n, st[0].JobState, raw)
		}
		if time.Since(start) > 20*time.Minute {
			t.Fatalf("%d workers: not done after 20 minutes: %s", n, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startWorkers starts `ferry worker` on hosts 0..n-1 as deploy would, in
// each host's namespace with a working directory of its own, pinned to the
// master's certificate and token (the hosts share the file system).
func startWorkers(t *testing.T, c *netns.Cluster, bin, home string, n int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "workdir", "master", "address"))
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimSpace(string(b))
	mdir := filepath.Join(home, "workdir", "master")
	for i := range n {
		h := c.Host(i)
		w := mustMkdir(t, filepath.Join(home, fmt.Sprintf("worker-%d", i)))
		mustMkdir(t, filepath.Join(w, "conf"))
		if err := os.WriteFile(filepath.Join(w, "conf", "sys.properties"), []byte("workingDir=.\nmasterAddress="+addr+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		logf, err := os.Create(filepath.Join(w, "worker.out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("ip", "netns", "exec", h.NS, bin, "--home", w, "--sys", filepath.Join(w, "conf", "sys.properties"),
			"worker", "--master", addr, "--token-file", filepath.Join(mdir, "token"), "--cert-file", filepath.Join(mdir, "tls.crt"), "--id", h.Addr)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); logf.Close(); close(done) }()
		t.Cleanup(func() {
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				cmd.Process.Kill()
				<-done
			}
		})
	}
}

func freePort(t *testing.T, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
