package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Helpers of the migration-control tests (control_test.go, issue 5):
// stat's rounds and counters, waiting for incremental rounds, verify's
// counts, atomic changes to a live source, extra worker processes and a
// sampler of the bytes that reached a local destination.

// ctlStat is `stat --json`'s object for one job, with the migration
// control fields.
type ctlStat struct {
	JobName         string  `json:"jobName"`
	JobState        string  `json:"jobState"`
	PendingTasks    int64   `json:"pendingTasks"`
	DispatchedTasks int64   `json:"dispatchedTasks"`
	SucceedTasks    int64   `json:"succeedTasks"`
	FailedTasks     int64   `json:"failedTasks"`
	ScanFinished    bool    `json:"scanFinished"`
	FilesDone       int64   `json:"filesDone"`
	FilesTotal      int64   `json:"filesTotal"`
	FilesFailed     int64   `json:"filesFailed"`
	FilesSkipped    int64   `json:"filesSkipped"`
	Throughput      float64 `json:"throughputBytesPerSec"`
	Error           string  `json:"error"`
	FilesExcluded   int64   `json:"filesExcluded"`
	FilesUnchanged  int64   `json:"filesUnchanged"`
	FilesDeleted    int64   `json:"filesDeleted"`
	Round           int     `json:"round"`
	NextRound       string  `json:"nextRound"`
	LimitBytesPerS  int64   `json:"limitBytesPerSec"`
}

// ctlStatJSON runs `stat --json <job>` (not logged: tests poll it).
func (h *home) ctlStatJSON() ctlStat {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := h.ferryCtx(ctx, "stat", "--json", h.job)
	if r.code != 0 {
		h.t.Fatalf("want exit 0:\n%s", r)
	}
	var js []ctlStat
	if err := json.Unmarshal([]byte(r.stdout), &js); err != nil {
		h.t.Fatalf("stat --json: %v\n%s", err, r.stdout)
	}
	if len(js) != 1 || js[0].JobName != h.job {
		h.t.Fatalf("stat %s --json: want one object for the job, got\n%s", h.job, r.stdout)
	}
	return js[0]
}

// roundDone reports whether the job's round is over: scanned, nothing
// pending or out with a worker, and the next round scheduled.
func (s ctlStat) roundDone() bool {
	return s.ScanFinished && s.PendingTasks == 0 && s.DispatchedTasks == 0 && s.NextRound != ""
}

