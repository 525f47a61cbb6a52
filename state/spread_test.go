package state

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"ferry/store"
	"ferry/task"
)

// A continuous stream job's partitions are spread over the workers alive:
// each takes its share, however many it asks for; a job that ends (once)
// is not capped; with one worker it takes them all.
func TestContinuousTasksSpread(t *testing.T) {
	d, err := OpenDB(filepath.Join(t.TempDir(), "ferry.db"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	alive := 2
	d.SetWorkers(func() int { return alive })
	add := func(name string, continuous bool, n int) {
		t.Helper()
		if err := d.CreateJob(task.Spec{Name: name, Stream: &task.Stream{Topics: []string{"t"}, Continuous: continuous}}); err != nil {
			t.Fatal(err)
		}
		var es []store.Entry
		for p := range n {
			es = append(es, store.Entry{Key: fmt.Sprintf("t/%d", p)})
		}
		// One entry a task, as the stream planner adds them.
		for i := range es {
			if err := d.AddTask(name, es[i:i+1], i == len(es)-1); err != nil {
				t.Fatal(err)
			}
		}
	}
	add("mirror", true, 7)
	lease := func(w string) int {
		t.Helper()
		ls, err := d.LeaseTasks(w, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		return len(ls)
	}
	if a, a2, b := lease("w1"), lease("w1"), lease("w2"); a != 4 || a2 != 0 || b != 3 {
		t.Fatalf("7 partitions, 2 workers: w1 took %d then %d, w2 %d; want 4, 0, 3", a, a2, b)
	}

	add("once", false, 5)
	if n := lease("w1"); n != 5 {
		t.Errorf("a job that ends: w1 took %d of 5", n)
	}

	alive = 1
	add("solo", true, 6)
	if n := lease("w3"); n != 6 {
		t.Errorf("one worker alive: it took %d of 6", n)
	}
}

// TestRebalanceOnJoin: one worker alive took all 9 partitions of a
// continuous job; a second joins: Rebalance gives back the 4 beyond the
// first's share (5), whose leases end, and the second leases them; a
// third joining takes 1 from each of the two with more than its share
// (3); nothing moves once the shares are even, nor for a job that ends.
func TestRebalanceOnJoin(t *testing.T) {
	d, err := OpenDB(filepath.Join(t.TempDir(), "ferry.db"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	alive := 1
	d.SetWorkers(func() int { return alive })
	for _, job := range []struct {
		name       string
		continuous bool
	}{{"tail", true}, {"once", false}} {
		if err := d.CreateJob(task.Spec{Name: job.name, Stream: &task.Stream{Topics: []string{"t"}, Continuous: job.continuous}}); err != nil {
			t.Fatal(err)
		}
		for p := range 9 {
			if err := d.AddTask(job.name, []store.Entry{{Key: fmt.Sprintf("t/%d", p)}}, p == 8); err != nil {
				t.Fatal(err)
			}
		}
	}
	held := func(w string) map[string]int {
		t.Helper()
		ls, err := d.LeaseTasks(w, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, l := range ls {
			n[l.Job]++
		}
		return n
	}
	rebalance := func(w string) []task.LeaseRef {
		t.Helper()
		refs, err := d.Rebalance(w)
		if err != nil {
			t.Fatal(err)
		}
		return refs
	}
	if n := held("w1"); n["tail"] != 9 || n["once"] != 9 {
		t.Fatalf("w1 alone took %v, want 9 of each", n)
	}
	alive = 2
	refs := rebalance("w2")
	if len(refs) != 4 {
		t.Fatalf("w2 joined: %d leases ended, want 4", len(refs))
	}
	cur := d.Current(refs)
	for _, r := range refs {
		if r.Job != "tail" || cur[r] {
			t.Errorf("lease %+v: still current or not of the continuous job", r)
		}
	}
	if n := held("w2"); n["tail"] != 4 || n["once"] != 0 {
		t.Fatalf("w2 then leased %v, want 4 of tail", n)
	}
	if refs := rebalance("w2"); len(refs) != 0 {
		t.Fatalf("shares 5 and 4: %d more leases ended", len(refs))
	}
	alive = 3
	if refs := rebalance("w3"); len(refs) != 3 {
		t.Fatalf("w3 joined: %d leases ended, want 3 (2 of w1's 5, 1 of w2's 4)", len(refs))
	}
	if n := held("w3"); n["tail"] != 3 {
		t.Fatalf("w3 leased %v, want 3 of tail", n)
	}
	if refs := rebalance("w1"); len(refs) != 0 {
		t.Fatalf("shares 3, 3, 3: %d leases ended", len(refs))
	}
}
