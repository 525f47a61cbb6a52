package tracker

import (
	"testing"

	"ferry/task"
)

func ops(n uint64) task.WorkerStats {
	return task.WorkerStats{Retries: int64(n), StoreOps: []task.StoreOps{{Store: "s3", Op: "put", Class: "ok", Count: n,
		Seconds: float64(n), Buckets: []uint64{0, n, n, n, n, n, n, n}}}}
}

// The cluster's totals add up the workers, never go backwards when a
// worker restarts from zero, and keep no label a worker made up.
func TestClusterStats(t *testing.T) {
	tr := &Tracker{}
	tr.NoteStats("a", ops(5))
	tr.NoteStats("a", ops(7)) // the same worker, later: replaces
	tr.NoteStats("b", ops(2))
	if got := tr.ClusterStats(ops(1)); got.Retries != 10 || got.StoreOps[0].Count != 10 || got.StoreOps[0].Buckets[1] != 10 {
		t.Fatalf("sum: %+v", got)
	}
	tr.NoteStats("a", ops(1)) // a restarted: 7 before, 1 since
	if got := tr.ClusterStats(task.WorkerStats{}); got.Retries != 10 || got.StoreOps[0].Count != 10 {
		t.Fatalf("after a restart: %+v, want 7+1+2", got)
	}
	bad := ops(1)
	bad.StoreOps[0].Op = "put /secret/key"
	tr.NoteStats("c", bad)
	for _, o := range tr.ClusterStats(task.WorkerStats{}).StoreOps {
		if o.Op != "put" {
			t.Errorf("label kept: %q", o.Op)
		}
	}
}
