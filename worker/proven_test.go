package worker_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"ferry/store"
	"ferry/store/local"
	"ferry/task"
	"ferry/worker"
)

// tagged is a real local destination that compares more than content, as
// ZooKeeper's does (store.Differ over a "tag" in Meta): its Puts return the
// local store's Confirmed entry with Meta {"tag": landed}, and its Stats
// (the after-import look) are counted.
type tagged struct {
	*local.Local
	landed string
	stats  atomic.Int32
}

func (d *tagged) Features() store.Features {
	f := store.FeaturesOf(d.Local)
	f.OpenStat = nil
	f.Differs = d.Differs
	return f
}

func (d *tagged) Differs(s, e store.Entry) string {
	if s.Meta["tag"] != e.Meta["tag"] {
		return "tag " + s.Meta["tag"] + " at the source, " + e.Meta["tag"] + " at the destination"
	}
	return ""
}

func (d *tagged) Put(ctx context.Context, key string, r io.Reader, e store.Entry, o store.PutOptions) (store.Entry, error) {
	got, err := d.Local.Put(ctx, key, r, e, o)
	if err == nil {
		got.Meta = map[string]string{"tag": d.landed}
	}
	return got, err
}

func (d *tagged) Stat(ctx context.Context, key string) (store.Entry, error) {
	d.stats.Add(1)
	return d.Local.Stat(ctx, key)
}

// TestAuditAfterImportOnDiffers: on a destination whose Differs compares
// more than content, isAuditAfterImport looks at no key whose Confirmed
// Put said it holds what Differs compares as the source has it; it looks
// at every key whose Put said otherwise.
func TestAuditAfterImportOnDiffers(t *testing.T) {
	for _, c := range []struct {
		landed string
		looks  int32
	}{{"", 0}, {"other", 3}} {
		dir := t.TempDir()
		src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
		os.MkdirAll(src, 0o755)
		os.MkdirAll(dst, 0o755)
		for _, name := range []string{"a", "b", "c"} {
			if err := os.WriteFile(filepath.Join(src, name), []byte("data of "+name), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		spec := localSpec("j", src, dst)
		spec.AuditAfterImport = true
		cl := newCluster(t, dir)
		cl.submit(spec)
		l, err := local.New(dst, local.Options{})
		if err != nil {
			t.Fatal(err)
		}
		d := &tagged{Local: l, landed: c.landed}
		st := cl.work("j", worker.Config{Threads: 2,
			OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) },
			OpenDest:   func(task.Spec) (store.Store, error) { return d, nil }})
		if st.Counters.FilesDone != 3 {
			t.Errorf("landed tag %q: %+v; want 3 files done", c.landed, st.Counters)
		}
		if n := d.stats.Load(); n != c.looks {
			t.Errorf("landed tag %q: %d looks at the destination, want %d", c.landed, n, c.looks)
		}
	}
}
