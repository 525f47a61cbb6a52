package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A master database that is gone (deleted or emptied) while the jobs' audit
// directories remain stops every command with exit status 3 and one line
// naming the file, the job and what to do: never a fresh start that copies
// everything again beside the old audit logs. --fresh-state starts afresh
// on purpose. A damaged database is one line and exit status 3 too, not a
// panic.
func TestLostOrDamagedState(t *testing.T) {
	t.Parallel()
	h := newHome(t, "state")
	genSmallTree(t, h.src, 40, 3)
	if r := h.ferry(time.Minute, "run", h.jobFile); r.code != 0 {
		t.Fatalf("first run:\n%s", r)
	}
	db := filepath.Join(h.workdir, "master", "ferry.db")
	good, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	refused := func(want []string, args ...string) {
		t.Helper()
		r := h.ferry(time.Minute, args...)
		msg := strings.TrimSpace(r.stderr)
		ok := r.code == 3 && !strings.Contains(msg, "\n") && !strings.Contains(msg, "goroutine")
		for _, w := range append(want, db) {
			ok = ok && strings.Contains(msg, w)
		}
		if !ok {
			t.Fatalf("%s: want exit 3 and one line saying %q:\n%s", strings.Join(args, " "), want, r)
		}
	}
	lost := []string{"(state)", "--fresh-state"}
	os.WriteFile(db, nil, 0o600)
	refused(append(lost, "is empty"), "stat")
	refused(append(lost, "is empty"), "run", h.jobFile)
	os.Remove(db)
	refused(append(lost, "is missing"), "stat")
	refused(append(lost, "is missing"), "run", h.jobFile)
	if _, err := os.Stat(db); err == nil {
		t.Fatal("a refused command made a new database")
	}

	damaged := append([]byte(nil), good...)
	// Every page past the two meta pages: which pages hold the live tree
	// and freelist depends on the run's transactions, so damaging only a
	// few fixed ones could leave the database whole.
	for i := 8192; i < len(damaged); i++ {
		damaged[i] = byte(i*7 + 3)
	}
	os.WriteFile(db, damaged, 0o600)
	refused([]string{"damaged", "backup"}, "stat")

	os.Remove(db)
	if r := h.ferry(time.Minute, "--fresh-state", "run", h.jobFile); r.code != 0 || !strings.Contains(r.stdout, "40 copied") {
		t.Fatalf("--fresh-state run: want exit 0 and the job run again:\n%s", r)
	}
	if r := h.ferry(time.Minute, "stat"); r.code != 0 {
		t.Fatalf("stat after --fresh-state:\n%s", r)
	}
}
