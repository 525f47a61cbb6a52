package master_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"ferry/master"
	"ferry/store"
	"ferry/store/local"
	"ferry/store/storetest"
	"ferry/task"
)

// TestPartTasksWakeWaitingWorkers: a worker waiting in Lease while a
// split file's prepare task runs elsewhere gets its range as soon as the
// prepare succeeds, and one waiting while the range runs gets the final
// task as soon as the range succeeds, not when its wait (10 s here) runs
// out.
func TestPartTasksWakeWaitingWorkers(t *testing.T) {
	src := storetest.Tree(t, map[string]string{"big": strings.Repeat("x", 100)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m, err := master.Open(master.Config{Dir: t.TempDir(), LeaseDur: time.Minute,
		OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	go m.Run(ctx)
	spec := localSpec("j", src, t.TempDir())
	spec.SplitThreshold = 50 // one range: a prepare, a range, a final task
	if err := m.Submit(ctx, spec); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"a", "b", "c"} {
		if err := m.Register(ctx, w, "host", 1); err != nil {
			t.Fatal(err)
		}
	}
	// woken has waiter wait in Lease while holder completes held, and
	// returns what waiter got, failing unless it came at once.
	woken := func(waiter, holder string, held task.Lease, what string) task.Lease {
		t.Helper()
		got := make(chan []task.Lease, 1)
		began := time.Now()
		go func() {
			ls, _ := m.Lease(ctx, waiter, 1, 10*time.Second)
			got <- ls
		}()
		time.Sleep(200 * time.Millisecond) // waiter is waiting
		if _, err := m.Complete(ctx, holder, held.Ref(), nil, time.Now()); err != nil {
			t.Fatalf("complete the %s: %v", what, err)
		}
		ls := <-got
		if len(ls) != 1 || ls[0].Part == nil {
			t.Fatalf("after the %s succeeded, %s's waiting lease got %+v after %s", what, waiter, ls, time.Since(began).Round(time.Millisecond))
		}
		if d := time.Since(began); d > 2*time.Second {
			t.Errorf("after the %s succeeded, %s's waiting lease came after %s: it was not woken", what, waiter, d.Round(time.Millisecond))
		}
		return ls[0]
	}
	ls, err := m.Lease(ctx, "a", 1, 10*time.Second)
	if err != nil || len(ls) != 1 || ls[0].Part == nil || !ls[0].Part.IsPrepare() {
		t.Fatalf("first lease: %+v, %v; want the prepare task", ls, err)
	}
	r := woken("b", "a", ls[0], "prepare task")
	if !r.Part.IsRange() {
		t.Fatalf("after the prepare task, b got %+v, want the range", r.Part)
	}
	if f := woken("c", "b", r, "range task"); !f.Part.IsFinal() {
		t.Fatalf("after the range, c got %+v, want the final task", f.Part)
	}
}
