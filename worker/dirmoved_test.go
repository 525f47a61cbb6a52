package worker_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"ferry/store"
	"ferry/store/local"
	"ferry/task"
	"ferry/worker"
)

// movingDest is a real local destination whose directory a/ is renamed
// away, and made again empty, right after the first file lands in it: a
// user reorganising the destination while the task runs.
type movingDest struct {
	*local.Local
	root  string
	moved atomic.Bool
}

func (d *movingDest) Features() store.Features { return store.FeaturesOf(d.Local) }

func (d *movingDest) Put(ctx context.Context, key string, r io.Reader, e store.Entry, o store.PutOptions) (store.Entry, error) {
	got, err := d.Local.Put(ctx, key, r, e, o)
	if err == nil && strings.HasPrefix(key, "a/") && d.moved.CompareAndSwap(false, true) {
		if err := os.Rename(filepath.Join(d.root, "a"), filepath.Join(d.root, "a-moved")); err != nil {
			return got, err
		}
		if err := os.Mkdir(filepath.Join(d.root, "a"), 0o755); err != nil {
			return got, err
		}
	}
	return got, err
}

// TestDestinationDirMovedDuringTask: the local destination keeps a task's
// directories open from file to file, so a directory renamed away during
// the task gets the task's later files. The task must fail rather than
// report them copied, and its retry must put every file at its key.
func TestDestinationDirMovedDuringTask(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	keys := []string{"a/1", "a/2", "a/3", "a/4"}
	for _, k := range keys {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, k)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, k), []byte("content of "+k), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := newCluster(t, dir)
	c.submit(localSpec("j", src, dst))
	var dest *movingDest
	cfg := worker.Config{Threads: 1,
		OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) },
		OpenDest: func(s task.Spec) (store.Store, error) {
			l, err := local.New(s.Dest.Prefix, local.Options{Create: true})
			if err != nil {
				return nil, err
			}
			if dest == nil {
				dest = &movingDest{Local: l, root: s.Dest.Prefix}
			}
			dest.Local = l
			return dest, nil
		}}
	st := c.work("j", cfg)
	if !dest.moved.Load() {
		t.Fatal("a/ was never moved: the test shows nothing")
	}
	if st.Counters.FilesFailed != int64(len(keys)) {
		t.Errorf("after a/ moved: %d files failed; want all %d of the task", st.Counters.FilesFailed, len(keys))
	}
	if log := c.attemptFiles("j", "failed_tasks", "audit.log"); !strings.Contains(log, "was renamed, moved or removed while this task put files in it") {
		t.Errorf("the failed task's audit log does not say why:\n%s", log)
	}
	if _, _, err := c.m.Retry(c.ctx, "j"); err != nil {
		t.Fatal(err)
	}
	st = c.work("j", cfg)
	if st.Counters.FilesFailed != 0 {
		t.Errorf("after the retry: %d files failed; want 0", st.Counters.FilesFailed)
	}
	for _, k := range keys {
		if b, err := os.ReadFile(filepath.Join(dst, k)); err != nil || string(b) != "content of "+k {
			t.Errorf("%s after the retry: %q, %v", k, b, err)
		}
	}
}
