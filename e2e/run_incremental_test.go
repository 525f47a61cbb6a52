package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// TestRunIncremental: `run` of an incremental job goes on round after round
// and says so: one line up front, one line per finished round with what
// that round did (a file added between rounds is the only one the next
// round copies), and Ctrl-C ends it with the resume hint.
func TestRunIncremental(t *testing.T) {
	t.Parallel()
	h := newHome(t, "run-inc")
	h.writeSys(kv{"incrementalMinInterval", "1"})
	mt := time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, k := range []string{"a.txt", "b.txt", "d/c.txt"} {
		ctlWriteAt(t, filepath.Join(h.src, k), ctlBody(100, k), mt)
	}
	h.writeJob(h.jobFile, kv{"isIncremental", "true"}, kv{"incrementalModeInterval", "1"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := h.command(ctx, "run", h.jobFile)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); pw.Close() }()
	round := regexp.MustCompile(`^round (\d+) done: (\d+) files copied, (\d+) skipped, (\d+) failed, (\d+) unchanged; next round at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)
	var out []string
	want := map[string][]string{ // round -> copied, skipped, failed, unchanged
		"1": {"3", "0", "0", "0"},
		"2": {"1", "0", "0", "3"},
	}
	sc := bufio.NewScanner(pr)
	intro := false
	for sc.Scan() {
		l := sc.Text()
		out = append(out, l)
		if l == "job run-inc is incremental: after each round it rescans every 1s, until Ctrl-C (run the same command again to go on)" {
			intro = true
		}
		m := round.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if w, ok := want[m[1]]; ok && (m[2] != w[0] || m[3] != w[1] || m[4] != w[2] || m[5] != w[3]) {
			t.Errorf("%q: want round %s to copy %s, skip %s, fail %s, find %s unchanged", l, m[1], w[0], w[1], w[2], w[3])
		}
		if m[1] == "1" {
			ctlWriteAt(t, filepath.Join(h.src, "new.txt"), ctlBody(50, "new"), time.Now())
		}
		if m[1] == "2" {
			cmd.Process.Signal(syscall.SIGINT)
		}
	}
	if !intro {
		t.Errorf("no line saying the job is incremental; run said:\n%q", out)
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 || len(out) == 0 || out[len(out)-1] != "interrupted: job run-inc stops here; run the same command again to resume it" {
		t.Fatalf("after Ctrl-C: exit %d, output %q; want exit 1 and the resume hint last", code, out)
	}
	if _, err := os.Stat(filepath.Join(h.dst, "new.txt")); err != nil {
		t.Errorf("the file added between rounds was not copied: %v", err)
	}
}
