package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ferry/store/s3test"
)

// The fault injector of the chaos run (chaos_test.go): its parameters,
// read from the environment, and the faults it injects into a cluster
// home, one at a time, in an order and with timings drawn from one seed.
// The seed fixes the sequence of faults (kinds, hosts, signals, delays);
// what the processes are doing when a fault lands depends on the machine,
// so a replay injects the same faults, not the same interleaving.

// chaosParams are a chaos run's size and length.
type chaosParams struct {
	seed      uint64
	files     int   // small files
	large     int   // large files (multipart uploads)
	largeSize int64 // bytes each
	duration  time.Duration
}

// chaosParamsFromEnv reads FERRY_CHAOS_SEED (default: a new seed),
// FERRY_CHAOS_FILES, FERRY_CHAOS_LARGE, FERRY_CHAOS_LARGE_MIB and
// FERRY_CHAOS_MINUTES (a decimal number) over the short run's defaults.
func chaosParamsFromEnv(t *testing.T) chaosParams {
	t.Helper()
	p := chaosParams{seed: rand.Uint64() >> 11, files: 2000, large: 3, largeSize: 24 << 20, duration: 75 * time.Second}
	num := func(name string, set func(float64)) {
		v := os.Getenv(name)
		if v == "" {
			return
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			t.Fatalf("%s=%q: want a non-negative number", name, v)
		}
		set(f)
	}
	if v := os.Getenv("FERRY_CHAOS_SEED"); v != "" {
		s, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("FERRY_CHAOS_SEED=%q: want an unsigned integer", v)
		}
		p.seed = s
	}
	num("FERRY_CHAOS_FILES", func(f float64) { p.files = int(f) })
	num("FERRY_CHAOS_LARGE", func(f float64) { p.large = int(f) })
	num("FERRY_CHAOS_LARGE_MIB", func(f float64) { p.largeSize = int64(f * (1 << 20)) })
	num("FERRY_CHAOS_MINUTES", func(f float64) { p.duration = time.Duration(f * float64(time.Minute)) })
	if p.largeSize < 6<<20 && p.large > 0 {
		t.Fatalf("FERRY_CHAOS_LARGE_MIB: want at least 6, for a multipart upload of several 5 MiB parts")
	}
	return p
}

// The kinds of fault, in the order the summary prints them.
const (
	faultKillWorker = "kill-worker"      // kill -9 a host's worker, start it again
	faultKillMaster = "kill-master"      // kill -9 the master, `start` it again
	faultLinkDown   = "link-down"        // a host's link down for longer than a lease, then up
	faultMidPart    = "restart-mid-part" // restart a worker with a multipart upload under way
)

var faultKinds = []string{faultKillWorker, faultKillMaster, faultLinkDown, faultMidPart}

// chaos injects faults into a cluster home.
type chaos struct {
	t     *testing.T
	ch    *clusterHome
	rng   *rand.Rand
	start time.Time
	ups   *uploadWatch

	workerArgv [][]string // per host: the command line deploy started the worker with
	mpid       int        // the master's pid

	mu      sync.Mutex
	journal []string       // one line per fault, with its time
	counts  map[string]int // faults injected, by kind
	skipped map[string]int // faults drawn that found nothing to hit
	exited  []chan struct{}
	started []time.Time // per host: when its worker was last started
}

func newChaos(t *testing.T, ch *clusterHome, seed uint64, mpid int, ups *uploadWatch) *chaos {
	c := &chaos{t: t, ch: ch, rng: rand.New(rand.NewPCG(seed, 0xc4a05)), ups: ups, mpid: mpid,
		counts: map[string]int{}, skipped: map[string]int{}}
	for i := range ch.hosts {
		pid := ch.workerPid(i)
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || pid == 0 {
			t.Fatalf("host %d: the deployed worker's command line (pid %d): %v", i, pid, err)
		}
		c.workerArgv = append(c.workerArgv, strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"))
		c.started = append(c.started, time.Now())
	}
	return c
}

// logf records one event of the run with its time since the first fault.
func (c *chaos) logf(format string, args ...any) {
	line := fmt.Sprintf("t+%7.2fs ", time.Since(c.start).Seconds()) + fmt.Sprintf(format, args...)
	c.mu.Lock()
	c.journal = append(c.journal, line)
	c.mu.Unlock()
	c.t.Log("chaos: " + line)
}

// between draws a duration in [lo, hi).
func (c *chaos) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(c.rng.Int64N(int64(hi-lo)))
}

