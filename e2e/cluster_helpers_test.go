package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"ferry/internal/netns"
)

// Helpers for the distributed-mode tests (cluster_test.go): a ferry home
// whose master listens on the bridge of a netns.Cluster and whose
// conf/workers lists the cluster's hosts, which `deploy` reaches over real
// SSH. The hosts share this machine's file system, so a source and a
// destination under the test's temporary directory are the same directories
// on every host, as an NFS mount would be.
//
// workingDir is relative ("workdir"): the master's is <home>/workdir, and
// each host's is <its home>/workdir (deploy resolves a relative workingDir
// against the remote user's home), so hosts do not share pid files or logs.

// clusterHome is a home in distributed mode over a netns cluster.
type clusterHome struct {
	*home
	c     *netns.Cluster
	hosts []netns.HostInfo
	sys   []kv // the cluster's sys.properties keys, before overrides
}

// leaseSeconds is taskLeaseSeconds in these tests: conf's minimum, so that
// dead and cut-off workers are noticed quickly.
const leaseSeconds = 5

// newClusterHome makes an n-host cluster and a home for job name whose
// sys.properties deploys to it with the cluster's client key, then over.
func newClusterHome(t *testing.T, name string, n int, over ...kv) *clusterHome {
	t.Helper()
	netns.Require(t)
	c := netns.NewCluster(t, n)
	h := newHome(t, name)
	h.workdir = filepath.Join(h.dir, "workdir")
	h.addr = net.JoinHostPort(c.BridgeAddr(), strconv.Itoa(freePortOn(t, c.BridgeAddr())))
	ch := &clusterHome{home: h, c: c}
	for i := range n {
		ch.hosts = append(ch.hosts, c.Host(i))
	}
	ch.writeClusterSys(over...)
	ch.writeWorkers(ch.hostLines()...)
	h.writeJob(h.jobFile, kv{"taskObjectCountLimit", "100"})
	t.Cleanup(ch.cleanup)
	return ch
}

// writeClusterSys writes conf/sys.properties for the cluster, then over
// (a later key replaces an earlier one; "" drops it).
func (ch *clusterHome) writeClusterSys(over ...kv) {
	writeProps(ch.t, ch.sysFile, []kv{
		{"workingDir", "workdir"},
		{"masterAddress", ch.addr},
		{"workerUser", "root"},
		{"privateKeyFile", ch.c.ClientKeyFile()},
		{"knownHostsFile", ch.c.KnownHostsFile()},
		{"taskLeaseSeconds", strconv.Itoa(leaseSeconds)},
		{"workerTaskThreadNum", "4"},
		{"workerMaxTaskNum", "2"},
	}, over)
}

// hostLines are the hosts' addresses, one conf/workers line each.
func (ch *clusterHome) hostLines() []string {
	var s []string
	for _, h := range ch.hosts {
		s = append(s, h.Addr)
	}
	return s
}

func (ch *clusterHome) writeWorkers(lines ...string) {
	writeFile(ch.t, filepath.Join(ch.dir, "conf", "workers"), "# written by ferry's e2e tests\n"+strings.Join(lines, "\n")+"\n")
}

