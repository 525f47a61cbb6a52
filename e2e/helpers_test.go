package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ferry/internal/dbtest"
)

// ferryBin is the binary under test, built once by TestMain.
var ferryBin string

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ferry-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	// Executable by the unprivileged user TestUnreadableFile runs ferry as.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	root, err := filepath.Abs("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 2
	}
	bin := filepath.Join(dir, "ferry")
	build := exec.Command("go", "build", "-o", bin, "./cmd/ferry")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/ferry: %v\n%s", err, out)
		return 2
	}
	ferryBin = bin
	defer dbtest.StopAll() // the database servers the table tests started
	return m.Run()
}

// kv is one key=value line of a job.cfg or sys.properties.
type kv = [2]string

// home is one ferry installation of a test: conf/, a working directory, a
// source and a destination, all in the test's temporary directory.
type home struct {
	t       *testing.T
	root    string // holds all below
	dir     string // --home; holds conf/
	sysFile string // conf/sys.properties
	jobFile string // conf/job.cfg
	workdir string
	src     string
	dst     string
	job     string
	addr    string              // masterAddress
	cred    *syscall.Credential // when set, ferry runs as this user
	pids    []int               // daemons started by start, killed at cleanup
	env     []string            // added to ferry's environment
}

// newHome makes a home for job name with the default sys.properties and
// job.cfg written (see writeSys, writeJob) and an empty source directory.
func newHome(t *testing.T, name string) *home {
	t.Helper()
	root := t.TempDir()
	h := &home{t: t, root: root, dir: filepath.Join(root, "home"), workdir: filepath.Join(root, "work"),
		src: filepath.Join(root, "src"), dst: filepath.Join(root, "dst"), job: name,
		addr: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	h.sysFile = filepath.Join(h.dir, "conf", "sys.properties")
	h.jobFile = filepath.Join(h.dir, "conf", "job.cfg")
	mkdirs(t, filepath.Join(h.dir, "conf"), h.src)
	h.writeSys()
	h.writeJob(h.jobFile)
	t.Cleanup(h.killDaemons)
	return h
}

// writeSys writes conf/sys.properties: the test's workdir and port, 4
// threads, then over (a later key replaces an earlier one; "" drops it).
func (h *home) writeSys(over ...kv) {
	writeProps(h.t, h.sysFile, []kv{{"workingDir", h.workdir}, {"masterAddress", h.addr},
		{"workerTaskThreadNum", "4"}, {"workerMaxTaskNum", "2"}}, over)
}

// writeJob writes a job.cfg at path copying h.src to h.dst in tasks of at
// most 50 entries, then over.
func (h *home) writeJob(path string, over ...kv) {
	writeProps(h.t, path, []kv{{"jobName", h.job}, {"srcType", "local"}, {"srcPrefix", h.src},
		{"destType", "local"}, {"destPrefix", h.dst}, {"taskObjectCountLimit", "50"}}, over)
}

func writeProps(t *testing.T, path string, base, over []kv) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# written by ferry's e2e tests\n")
	for _, p := range base {
		v, skip := p[1], false
		for _, o := range over {
			if o[0] == p[0] {
				v, skip = o[1], o[1] == ""
			}
		}
		if !skip {
			fmt.Fprintf(&b, "%s=%s\n", p[0], v)
		}
	}
	for _, o := range over {
		found := false
		for _, p := range base {
			found = found || p[0] == o[0]
		}
		if !found {
			fmt.Fprintf(&b, "%s=%s\n", o[0], o[1])
		}
	}
	writeFile(t, path, b.String())
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// result is how one ferry command ended.
type result struct {
	args           []string
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("ferry %s: exit %d after %s\n--- stdout:\n%s--- stderr:\n%s", strings.Join(r.args, " "),
		r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// command is ferry with --home and args, as h's user, in h's home.
func (h *home) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, ferryBin, append([]string{"--home", h.dir}, args...)...)
	cmd.Dir = h.dir
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "FERRY_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, h.env...)
	cmd.WaitDelay = 5 * time.Second
	if h.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: h.cred}
	}
	return cmd
}

