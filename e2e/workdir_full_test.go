package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size bytes on dir, unmounted at cleanup
// after the test's daemons are killed. It skips the test when that is
// impossible (not root), except under CI=true, where it fails.
func mountTmpfs(t *testing.T, h *home, dir string, size int) {
	t.Helper()
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("mounting a tmpfs needs root; CI must run the e2e tests as root")
		}
		t.Skip("mounting a tmpfs needs root: run the e2e tests as root to run this one")
	}
	mkdirs(t, dir)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount tmpfs on %s: %v\n%s", dir, err, out)
		}
		t.Skipf("mount tmpfs on %s: %v\n%s", dir, err, out)
	}
	t.Cleanup(func() {
		h.killDaemons()
		time.Sleep(100 * time.Millisecond)
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
}

// fill writes path until the file system holding it is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", path, err)
			}
			return
		}
	}
}

// TestWorkdirFull: the working directory (a small tmpfs) fills up while a
// job's tasks complete. `stat` says so within seconds (MasterError:), the
// worker backs off instead of retrying and logging every second, and when
// space returns the job resumes by itself and ends Succeed with every file
// copied once. The logs live outside the tmpfs (workdir/logs is a link),
// so that the test can count the worker's lines while the disk is full.
func TestWorkdirFull(t *testing.T) {
	t.Parallel()
	const files = 400
	h := newHome(t, "wdfull")
	mountTmpfs(t, h, h.workdir, 16<<20)
	logs := filepath.Join(h.root, "logs")
	mkdirs(t, logs)
	if err := os.Symlink(logs, filepath.Join(h.workdir, "logs")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < files; i++ {
		k := fmt.Sprintf("d%d/f%04d.txt", i%4, i)
		writeFile(t, filepath.Join(h.src, k), strings.Repeat(k+"\n", 100)) // about 1.5 KB
	}
	src := regular(snapshot(t, h.src))
	// 20 files a second: the job is still copying when the disk fills.
	h.writeJob(h.jobFile, kv{"maxThroughput", "30K"}, kv{"taskObjectCountLimit", "10"})
	h.start()
	h.must(30*time.Second, "submit", h.jobFile)
	waitFor(t, 30*time.Second, "the scan to finish and a task to succeed", func() bool {
		s := h.statJSON()
		return s.ScanFinished && s.SucceedTasks > 0
	})

	ballast := filepath.Join(h.workdir, "ballast")
	fill(t, ballast)
	full := time.Now()
	var out string
	waitFor(t, 10*time.Second, "`stat` to say the workdir is full", func() bool {
		out = h.ferryCtx(context.Background(), "stat", h.job).stdout // not logged: polled
		return strings.Contains(out, "MasterError:")
	})
	t.Logf("after %s, stat says:\n%s", time.Since(full).Round(time.Millisecond), out)
	if !strings.Contains(out, "no space left on device") || !strings.Contains(out, "full") {
		t.Errorf("stat: want a MasterError line saying the workdir is full (no space left on device):\n%s", out)
	}
	if !strings.Contains(h.must(30*time.Second, "stat", "--json", h.job), `"masterError"`) {
		t.Errorf("stat --json: no masterError")
	}
	if s := h.statJSON(); s.JobState != "Running" {
		t.Errorf("while the disk is full the job is %s, want Running", s.JobState)
	}

	// While full, the worker retries with a growing pause and says so
	// now and then, not every second.
	workerLog := filepath.Join(logs, "worker.log")
	before := len(lines(readString(t, workerLog)))
	const window = 10 * time.Second
	time.Sleep(window)
	grown := lines(readString(t, workerLog))[before:]
	t.Logf("worker.log grew by %d lines in %s while the disk was full:\n%s", len(grown), window, strings.Join(head(grown, 20), "\n"))
	if len(grown) > 4 {
		t.Errorf("worker.log grew by %d lines in %s while the disk was full; want at most 4 (back off, rate-limit the log)", len(grown), window)
	}

	// Space returns: the job resumes by itself.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	h.must(30*time.Second, "throttle", h.job, "0")
	waitFor(t, 90*time.Second, "the job to end", func() bool {
		s := h.statJSON()
		return s.JobState != "Running" && s.JobState != "Scanning"
	})
	s := h.statJSON()
	if s.JobState != "Succeed" || s.FilesDone != files || s.FilesFailed != 0 {
		t.Errorf("after space returned: state %s, files %d done %d failed; want Succeed, %d done, none failed", s.JobState, s.FilesDone, s.FilesFailed, files)
	}
	if out := h.must(30*time.Second, "stat", h.job); strings.Contains(out, "MasterError:") {
		t.Errorf("stat still shows the master error after space returned:\n%s", out)
	}
	checkTree(t, src, h.dst)
	as := h.attempts()
	checkOnce(t, "OK records", keyCounts(as, "OK"), src)
	checkRecords(t, as, src)
	h.must(60*time.Second, "stop")
}
