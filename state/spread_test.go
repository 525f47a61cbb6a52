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
