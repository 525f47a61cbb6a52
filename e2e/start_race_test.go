package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// masterPids returns the pids of the `ferry master` daemons of h's home
// still running, read from /proc.
func masterPids(t *testing.T, h *home) []int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var out []int
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(bytes.TrimRight(b, "\x00")), "\x00")
		if len(args) == 0 || args[0] != ferryBin {
			continue
		}
		home, master := false, false
		for i, a := range args {
			home = home || (a == "--home" && i+1 < len(args) && args[i+1] == h.dir)
			master = master || a == "master"
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if home && master && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// TestStartRace: two `start`s at the same moment. Exactly one says
// "master started" (it waited for its daemon to hold the workdir), the
// other that the master is already running, both exit 0; `stop` then
// stops the one master, and no master daemon of this home is left.
func TestStartRace(t *testing.T) {
	t.Parallel()
	h := newHome(t, "start-race")
	for round := 1; round <= 3; round++ {
		var wg sync.WaitGroup
		rs := make([]result, 2)
		for i := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				rs[i] = h.ferryCtx(ctx, "start")
			}()
		}
		wg.Wait()
		started := 0
		for _, r := range rs {
			if m := regexp.MustCompile(`\(pid (\d+)\)`).FindStringSubmatch(r.stdout); m != nil {
				pid, _ := strconv.Atoi(m[1])
				h.pids = append(h.pids, pid)
			}
			switch {
			case r.code != 0:
				t.Errorf("round %d: want exit 0 from both starts:\n%s", round, r)
			case strings.Contains(r.stdout, "master started"):
				started++
			case !strings.Contains(r.stdout, "already running"):
				t.Errorf("round %d: a start said neither \"master started\" nor \"already running\":\n%s", round, r)
			}
		}
		if started != 1 {
			t.Errorf("round %d: %d starts said \"master started\", want exactly 1:\n%s\n%s", round, started, rs[0], rs[1])
		}
		if pids := masterPids(t, h); len(pids) != 1 {
			t.Errorf("round %d: %d master daemons run (%v), want 1", round, len(pids), pids)
		}
		if out := h.must(60*time.Second, "stop"); !strings.Contains(out, "master stopped") {
			t.Errorf("round %d: stop printed %q", round, out)
		}
		for _, pid := range h.pids {
			if alive(pid) {
				t.Errorf("round %d: master pid %d (printed by start) still runs after stop", round, pid)
			}
		}
		if pids := masterPids(t, h); len(pids) != 0 {
			t.Fatalf("round %d: master daemons %v still run after stop", round, pids)
		}
	}
}