// ferry runs a ferry command to its end; a command that takes longer than
// timeout is killed and fails the test: ferry must never hang.
func (h *home) ferry(timeout time.Duration, args ...string) result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r := h.ferryCtx(ctx, args...)
	if ctx.Err() != nil {
		h.t.Fatalf("no answer within %s, killed:\n%s", timeout, r)
	}
	h.t.Logf("ferry %s: exit %d in %s", strings.Join(args, " "), r.code, r.took.Round(time.Millisecond))
	return r
}

// ferryCtx runs a ferry command until it ends or ctx is done.
func (h *home) ferryCtx(ctx context.Context, args ...string) result {
	h.t.Helper()
	cmd := h.command(ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	r := result{args: args, stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		h.t.Fatalf("ferry %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// bgRun is a ferry command started in the background.
type bgRun struct {
	cmd    *exec.Cmd
	out    *syncBuffer // stdout and stderr, readable while it runs
	exited chan error  // receives what cmd.Wait returned, once
}

// background starts a ferry command and returns at once.
func (h *home) background(ctx context.Context, args ...string) *bgRun {
	h.t.Helper()
	cmd := h.command(ctx, args...)
	r := &bgRun{cmd: cmd, out: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	go func() { r.exited <- cmd.Wait() }()
	return r
}

// syncBuffer is a buffer a command writes to while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// must runs a ferry command that has to exit 0 and returns its stdout.
func (h *home) must(timeout time.Duration, args ...string) string {
	h.t.Helper()
	r := h.ferry(timeout, args...)
	if r.code != 0 {
		h.t.Fatalf("want exit 0:\n%s", r)
	}
	return r.stdout
}

// start starts the master daemon and remembers its pid for cleanup.
func (h *home) start() int {
	h.t.Helper()
	out := h.must(30*time.Second, "start")
	m := regexp.MustCompile(`\(pid (\d+)\)`).FindStringSubmatch(out)
	if m == nil {
		h.t.Fatalf("start printed no pid: %q", out)
	}
	pid, _ := strconv.Atoi(m[1])
	h.pids = append(h.pids, pid)
	return pid
}

// killDaemons ends the daemons this test started, by pid, if still alive.
func (h *home) killDaemons() {
	for _, pid := range h.pids {
		if syscall.Kill(pid, 0) == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func alive(pid int) bool {
	// A zombie child of ours would still answer kill 0; daemons are
	// reparented by setsid and reaped by init, so this is exact enough.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

// jobStat is `stat --json`'s object for one job.
type jobStat struct {
	JobName         string  `json:"jobName"`
	JobState        string  `json:"jobState"`
	PendingTasks    int64   `json:"pendingTasks"`
	DispatchedTasks int64   `json:"dispatchedTasks"`
	RunningTasks    int64   `json:"runningTasks"`
	SucceedTasks    int64   `json:"succeedTasks"`
	FailedTasks     int64   `json:"failedTasks"`
	ScanFinished    bool    `json:"scanFinished"`
	FilesDone       int64   `json:"filesDone"`
	FilesTotal      int64   `json:"filesTotal"`
	BytesDone       int64   `json:"bytesDone"`
	BytesTotal      int64   `json:"bytesTotal"`
	FilesFailed     int64   `json:"filesFailed"`
	FilesSkipped    int64   `json:"filesSkipped"`
	Throughput      float64 `json:"throughputBytesPerSec"`
}

// statJSON runs `stat --json <job>` and returns the job's object.
// (TestConsoleBasics checks the order of section 6, `stat <job> --json`.)
func (h *home) statJSON() jobStat {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := h.ferryCtx(ctx, "stat", "--json", h.job) // not logged: tests poll it
	if r.code != 0 {
		h.t.Fatalf("want exit 0:\n%s", r)
	}
	out := r.stdout
	var js []jobStat
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		h.t.Fatalf("stat --json: %v\n%s", err, out)
	}
	if len(js) != 1 || js[0].JobName != h.job {
		h.t.Fatalf("stat %s --json: want one object for the job, got\n%s", h.job, out)
	}
	return js[0]
}

// statLines are the values of `stat <job>`'s text lines (DESIGN.md 6).
type statLines struct {
	state                              string
	pending, dispatched, running       int64
	succeed, failed                    int64
	scanFinished                       bool
	files, filesTotal, bytes, bytesTot int64
	filesFailed, skipped               int64
}

var statRE = regexp.MustCompile(`^JobName:(.+)
JobState:(\w+)
PendingTasks:(\d+)
DispatchedTasks:(\d+)
RunningTasks:(\d+)
SucceedTasks:(\d+)
FailedTasks:(\d+)
ScanFinished:(true|false)
Files:(\d+)/(\d+) Bytes:(\d+)/(\d+) Failed:(\d+) Skipped:(\d+)
Throughput:\S+/s ETA:\S+
`)

// stat runs `stat <job>` and checks its lines against section 6.
func (h *home) stat() statLines {
	h.t.Helper()
	out := h.must(30*time.Second, "stat", h.job)
	m := statRE.FindStringSubmatch(out)
	if m == nil || m[1] != h.job {
		h.t.Fatalf("stat %s: output is not section 6's lines:\n%s", h.job, out)
	}
	n := func(i int) int64 { v, _ := strconv.ParseInt(m[i], 10, 64); return v }
	return statLines{state: m[2], pending: n(3), dispatched: n(4), running: n(5), succeed: n(6), failed: n(7),
		scanFinished: m[8] == "true", files: n(9), filesTotal: n(10), bytes: n(11), bytesTot: n(12),
		filesFailed: n(13), skipped: n(14)}
}

// fileInfo is one entry of a directory tree.
type fileInfo struct {
	mode   fs.FileMode // type bits
	size   int64
	sum    [32]byte // sha256 of a regular file
	crc    uint64   // CRC-64/ECMA of a regular file
	target string   // of a symlink
}

var crcTable = crc64.MakeTable(crc64.ECMA)

// snapshot walks root without following links; keys are '/'-separated
// paths relative to root, as bytes.
func snapshot(t *testing.T, root string) map[string]fileInfo {
	t.Helper()
	m := map[string]fileInfo{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		fi := fileInfo{mode: d.Type()}
		switch {
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fi.size, fi.sum, fi.crc = int64(len(b)), sha256.Sum256(b), crc64.Checksum(b, crcTable)
		case d.Type()&fs.ModeSymlink != 0:
			fi.target, _ = os.Readlink(p)
		}
		m[filepath.ToSlash(rel)] = fi
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return m
}

// regular keeps the regular files of a snapshot.
func regular(m map[string]fileInfo) map[string]fileInfo {
	r := map[string]fileInfo{}
	for k, v := range m {
		if v.mode.IsRegular() {
			r[k] = v
		}
	}
	return r
}

// checkTree checks that dst holds exactly the regular files of want, byte
// for byte, and nothing but directories besides: no temp leftovers, no
// links, no extra files.
func checkTree(t *testing.T, want map[string]fileInfo, dst string) {
	t.Helper()
	got := snapshot(t, dst)
	var bad []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("missing %q", k))
		case !g.mode.IsRegular():
			bad = append(bad, fmt.Sprintf("%q is %v, not a regular file", k, g.mode))
		case g.size != w.size:
			bad = append(bad, fmt.Sprintf("%q differs: size %d, want %d", k, g.size, w.size))
		case g.sum != w.sum:
			bad = append(bad, fmt.Sprintf("%q differs: same size, other bytes", k))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok && !g.mode.IsDir() {
			bad = append(bad, fmt.Sprintf("extra %q (%v)", k, g.mode))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("destination %s differs from what was expected (%d problems):\n  %s", dst, len(bad), strings.Join(head(bad, 15), "\n  "))
	}
}

func head(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	mkdirs(t, filepath.Dir(path))
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every 100ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