// run injects faults until d has passed (or done returns true): first one
// of each kind in a seeded order, then kinds drawn at random, with a pause
// of 1 to 4 s between two.
func (c *chaos) run(d time.Duration, done func() bool) {
	c.start = time.Now()
	order := c.rng.Perm(len(faultKinds))
	for n := 0; time.Since(c.start) < d; n++ {
		if done() {
			c.logf("the job finished: no more faults")
			return
		}
		kind := faultKinds[c.rng.IntN(len(faultKinds))]
		if n < len(order) {
			kind = faultKinds[order[n]]
		}
		c.inject(kind)
		time.Sleep(c.between(time.Second, 4*time.Second))
	}
}

// inject injects one fault of kind.
func (c *chaos) inject(kind string) {
	ch := c.ch
	switch kind {
	case faultKillWorker:
		i := c.rng.IntN(len(ch.hosts))
		pause := c.between(500*time.Millisecond, 3*time.Second)
		pid := c.kill(i, syscall.SIGKILL)
		time.Sleep(pause)
		c.logf("%s host%d: pid %d killed (SIGKILL); started again after %s as pid %d",
			kind, i, pid, pause.Round(time.Millisecond), c.startWorker(i))
	case faultKillMaster:
		pause := c.between(500*time.Millisecond, 3*time.Second)
		if err := syscall.Kill(c.mpid, syscall.SIGKILL); err != nil {
			c.t.Fatalf("kill -9 the master (pid %d): %v", c.mpid, err)
		}
		waitFor(c.t, 10*time.Second, "the killed master to exit", func() bool { return !alive(c.mpid) })
		time.Sleep(pause)
		old := c.mpid
		c.mpid = ch.start()
		c.logf("%s: pid %d killed (SIGKILL); `start` after %s: pid %d", kind, old, pause.Round(time.Millisecond), c.mpid)
	case faultLinkDown:
		i := c.rng.IntN(len(ch.hosts))
		hold := c.between(leaseSeconds*time.Second+time.Second, 2*leaseSeconds*time.Second)
		c.logf("%s host%d: link down for %s (lease %ds)", kind, i, hold.Round(time.Millisecond), leaseSeconds)
		ch.c.LinkDown(i)
		time.Sleep(hold)
		ch.c.LinkUp(i)
		c.logf("%s host%d: link up", kind, i)
	case faultMidPart:
		sig := syscall.SIGKILL
		if c.rng.IntN(2) == 0 {
			sig = syscall.SIGTERM
		}
		pick := c.rng.Uint64()
		var up upload
		var i int
		// Best with some parts sent (the restarted upload then resumes
		// them), else in the middle of the first part.
		began := time.Now()
		for {
			if up, i = c.ups.pick(pick, c.workerOn, time.Since(began) < 15*time.Second); i >= 0 {
				break
			}
			if time.Since(began) > 30*time.Second {
				c.skipped[kind]++
				c.logf("%s: skipped, no multipart upload under way", kind)
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		pid := c.kill(i, sig)
		c.logf("%s host%d: pid %d stopped (%s) uploading %q (%d parts sent so far); started again as pid %d",
			kind, i, pid, sig, up.key, up.parts, c.startWorker(i))
	default:
		c.t.Fatalf("unknown fault %q", kind)
	}
	c.mu.Lock()
	c.counts[kind]++
	c.mu.Unlock()
}

// workerOn returns the index of the host with address ip (-1 if none)
// and when its worker was last started.
func (c *chaos) workerOn(ip string) (int, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, h := range c.ch.hosts {
		if h.Addr == ip {
			return i, c.started[i]
		}
	}
	return -1, time.Time{}
}

// kill sends sig to host i's worker and waits until it is gone (SIGKILL
// after 15 s), returning its pid.
func (c *chaos) kill(i int, sig syscall.Signal) int {
	pid := c.ch.workerPid(i)
	if pid == 0 || !alive(pid) {
		c.t.Fatalf("host %d: no live worker to stop (worker.pid %d)", i, pid)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		c.t.Fatalf("host %d: kill -%d %d: %v", i, sig, pid, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			c.logf("host%d: worker pid %d still running 15s after %s; SIGKILL", i, pid, sig)
			syscall.Kill(pid, syscall.SIGKILL)
			deadline = time.Now().Add(time.Hour)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return pid
}

// startWorker starts host i's worker again, in its namespace, as its user
// would: the command line deploy started it with, in its working
// directory, detached, its pid in worker.pid and its output appended to
// logs/worker.out. It returns the new pid.
func (c *chaos) startWorker(i int) int {
	ch := c.ch
	dir := ch.remoteDir(i)
	argv := c.workerArgv[i]
	out, err := os.OpenFile(filepath.Join(dir, "logs", "worker.out"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer out.Close()
	// ip netns exec execs (no fork) into sh, which writes its pid and
	// execs ferry: the pid started is the worker's.
	cmd := exec.Command("ip", append([]string{"netns", "exec", ch.hosts[i].NS, "sh", "-c",
		`echo $$ > worker.pid.new && mv -f worker.pid.new worker.pid && exec "$@"`, "ferry-worker"}, argv...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + ch.hosts[i].Home}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c.mu.Lock()
	c.started[i] = time.Now()
	c.mu.Unlock()
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("host %d: start the worker: %v", i, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c.mu.Lock()
	c.exited = append(c.exited, exited)
	c.mu.Unlock()
	waitFor(c.t, 10*time.Second, fmt.Sprintf("host %d's restarted worker to write worker.pid", i), func() bool {
		return ch.workerPid(i) == cmd.Process.Pid
	})
	return cmd.Process.Pid
}

// heal makes sure that every link is up and every worker and the master
// run, after the last fault.
func (c *chaos) heal() {
	for i := range c.ch.hosts {
		c.ch.c.LinkUp(i)
		if pid := c.ch.workerPid(i); pid == 0 || !alive(pid) {
			c.logf("heal host%d: worker (pid %d) not running; started as pid %d", i, pid, c.startWorker(i))
		}
	}
	if !alive(c.mpid) {
		c.t.Errorf("the master (pid %d) died by itself during the chaos run", c.mpid)
		c.mpid = c.ch.start()
	}
}

// summary is the faults injected by kind, as "kind=n ...".
func (c *chaos) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []string
	for _, k := range faultKinds {
		f := fmt.Sprintf("%s=%d", k, c.counts[k])
		if c.skipped[k] > 0 {
			f += fmt.Sprintf("(+%d skipped)", c.skipped[k])
		}
		s = append(s, f)
	}
	return strings.Join(s, " ")
}

// upload is the multipart upload of one key as the proxy saw it.
type upload struct {
	key    string
	client string    // the IP of the client that sent its last request
	last   time.Time // of that request
	parts  int       // parts sent (2xx), by any client
	done   bool      // completed
}

// uploadWatch follows the multipart uploads through the proxy's Watch.
type uploadWatch struct {
	mu  sync.Mutex
	ups map[string]*upload // by key
	n   map[string]int     // 503s injected, by request kind
}

func newUploadWatch() *uploadWatch {
	return &uploadWatch{ups: map[string]*upload{}, n: map[string]int{}}
}

func (w *uploadWatch) seen(s s3test.Seen) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.Injected && s.Status == 503 {
		w.n[s.Kind]++
	}
	if s.Status/100 != 2 {
		return
	}
	switch s.Kind {
	case s3test.KindCreate, s3test.KindPart, s3test.KindComplete:
	default:
		return
	}
	u := w.ups[s.Key]
	if u == nil {
		u = &upload{key: s.Key}
		w.ups[s.Key] = u
	}
	u.client, u.last = s.Client, time.Now()
	switch s.Kind {
	case s3test.KindPart:
		u.parts++
	case s3test.KindComplete:
		u.done = true
	}
}

// pick returns an upload under way (created, not completed; with a part
// sent if withPart) and the host whose worker sent its last request,
// choosing among them by r; -1 when there is none. A request sent before the host's worker was last started
// (worker returns the host of an address, and when its worker started) is
// a dead worker's: its upload waits for another.
func (w *uploadWatch) pick(r uint64, worker func(ip string) (int, time.Time), withPart bool) (upload, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var keys []string
	for k, u := range w.ups {
		if i, since := worker(u.client); !u.done && i >= 0 && u.last.After(since) && (u.parts > 0 || !withPart) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return upload{}, -1
	}
	sort.Strings(keys)
	u := w.ups[keys[r%uint64(len(keys))]]
	i, _ := worker(u.client)
	return *u, i
}

// injected503 is the number of 503s injected.
func (w *uploadWatch) injected503() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, v := range w.n {
		n += v
	}
	return n
}
