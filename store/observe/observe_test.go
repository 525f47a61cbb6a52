package observe_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"ferry/store"
	"ferry/store/local"
	"ferry/store/observe"
	"ferry/store/storetest"
	"ferry/task"
)

// A wrapped store is still a store: the conformance suite passes through it.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := local.New(t.TempDir(), local.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return observe.Wrap(s, "local", observe.New())
	})
}

func find(ws task.WorkerStats, op, class string) *task.StoreOps {
	for i, o := range ws.StoreOps {
		if o.Op == op && o.Class == class {
			return &ws.StoreOps[i]
		}
	}
	return nil
}

func TestCountsAndClasses(t *testing.T) {
	s, err := local.New(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := observe.New()
	w := observe.Wrap(s, "local", st)
	ctx := context.Background()
	for i := range 3 {
		storetest.Put(t, w, fmt.Sprintf("k%d", i), "hello")
	}
	if _, err := w.Stat(ctx, "k0"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Stat(ctx, "missing"); !errors.Is(err, store.ErrNotExist) {
		t.Fatal(err)
	}
	if _, err := w.Stat(ctx, "../escape"); err == nil {
		t.Fatal("stat of ../escape succeeded")
	}
	if f := store.FeaturesOf(w); f.Sync != nil {
		if err := f.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	st.AddRetries(2)
	ws := st.Snapshot()
	if ws.Retries != 2 {
		t.Errorf("retries %d, want 2", ws.Retries)
	}
	for _, c := range []struct {
		op, class string
		n         uint64
	}{{"put", "ok", 3}, {"stat", "ok", 1}, {"stat", "not_found", 1}, {"stat", "invalid", 1}, {"sync", "ok", 1}} {
		o := find(ws, c.op, c.class)
		if o == nil || o.Count != c.n || o.Store != "local" {
			t.Errorf("%s %s: %+v, want count %d", c.op, c.class, o, c.n)
			continue
		}
		if len(o.Buckets) != len(task.LatencyBounds) || o.Buckets[len(o.Buckets)-1] > o.Count || o.Seconds <= 0 {
			t.Errorf("%s %s: buckets %v of %d, %gs", c.op, c.class, o.Buckets, o.Count, o.Seconds)
		}
		for i := 1; i < len(o.Buckets); i++ {
			if o.Buckets[i] < o.Buckets[i-1] {
				t.Errorf("%s %s: buckets not cumulative: %v", c.op, c.class, o.Buckets)
			}
		}
	}
	for _, o := range ws.StoreOps {
		if strings.Contains(o.Op+o.Class+o.Store, "k0") {
			t.Errorf("a key in a label: %+v", o)
		}
	}
}

func TestClass(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, observe.ClassOK},
		{fmt.Errorf("x: %w", store.ErrNotExist), observe.ClassNotFound},
		{store.Permanent(fmt.Errorf("x: %w", store.ErrPermission)), observe.ClassDenied},
		{store.Transient(errors.New("503 SlowDown")), observe.ClassTransient},
		{fmt.Errorf("op: %w", context.Canceled), observe.ClassCanceled},
		{errors.New("disk on fire"), observe.ClassError},
	} {
		if got := observe.Class(c.err); got != c.want {
			t.Errorf("Class(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	if task.BucketOf(time.Millisecond) != 1 || task.BucketOf(time.Hour) != len(task.LatencyBounds) {
		t.Error("BucketOf")
	}
}
