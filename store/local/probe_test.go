//go:build linux

package local

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"ferry/store"
)

// probeKillEnv names the directory in which TestProbeKilled's child
// process puts a file, and is killed during the probe.
const probeKillEnv = "FERRY_TEST_PROBE_KILL_DIR"

// TestProbeKilled: a process killed with SIGKILL between the probe's link
// and unlink (the probe that finds how to link unnamed files, made by a
// store's first Put) leaves a file that the CleanTemps of the task's next
// attempt removes, as the worker calls it: in the directories of the
// task's keys, with the task's tag. (Issue 15: the probe was
// ".ferry-<16 hex>.tmp" in the destination root, untagged, which no
// CleanTemps removes; seen once in CI.)
func TestProbeKilled(t *testing.T) {
	if dir := os.Getenv(probeKillEnv); dir != "" {
		// The child: its first Put probes; the probe's file is there
		// when the process dies.
		afterProbeLink = func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
		l, err := New(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Put(context.Background(), "d/e/f", strings.NewReader("x"), store.Entry{}, store.PutOptions{TempTag: "job1-7"})
		t.Fatalf("Put returned (%v): the probe linked nothing (no O_TMPFILE on %s?)", err, dir)
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProbeKilled$", "-test.count=1")
	cmd.Env = append(os.Environ(), probeKillEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if st, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !st.Signaled() || st.Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed during the probe: %v\n%s", err, out)
	}
	left := files(t, dir)
	if len(left) != 1 {
		t.Fatalf("after the kill %q are left, want the probe's file", left)
	}
	l, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.CleanTemps(context.Background(), "d/e", "job1-7"); err != nil {
		t.Fatal(err)
	}
	if left := files(t, dir); len(left) != 0 {
		t.Errorf("CleanTemps of the task's directory and tag left %q", left)
	}
}

// files returns the paths of the files below dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