// ctlWaitRound waits until round min (or a later one) of h's incremental
// job is done, and returns the stat that said so. A job that is no longer
// running fails the test.
func (h *home) ctlWaitRound(min int, timeout time.Duration) ctlStat {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	var st ctlStat
	for {
		st = h.ctlStatJSON()
		if st.JobState != "Running" && st.JobState != "Scanning" {
			h.t.Fatalf("incremental job is %s, want it Running: %+v", st.JobState, st)
		}
		if st.Round >= min && st.roundDone() {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waited %s for round %d to end; stat: %+v", timeout, min, st)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// ctlWaitEnd waits until h's job has ended (Succeed, Failed, Cancelled).
func (h *home) ctlWaitEnd(timeout time.Duration) ctlStat {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := h.ctlStatJSON()
		if st.JobState != "Running" && st.JobState != "Scanning" {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("waited %s for the job to end; stat: %+v", timeout, st)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

var ctlRoundRE = regexp.MustCompile(`(?m)^Round:(\d+) NextRound:(\S+)$`)

// ctlStatRound reads the Round: and NextRound: line of `stat <job>`
// between two rounds (during one, NextRound is "-"; it polls a few
// seconds for a time).
func (h *home) ctlStatRound() (int, string, string) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := h.must(30*time.Second, "stat", h.job)
		m := ctlRoundRE.FindStringSubmatch(out)
		if m == nil {
			h.t.Fatalf("stat %s prints no `Round:N NextRound:T` line:\n%s", h.job, out)
		}
		if m[2] != "-" || time.Now().After(deadline) {
			n, _ := strconv.Atoi(m[1])
			return n, m[2], out
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ctlVerifyClean wants verify to find n matching keys and no difference.
func (h *home) ctlVerifyClean(n int) {
	h.t.Helper()
	v := h.verifyJob()
	if v.code != 0 || v.counts["match"] != int64(n) || v.counts["missing"]+v.counts["different"]+v.counts["extra"] != 0 || len(v.diffs) != 0 {
		h.t.Errorf("verify: want exit 0, %d matching and no difference; got counts %v, report %v:\n%s", n, v.counts, v.diffs, v.result)
	}
}

// ctlRunOK runs the job in the foreground and wants it to succeed.
func (h *home) ctlRunOK() result {
	h.t.Helper()
	r := h.ferry(2*time.Minute, "run", h.jobFile)
	if r.code != 0 || !strings.Contains(r.stdout, "job "+h.job+": Succeed") {
		h.t.Fatalf("run: want exit 0 and the job Succeed:\n%s", r)
	}
	return r
}

// ctlReplace puts body at path in one step, as a live system that writes
// a new version and renames it into place does: written beside the tree,
// given mtime, then renamed over path. A scan sees the old file or the
// new one, never half a change.
func ctlReplace(t *testing.T, tmpDir, path string, body []byte, mtime time.Time) {
	t.Helper()
	f, err := os.CreateTemp(tmpDir, "replace-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(f.Name(), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	mkdirs(t, filepath.Dir(path))
	if err := os.Rename(f.Name(), path); err != nil {
		t.Fatal(err)
	}
}

// ctlWriteAt writes a file and sets its mtime (not atomically: for trees
// nothing reads yet).
func ctlWriteAt(t *testing.T, path string, body []byte, mtime time.Time) {
	t.Helper()
	mkdirs(t, filepath.Dir(path))
	if err := os.WriteFile(path, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func ctlMTime(t *testing.T, path string) time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

// ctlBody is n bytes of content seeded by s (cheap, distinct per seed).
func ctlBody(n int, s string) []byte {
	b := make([]byte, n)
	x := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		x = (x ^ uint32(s[i])) * 16777619
	}
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// ctlStartWorker starts `ferry worker --id id` against h's running master
// (its defaults: masterAddress, the master's token and certificate in
// the working directory); it is killed when the test ends. The returned
// channel closes when it has exited.
func (h *home) ctlStartWorker(id string) (*exec.Cmd, <-chan struct{}) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := h.command(ctx, "worker", "--id", id)
	out, err := os.Create(filepath.Join(h.root, "worker-"+id+".out"))
	if err != nil {
		h.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start worker %s: %v", id, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); out.Close(); close(done) }()
	h.t.Cleanup(func() {
		cancel()
		<-done
	})
	return cmd, done
}

// ctlSample is the bytes at the destination at one time.
type ctlSample struct {
	at    time.Time
	bytes int64
}

// ctlSampler records, every period, how many bytes the regular files
// under root hold (temporary files included: what has been received so
// far).
type ctlSampler struct {
	mu      sync.Mutex
	samples []ctlSample
	stop    chan struct{}
	done    chan struct{}
}

func ctlDirBytes(root string) int64 {
	var n int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // a temporary file renamed under our feet
		}
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

func ctlSampleDir(root string, period time.Duration) *ctlSampler {
	s := &ctlSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			n := ctlDirBytes(root)
			s.mu.Lock()
			s.samples = append(s.samples, ctlSample{time.Now(), n})
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

func (s *ctlSampler) close() { close(s.stop); <-s.done }

func (s *ctlSampler) last() ctlSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return ctlSample{}
	}
	return s.samples[len(s.samples)-1]
}

// rate is the least-squares slope, in bytes per second, of the samples
// taken in [from, to), and how many there were. A fit over many samples
// is less sensitive than two end points to the files that happen to be
// in flight at either end.
func (s *ctlSampler) rate(from, to time.Time) (float64, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n, sx, sy, sxx, sxy float64
	for _, p := range s.samples {
		if p.at.Before(from) || !p.at.Before(to) {
			continue
		}
		x := p.at.Sub(from).Seconds()
		y := float64(p.bytes)
		n++
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	if n < 2 {
		return math.NaN(), int(n)
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx), int(n)
}

// ctlEnds is the plain rate between the first and last sample in
// [from, to), for the log.
func (s *ctlSampler) ends(from, to time.Time) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var a, b *ctlSample
	for i := range s.samples {
		p := &s.samples[i]
		if p.at.Before(from) || !p.at.Before(to) {
			continue
		}
		if a == nil {
			a = p
		}
		b = p
	}
	if a == nil || a == b {
		return math.NaN()
	}
	return float64(b.bytes-a.bytes) / b.at.Sub(a.at).Seconds()
}

// ctlUmask reads this process's umask (ferry inherits it) without
// changing it.
func ctlUmask(t *testing.T) fs.FileMode {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("cannot read the umask: %v", err)
	}
	m := regexp.MustCompile(`(?m)^Umask:\s+([0-7]+)$`).FindSubmatch(b)
	if m == nil {
		t.Skip("no Umask line in /proc/self/status")
	}
	u, _ := strconv.ParseUint(string(m[1]), 8, 32)
	return fs.FileMode(u)
}

func mib(n float64) string { return fmt.Sprintf("%.3f MiB/s", n/(1<<20)) }

// ctlAuditOf maps each key to the audit records of it across every
// attempt of h's job, in time order.
func ctlAuditOf(as []attempt) map[string][]record {
	m := map[string][]record{}
	for _, a := range as {
		for _, r := range a.records {
			m[r.key] = append(m[r.key], r)
		}
	}
	for _, rs := range m {
		sort.SliceStable(rs, func(i, j int) bool { return rs[i].time.Before(rs[j].time) })
	}
	return m
}