// freePortOn returns a TCP port free on addr.
func freePortOn(t *testing.T, addr string) int {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Where deploy puts a host's files (see package deploy).
func (ch *clusterHome) remoteDir(i int) string { return filepath.Join(ch.hosts[i].Home, "workdir") }
func (ch *clusterHome) workerLog(i int) string {
	return filepath.Join(ch.remoteDir(i), "logs", "worker.log")
}
func (ch *clusterHome) workerOut(i int) string {
	return filepath.Join(ch.remoteDir(i), "logs", "worker.out")
}
func (ch *clusterHome) masterLog() string { return filepath.Join(ch.workdir, "logs", "master.log") }

// workerPid reads host i's worker.pid (0 when there is none).
func (ch *clusterHome) workerPid(i int) int {
	b, err := os.ReadFile(filepath.Join(ch.remoteDir(i), "worker.pid"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// id is the worker ID deploy gives host i: its address as in conf/workers.
func (ch *clusterHome) id(i int) string { return ch.hosts[i].Addr }

// deploy runs `deploy` and returns how it ended and its line per host
// (keyed by the host as written in conf/workers).
func (ch *clusterHome) deploy() (result, map[string]string) {
	ch.t.Helper()
	r := ch.ferry(3*time.Minute, "deploy")
	lines := map[string]string{}
	for _, l := range strings.Split(r.stdout, "\n") {
		host, rest, ok := strings.Cut(l, ": ")
		if ok && !strings.Contains(host, " ") {
			if _, dup := lines[host]; dup {
				ch.t.Errorf("deploy printed two lines for %s:\n%s", host, r)
			}
			lines[host] = rest
		}
	}
	return r, lines
}

// mustDeploy deploys to every host and checks one OK line per host.
func (ch *clusterHome) mustDeploy() {
	ch.t.Helper()
	r, lines := ch.deploy()
	if r.code != 0 {
		ch.t.Fatalf("deploy: want exit 0:\n%s", r)
	}
	for i := range ch.hosts {
		if l, ok := lines[ch.hostLines()[i]]; !ok || !strings.HasPrefix(l, "OK") {
			ch.t.Fatalf("deploy: want an OK line for %s:\n%s", ch.hostLines()[i], r)
		}
	}
	if len(lines) != len(ch.hosts) {
		ch.t.Errorf("deploy: want %d host lines, got %d:\n%s", len(ch.hosts), len(lines), r)
	}
}

// workerRow is one line of `stat --workers`.
type workerRow struct {
	host, state string
	tasks       int
}

var workerHeadRE = regexp.MustCompile(`^WORKER\s+HOST\s+STATE\s+TASKS\s+THROUGHPUT$`)

// workers runs `stat --workers` and returns its worker table by worker ID.
func (ch *clusterHome) workers() map[string]workerRow {
	ch.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := ch.ferryCtx(ctx, "stat", "--workers") // not logged: tests poll it
	if r.code != 0 {
		ch.t.Fatalf("want exit 0:\n%s", r)
	}
	rows := map[string]workerRow{}
	in := false
	for _, l := range strings.Split(r.stdout, "\n") {
		if workerHeadRE.MatchString(strings.TrimSpace(l)) {
			in = true
			continue
		}
		if !in {
			continue
		}
		if strings.TrimSpace(l) == "" { // the table ends; the credentials' follows
			break
		}
		f := strings.Fields(l)
		if len(f) != 5 || !strings.HasSuffix(f[4], "/s") {
			ch.t.Fatalf("stat --workers: bad worker line %q in:\n%s", l, r.stdout)
		}
		n, err := strconv.Atoi(f[3])
		if err != nil {
			ch.t.Fatalf("stat --workers: bad TASKS in %q", l)
		}
		rows[f[0]] = workerRow{host: f[1], state: f[2], tasks: n}
	}
	if !in {
		ch.t.Fatalf("stat --workers printed no worker table:\n%s", r.stdout)
	}
	return rows
}

// waitState polls `stat --json` until the job reaches a final state and
// fails unless it is Succeed.
func (ch *clusterHome) waitSucceed(timeout time.Duration) jobStat {
	ch.t.Helper()
	var st jobStat
	waitFor(ch.t, timeout, "the job to succeed", func() bool {
		st = ch.statJSON()
		if st.JobState == "Failed" || st.JobState == "Cancelled" {
			ch.t.Fatalf("job ended %s: %+v", st.JobState, st)
		}
		return st.JobState == "Succeed"
	})
	return st
}

// nsFerry lists the ferry processes (argv[0] ending in /ferry, or ferry)
// running in host i's network namespace, as "pid cmdline".
func (ch *clusterHome) nsFerry(i int) []string {
	ch.t.Helper()
	out, err := exec.Command("ip", "netns", "pids", ch.hosts[i].NS).Output()
	if err != nil {
		ch.t.Fatalf("ip netns pids %s: %v", ch.hosts[i].NS, err)
	}
	var found []string
	for _, s := range strings.Fields(string(out)) {
		pid, err := strconv.Atoi(s)
		if err != nil || !alive(pid) {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if argv[0] == "ferry" || strings.HasSuffix(argv[0], "/ferry") {
			found = append(found, fmt.Sprintf("%d %s", pid, strings.Join(argv, " ")))
		}
	}
	return found
}

// taskField reads key=value from an attempt's TASK file.
func taskField(t *testing.T, a attempt, key string) string {
	t.Helper()
	for _, l := range lines(readString(t, filepath.Join(a.path, "TASK"))) {
		if v, ok := strings.CutPrefix(l, key+"="); ok {
			return v
		}
	}
	t.Errorf("%s/TASK has no %s= line", a.path, key)
	return ""
}

// attemptNo reads the attempt number from an attempt's TASK file.
func attemptNo(t *testing.T, a attempt) int {
	n, _ := strconv.Atoi(taskField(t, a, "attempt"))
	return n
}

// workersOf counts the attempts per worker.
func workersOf(as []attempt) map[string]int {
	m := map[string]int{}
	for _, a := range as {
		m[a.worker]++
	}
	return m
}

func keysOf[V any](m map[string]V) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// cleanup shows the logs when the test failed, then kills the master this
// home's pid file names (the namespaces' processes, the workers, die with
// the cluster).
func (ch *clusterHome) cleanup() {
	if ch.t.Failed() {
		ch.t.Logf("--- %s (tail):\n%s", ch.masterLog(), tail(ch.masterLog(), 40))
		for i := range ch.hosts {
			ch.t.Logf("--- host %d (%s) %s (tail):\n%s", i, ch.hosts[i].Addr, ch.workerLog(i), tail(ch.workerLog(i), 25))
			if s := tail(ch.workerOut(i), 10); strings.TrimSpace(s) != "" {
				ch.t.Logf("--- host %d worker.out (tail):\n%s", i, s)
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(ch.workdir, "master", "master.pid"))
	if err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 && alive(pid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > n {
		ls = ls[len(ls)-n:]
	}
	return strings.Join(ls, "\n")
}

// fileHas reports whether the file at path contains s.
func fileHas(path, s string) bool {
	b, _ := os.ReadFile(path)
	return strings.Contains(string(b), s)
}

// genSizedTree writes n files of size bytes each (pseudo-random content)
// below root, 10 to a directory.
func genSizedTree(t *testing.T, root string, n, size int, seed uint64) {
	t.Helper()
	rng := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'f', 'e', 'r', 'r', 'y'})
	buf := make([]byte, size)
	for i := 0; i < n; i++ {
		rng.Read(buf)
		path := filepath.Join(root, fmt.Sprintf("d%02d", i/10), fmt.Sprintf("f%04d.bin", i))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	leaseRE = regexp.MustCompile(` lease=(\d+)`)
	taskRE  = regexp.MustCompile(` task=(\d+)`)
)

// inflight returns the leases host i's worker holds according to its log:
// tasks started and neither completed nor abandoned, nor cancelled because
// their lease was lost or ran out (a task cancelled while it retries its
// completion ends without a line of its own). The worker logs with slog
// straight to the file, so the log is current.
func (ch *clusterHome) inflight(i int) []string {
	b, _ := os.ReadFile(ch.workerLog(i))
	open := map[string]string{} // lease -> task
	for _, l := range strings.Split(string(b), "\n") {
		lm, tm := leaseRE.FindStringSubmatch(l), taskRE.FindStringSubmatch(l)
		switch {
		case lm == nil && tm != nil && strings.Contains(l, `msg="lease deadline passed without renewal`):
			for lease, task := range open {
				if task == tm[1] {
					delete(open, lease)
				}
			}
		case lm == nil || tm == nil:
		case strings.Contains(l, `msg="task started"`):
			open[lm[1]] = tm[1]
		case strings.Contains(l, `msg="task completed"`), strings.Contains(l, `msg="task abandoned"`),
			strings.Contains(l, `msg="completion refused`), strings.Contains(l, `msg="lease lost`):
			delete(open, lm[1])
		}
	}
	return keysOf(open)
}

// logLeases returns the lease IDs of the lines of a log that contain msg.
func (ch *clusterHome) logLeases(path, msg string) map[string]bool {
	b, _ := os.ReadFile(path)
	m := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if lm := leaseRE.FindStringSubmatch(l); lm != nil && strings.Contains(l, msg) {
			m[lm[1]] = true
		}
	}
	return m
}

// waitBusy waits until host i's worker holds n tasks at once (its
// workerMaxTaskNum), so that a fault injected right after surely finds it
// in the middle of a task even if one of them is just being completed.
func (ch *clusterHome) waitBusy(i, n int, timeout time.Duration) []string {
	ch.t.Helper()
	var held []string
	deadline := time.Now().Add(timeout)
	for {
		if held = ch.inflight(i); len(held) >= n {
			return held
		}
		if time.Now().After(deadline) {
			ch.t.Fatalf("host %d's worker never held %d tasks at once within %s (job: %+v)", i, n, timeout, ch.statJSON())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mediumJob is a source of 240 files of 1 MiB in tasks of 8: 30 tasks that
// take long enough (some 100 ms each) to catch a worker in the middle of
// one.
func mediumJob(t *testing.T, ch *clusterHome) map[string]fileInfo {
	t.Helper()
	genSizedTree(t, ch.src, 240, 1<<20, 5)
	ch.writeJob(ch.jobFile, kv{"taskObjectCountLimit", "8"})
	return regular(snapshot(t, ch.src))
}

// reLeased counts the succeeded attempts whose attempt number is above 1:
// tasks taken back from a worker and given to another.
func reLeased(t *testing.T, as []attempt) int {
	n := 0
	for _, a := range as {
		if !a.failed && attemptNo(t, a) > 1 {
			n++
		}
	}
	return n
}
