package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ferry/master"
	"ferry/state"
	"ferry/store"
)

// Where the master's state lives in a benchmark: the test's temporary
// directory (TMPDIR, usually a disk: bbolt's fsyncs cost what they cost
// in production) or /dev/shm (tmpfs: what the master's own code costs).
type location struct {
	name string
	dir  func(testing.TB) string
}

var locations = []location{
	{"tmpdir", func(tb testing.TB) string { return tb.TempDir() }},
	{"shm", func(tb testing.TB) string {
		if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
			tb.Skip("no /dev/shm")
		}
		d, err := os.MkdirTemp("/dev/shm", "ferry-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(d) })
		return d
	}},
}

// synthetic is a source store that lists n files ("k%09d", 4 KiB each)
// without touching a disk, so a benchmark measures the master alone.
type synthetic struct{ n int }

var _ store.Store = synthetic{}

var errSynthetic = errors.New("synthetic store: listing only")

func synthKey(i int) string { return fmt.Sprintf("k%09d", i) }

func (s synthetic) List(ctx context.Context, prefix, startAfter string, fn func(store.Entry) error) error {
	mt := time.Unix(1700000000, 0)
	for i := range s.n {
		k := synthKey(i)
		if k <= startAfter {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(store.Entry{Key: k, Size: 4096, MTime: mt}); err != nil {
			return err
		}
	}
	return nil
}

func (synthetic) Stat(context.Context, string) (store.Entry, error) {
	return store.Entry{}, errSynthetic
}
func (synthetic) Open(context.Context, string, int64, int64) (io.ReadCloser, error) {
	return nil, errSynthetic
}
func (synthetic) Put(context.Context, string, io.Reader, store.Entry, store.PutOptions) (store.Entry, error) {
	return store.Entry{}, errSynthetic
}

// waitScan polls until job's scan has stored its last task.
func waitScan(tb testing.TB, m *master.Master, job string, timeout time.Duration) *state.Job {
	tb.Helper()
	end := time.Now().Add(timeout)
	for {
		j, err := m.DB().Job(job)
		if err != nil {
			tb.Fatal(err)
		}
		if j.Error != "" {
			tb.Fatalf("job %s: %s", job, j.Error)
		}
		if j.ScanFinished {
			return j
		}
		if time.Now().After(end) {
			tb.Fatalf("job %s: scan not finished after %s (%d files so far)", job, timeout, j.Counters.FilesTotal)
		}
		time.Sleep(time.Millisecond)
	}
}

// mustMkdir makes dir and its parents.
func mustMkdir(tb testing.TB, dir string) string {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	return filepath.Clean(dir)
}
