package master_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/master"
	"ferry/store"
	"ferry/store/local"
	"ferry/store/storetest"
	"ferry/task"
	"ferry/tracker"
)

// The scan writes each key the filters exclude to the job's excluded.log,
// with its size, reason and mtime, and a pass from the first key writes it
// anew: what an earlier pass left is gone.
func TestScanExcludedLog(t *testing.T) {
	src := storetest.Tree(t, map[string]string{"a.txt": "a", "b.tmp": "bb", "d/c.tmp": "ccc", "d/e.txt": "e"})
	dir := t.TempDir()
	logPath := filepath.Join(dir, "jobs", "j", tracker.ExcludedLog)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath, []byte("2025-01-01T00:00:00Z\tEXCLUDE\t1\told.tmp\tan earlier pass\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := master.Open(master.Config{Dir: dir, LeaseDur: time.Minute,
		OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	spec := localSpec("j", src, t.TempDir())
	spec.Filter.Exclude = []string{"*.tmp", "**/*.tmp"}
	if err := m.Submit(ctx, spec); err != nil {
		t.Fatal(err)
	}
	var j *master.JobStat
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		st, err := m.Stat(ctx, "j")
		if err != nil {
			t.Fatal(err)
		}
		if st[0].ScanFinished {
			j = &st[0]
			break
		}
		if time.Now().After(end) {
			t.Fatal("scan did not finish")
		}
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		e, err := tracker.ParseKeyEvent(line)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(src, e.Key))
		if err != nil || e.Action != tracker.ActionExclude || e.Size != fi.Size() || !e.MTime.Equal(fi.ModTime()) ||
			!strings.Contains(e.Reason, "*.tmp") || time.Since(e.Time) > time.Minute {
			t.Errorf("excluded.log line %q: %+v; want EXCLUDE with the file's size and mtime and the pattern as reason (%v)", line, e, err)
		}
		keys = append(keys, e.Key)
	}
	if want := []string{"b.tmp", "d/c.tmp"}; !slices.Equal(keys, want) || j.Counters.FilesExcluded != 2 {
		t.Errorf("excluded.log holds %q, stat counts %d excluded; want %q and 2", keys, j.Counters.FilesExcluded, want)
	}
}
