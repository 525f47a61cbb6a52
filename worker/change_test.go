package worker_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/conf"
	"ferry/store"
	"ferry/store/local"
	"ferry/task"
	"ferry/worker"
)

// rewriting is a real local source whose opens of one key rewrite that
// file, on disk, before their first read: a writer racing the copy.
type rewriting struct {
	*local.Local
	root, key string
	rewrites  atomic.Int32
}

// Features are the local store's, with OpenStat intercepted.
func (s *rewriting) Features() store.Features {
	f := store.FeaturesOf(s.Local)
	f.OpenStat = s.OpenStat
	return f
}

func (s *rewriting) OpenStat(ctx context.Context, key string) (store.Opened, store.Entry, error) {
	o, e, err := s.Local.OpenStat(ctx, key)
	return s.wrap(key, o), e, err
}

func (s *rewriting) wrap(key string, o store.Opened) store.Opened {
	if o == nil || key != s.key {
		return o
	}
	return &rewriteOnRead{Opened: o, s: s}
}

type rewriteOnRead struct {
	store.Opened
	s    *rewriting
	done bool
}

func (r *rewriteOnRead) Read(p []byte) (int, error) {
	if !r.done {
		r.done = true
		n := r.s.rewrites.Add(1)
		path := filepath.Join(r.s.root, r.s.key)
		if err := os.WriteFile(path, bytes.Repeat([]byte{'0' + byte(n)}, 700), 0o644); err != nil {
			return 0, err
		}
		// An mtime of its own, whatever the clock's granularity.
		mt := time.Date(2020, 1, 1, 0, 0, int(n), 0, time.UTC)
		if err := os.Chtimes(path, mt, mt); err != nil {
			return 0, err
		}
	}
	return r.Opened.Read(p)
}

// TestSourceChangesAroundTheCopy runs a real master and worker over a local
// tree in which one file is rewritten after the scan listed it (it must be
// copied, as it is now) and one is rewritten by every open while it is read
// (it must fail SOURCE_CHANGED, and what the destination held before must
// stay: nothing is published from a source that moved). An untouched file
// keeps its mode.
func TestSourceChangesAroundTheCopy(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	write := func(path string, data string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	write(filepath.Join(src, "a/same"), "unchanged", 0o640)
	write(filepath.Join(src, "a/later"), "as listed", 0o644)
	write(filepath.Join(src, "b/during"), "as listed too", 0o644)
	write(filepath.Join(dst, "b/during"), "the destination's old copy", 0o644)

	spec := localSpec("j", src, dst)
	spec.AuditAfterImport = true
	c := newCluster(t, dir)
	c.submit(spec)
	// Listed; now changed before any worker opens it.
	write(filepath.Join(src, "a/later"), "rewritten after the scan, longer", 0o600)
	if err := os.Chtimes(filepath.Join(src, "a/later"), time.Unix(1e9, 0), time.Unix(1e9, 0)); err != nil {
		t.Fatal(err)
	}

	source, err := local.New(src, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs := &rewriting{Local: source, root: src, key: "b/during"}
	counters := c.work("j", worker.Config{Threads: 2,
		OpenSource: func(task.Spec) (store.Store, error) { return rs, nil },
		OpenDest:   func(s task.Spec) (store.Store, error) { return local.New(s.Dest.Prefix, local.Options{}) }}).Counters
	if counters.FilesDone != 2 || counters.FilesFailed != 1 {
		t.Errorf("files done %d, failed %d; want 2 and 1", counters.FilesDone, counters.FilesFailed)
	}
	for key, want := range map[string]string{
		"a/same":   "unchanged",
		"a/later":  "rewritten after the scan, longer",
		"b/during": "the destination's old copy",
	} {
		got, err := os.ReadFile(filepath.Join(dst, key))
		if err != nil || string(got) != want {
			t.Errorf("destination %s = %q, %v; want %q", key, got, err, want)
		}
	}
	for key, want := range map[string]os.FileMode{"a/same": 0o640, "a/later": 0o600} {
		if fi, err := os.Stat(filepath.Join(dst, key)); err != nil || fi.Mode().Perm() != want {
			t.Errorf("destination %s mode %v, %v; want %v", key, fi.Mode().Perm(), err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(dst, "a/later")); err != nil || !fi.ModTime().Equal(time.Unix(1e9, 0)) {
		t.Errorf("destination a/later mtime %v, %v; want the source's at copy time", fi.ModTime(), err)
	}
	if n := rs.rewrites.Load(); n != 1 {
		t.Errorf("b/during was opened and read %d times; want 1", n)
	}
	log := c.attemptFiles("j", "failed_tasks", "audit.log")
	if !strings.Contains(log, "\tFAIL\t") || !strings.Contains(log, "b/during\tSOURCE_CHANGED") {
		t.Errorf("audit logs do not fail b/during with SOURCE_CHANGED:\n%s", log)
	}
}

// localSpec is a job with conf's defaults, from the directory src to dst.
func localSpec(name, src, dst string) task.Spec {
	s := conf.DefaultSpec(name)
	s.Src, s.Dest = task.Endpoint{Type: "local", Prefix: src}, task.Endpoint{Type: "local", Prefix: dst}
	return s
}
