package master_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"ferry/conf"
	"ferry/master"
	"ferry/state"
	"ferry/store"
	"ferry/store/local"
	"ferry/store/storetest"
	"ferry/task"
)

// A master restarted mid-scan resumes after the last key it stored, even
// when that key is not UTF-8: nothing listed twice, nothing skipped.
func TestScanResumesAfterNonUTF8Key(t *testing.T) {
	keys := []string{"a\x80", "a\xc3\xa9", "a\xff", "b"} // byte order
	files := make(map[string]string)
	for _, k := range keys {
		files[k] = "x"
	}
	src := storetest.Tree(t, files)
	dir := t.TempDir()
	cfg := master.Config{Dir: dir, LeaseDur: time.Minute,
		OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) }}

	// The first run stored one task, then died.
	m, err := master.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.DB().CreateJob(oneEntryTasks(src)); err != nil {
		t.Fatal(err)
	}
	if err := m.DB().AddTask("j", []store.Entry{{Key: keys[0], Size: 1}}, false); err != nil {
		t.Fatal(err)
	}
	m.Close()

	m, err = master.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if j, err := m.DB().Job("j"); err != nil || j.ScanAfter != keys[0] {
		t.Fatalf("checkpoint after a restart: %q, %v; want %q", j.ScanAfter, err, keys[0])
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		j, err := m.DB().Job("j")
		if err != nil {
			t.Fatal(err)
		}
		if j.ScanFinished {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("scan did not finish: %+v", j)
		}
	}
	var got []string
	err = m.DB().Tasks("j", state.Pending, func(task *state.Task) error {
		es, err := m.DB().Manifest("j", task.ID)
		for _, e := range es {
			got = append(got, e.Key)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, keys) {
		t.Fatalf("tasks hold %q, want each of %q once", got, keys)
	}
}

// slowList is a source whose listing hangs until cancelled and then takes
// a while to return, as a remote listing with a request in flight does.
type slowList struct{ store.Store }

func (s slowList) List(ctx context.Context, prefix, after string, fn func(store.Entry) error) error {
	<-ctx.Done()
	time.Sleep(300 * time.Millisecond)
	return ctx.Err()
}

// A job cleaned by force while its scan runs, and submitted again at once
// under the same name, is scanned from its own source.
func TestCleanForceThenResubmit(t *testing.T) {
	src := storetest.Tree(t, map[string]string{"a": "1", "b": "2"})
	dir := t.TempDir()
	m, err := master.Open(master.Config{Dir: dir, LeaseDur: time.Minute,
		OpenSource: func(s task.Spec) (store.Store, error) {
			l, err := local.New(s.Src.Prefix, local.Options{})
			if s.Dest.Prefix == "/slow" {
				return slowList{l}, err
			}
			return l, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	if err := m.Submit(ctx, localSpec("j", src, "/slow")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the scan is listing
	if err := m.Clean(ctx, "j", true); err != nil {
		t.Fatal(err)
	}
	if err := m.Submit(ctx, localSpec("j", src, t.TempDir())); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		j, err := m.DB().Job("j")
		if err != nil {
			t.Fatal(err)
		}
		if j.ScanFinished {
			if j.Counters.FilesTotal != 2 {
				t.Fatalf("resubmitted job: %+v", j.Counters)
			}
			return
		}
		if time.Now().After(end) {
			t.Fatalf("the resubmitted job was never scanned: %s, %+v", j.State, j.Counters)
		}
	}
}

// TestScanTaskSizes: a scan's first tasks are small and double up to the
// job's count limit, so workers start at once; the entries left when the
// listing ends are split in halves down to the first task's size, so that
// the job does not end waiting on one big task's completion. Every key is
// in exactly one task, in order.
func TestScanTaskSizes(t *testing.T) {
	for _, c := range []struct {
		files, limit int
		sizes        []int
	}{
		{2000, 10000, []int{100, 200, 400, 800, 250, 125, 125}},
		{2000, 300, []int{100, 200, 300, 300, 300, 300, 300, 200}},
		{2350, 300, []int{100, 200, 300, 300, 300, 300, 300, 300, 125, 125}},
		{150, 10000, []int{100, 50}},
		{60, 10000, []int{60}},
	} {
		files := make(map[string]string, c.files)
		var want []string
		for i := range c.files {
			k := fmt.Sprintf("d%02d/f%05d", i%17, i)
			files[k] = "x"
			want = append(want, k)
		}
		slices.Sort(want)
		src := storetest.Tree(t, files)
		m, err := master.Open(master.Config{Dir: t.TempDir(), LeaseDur: time.Minute,
			OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { m.Run(ctx); close(done) }()
		spec := localSpec("j", src, t.TempDir())
		spec.CountLimit = c.limit
		if err := m.Submit(ctx, spec); err != nil {
			t.Fatal(err)
		}
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if j, err := m.DB().Job("j"); err != nil || j.ScanFinished {
				break
			}
			if time.Now().After(end) {
				t.Fatal("scan did not finish")
			}
		}
		var sizes []int
		var got []string
		err = m.DB().Tasks("j", state.Pending, func(task *state.Task) error {
			es, err := m.DB().Manifest("j", task.ID)
			sizes = append(sizes, len(es))
			for _, e := range es {
				got = append(got, e.Key)
			}
			return err
		})
		cancel()
		<-done
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sizes, c.sizes) {
			t.Errorf("%d files, limit %d: task sizes %v, want %v", c.files, c.limit, sizes, c.sizes)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d files, limit %d: the tasks do not hold each key once, in order", c.files, c.limit)
		}
	}
}

// localSpec is a job with conf's defaults, from the directory src to dst.
func localSpec(name, src, dst string) task.Spec {
	s := conf.DefaultSpec(name)
	s.Src, s.Dest = task.Endpoint{Type: "local", Prefix: src}, task.Endpoint{Type: "local", Prefix: dst}
	return s
}

// oneEntryTasks is a job from src whose tasks hold one entry each.
func oneEntryTasks(src string) task.Spec {
	s := localSpec("j", src, "")
	s.CountLimit = 1
	return s
}
