package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// genSmallTree writes n small files (0-1 KiB) below root, in directories
// whose names sort around each other's keys: "d07/..." lies between the
// files "d07-x" and "d070", which catches a scanner that does not list in
// key byte order, and so resumes at the wrong place.
func genSmallTree(t *testing.T, root string, n int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	for i := 0; i < n; i++ {
		var key string
		d := i % 40
		switch i % 100 {
		case 97:
			key = fmt.Sprintf("d%02d-x%05d", d, i)
		case 98:
			key = fmt.Sprintf("d%02d0%05d", d, i)
		case 99:
			key = fmt.Sprintf("d%02d/sub dir/f%05d", d, i)
		default:
			key = fmt.Sprintf("d%02d/f%05d", d, i)
		}
		b := make([]byte, rng.IntN(1025))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		path := filepath.Join(root, key)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkCopiedOnce checks the end state of a job that had to survive
// crashes: destination equal to the source, stat exactly N/N, every task
// succeeded, and each key OK exactly once across succeed_tasks.
func checkCopiedOnce(t *testing.T, h *home, want map[string]fileInfo) {
	t.Helper()
	checkTree(t, want, h.dst)
	n := int64(len(want))
	st := h.stat()
	if st.state != "Succeed" || st.files != n || st.filesTotal != n || st.filesFailed != 0 || st.skipped != 0 {
		t.Errorf("stat: %+v; want Succeed, Files:%d/%d exactly, Failed:0 Skipped:0", st, n, n)
	}
	as := h.attempts()
	var ok []attempt
	for _, a := range as {
		if a.failed {
			t.Errorf("attempt %s failed: %q", a.path, a.errors)
			continue
		}
		ok = append(ok, a)
	}
	if st.pending+st.dispatched+st.running+st.failed != 0 || st.succeed != int64(len(ok)) {
		t.Errorf("stat: %+v; want all tasks succeeded, as many as the %d succeed_tasks directories", st, len(ok))
	}
	checkOnce(t, "OK records across succeed_tasks", keyCounts(ok, "OK"), want)
	checkRecords(t, ok, want)
	if left, _ := os.ReadDir(filepath.Join(h.jobDir(), ".inflight")); len(left) > 0 {
		t.Errorf("%d in-flight audit directories left after the job finished", len(left))
	}
}

// TestKillRun kills a foreground `run` with SIGKILL three times at random
// moments, then runs it to the end: nothing lost, nothing counted twice.
func TestKillRun(t *testing.T) {
	t.Parallel()
	h := newHome(t, "crash-run")
	genSmallTree(t, h.src, 20000, 1)
	want := regular(snapshot(t, h.src))
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))

	for i := 0; i < 3; i++ {
		delay := 200*time.Millisecond + time.Duration(rng.Int64N(int64(1300*time.Millisecond)))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		r := h.background(ctx, "run", h.jobFile)
		select {
		case err := <-r.exited:
			t.Logf("run %d ended by itself before the kill (%v):\n%s", i+1, err, r.out)
		case <-time.After(delay):
			r.cmd.Process.Signal(syscall.SIGKILL)
			<-r.exited
			done := 0
			filepath.WalkDir(h.dst, func(string, os.DirEntry, error) error { done++; return nil })
			t.Logf("run %d killed with SIGKILL after %s; %d entries in the destination", i+1, delay.Round(time.Millisecond), done)
		}
		cancel()
	}
	// Ctrl-C: the run stops promptly and says how to resume.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r := h.background(ctx, "run", h.jobFile)
	select {
	case err := <-r.exited:
		t.Logf("run 4 ended by itself before SIGINT (%v):\n%s", err, r.out)
	case <-time.After(700 * time.Millisecond):
		r.cmd.Process.Signal(os.Interrupt)
		select {
		case <-r.exited:
			if !strings.Contains(r.out.String(), "interrupted") {
				t.Errorf("run stopped by SIGINT printed no word of it:\n%s", r.out)
			}
		case <-time.After(15 * time.Second):
			r.cmd.Process.Kill()
			t.Errorf("run did not end within 15s of SIGINT:\n%s", r.out)
		}
	}

	if res := h.ferry(2*time.Minute, "run", h.jobFile); res.code != 0 {
		t.Fatalf("run after the kills: want exit 0:\n%s", res)
	}
	checkCopiedOnce(t, h, want)
}

// TestKillDaemon kills the master daemon started by `start` with SIGKILL in
// the middle of a job; a second `start` finishes the job and `stop` stops it.
func TestKillDaemon(t *testing.T) {
	t.Parallel()
	h := newHome(t, "crash-daemon")
	genSmallTree(t, h.src, 10000, 2)
	want := regular(snapshot(t, h.src))
	if out := h.must(30*time.Second, "submit", h.jobFile); out != "submit job:crash-daemon success!\n" {
		t.Errorf("submit printed %q", out)
	}

	pid := h.start()
	waitFor(t, 30*time.Second, "the daemon to copy something", func() bool { return h.statJSON().FilesDone > 0 })
	time.Sleep(time.Duration(rand.Int64N(int64(500 * time.Millisecond))))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 %d: %v", pid, err)
	}
	waitFor(t, 10*time.Second, "the killed master to disappear", func() bool { return !alive(pid) })
	st := h.statJSON()
	t.Logf("master killed at %d/%d files", st.FilesDone, st.FilesTotal)
	if st.JobState == "Succeed" {
		t.Logf("the job finished before the kill; the restart below is still checked")
	}

	pid2 := h.start()
	waitFor(t, 90*time.Second, "the job to succeed after the restart", func() bool {
		s := h.statJSON()
		if s.JobState == "Failed" || s.JobState == "Cancelled" {
			t.Fatalf("job ended %s: %+v", s.JobState, s)
		}
		return s.JobState == "Succeed"
	})
	if out := h.must(40*time.Second, "stop"); !strings.HasSuffix(out, "master stopped\n") {
		t.Errorf("stop printed %q, want %q", out, "master stopped\n")
	}
	if alive(pid2) {
		t.Errorf("master pid %d still alive after stop", pid2)
	}
	checkCopiedOnce(t, h, want)
}
