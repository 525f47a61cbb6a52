package master_test

import (
	"context"
	"testing"
	"time"

	"ferry/conf"
	"ferry/master"
	"ferry/task"
)

// continuousJob opens a master whose planner finds parts partitions of
// topic "t", runs it, registers workers and submits a continuous Kafka
// job "tail" of them.
func continuousJob(t *testing.T, parts int32, workers ...string) (context.Context, *master.Master) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	var units planned
	for p := range parts {
		units.parts = append(units.parts, task.Unit{Topic: "t", Partition: p, End: -1})
	}
	m, err := master.Open(master.Config{Dir: t.TempDir(), LeaseDur: time.Minute, Streams: units})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	go m.Run(ctx)
	for _, w := range workers {
		if err := m.Register(ctx, w, "host-"+w, 4); err != nil {
			t.Fatal(err)
		}
	}
	spec := conf.DefaultSpec("tail")
	spec.Src, spec.Dest = task.Endpoint{Type: "kafka", Domain: "s:9092"}, task.Endpoint{Type: "kafka", Domain: "d:9092"}
	spec.Stream = &task.Stream{Topics: []string{"t"}, Continuous: true}
	if err := m.Submit(ctx, spec); err != nil {
		t.Fatal(err)
	}
	return ctx, m
}

// leaseAll is every lease worker w gets from m by asking for 100 tasks
// again and again for wait.
func leaseAll(ctx context.Context, t *testing.T, m *master.Master, w string, wait time.Duration) []task.Lease {
	t.Helper()
	var all []task.Lease
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		ls, err := m.Lease(ctx, w, 100, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ls...)
	}
	return all
}

// TestContinuousSpread: a continuous stream job's partitions go to the
// registered workers in shares (5 and 4 of 9), though the first asks for
// more; a worker that left no longer counts, so its partitions, given back,
// all go to the one left.
func TestContinuousSpread(t *testing.T) {
	ctx, m := continuousJob(t, 9, "w1", "w2")
	a := leaseAll(ctx, t, m, "w1", 2*time.Second) // the planner has added every task by then
	b := leaseAll(ctx, t, m, "w2", time.Second)
	if len(a) != 5 || len(b) != 4 {
		t.Fatalf("9 partitions, 2 workers: w1 holds %d, w2 %d; want 5 and 4", len(a), len(b))
	}
	if err := m.Leave(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	if c := leaseAll(ctx, t, m, "w1", time.Second); len(c) != 4 {
		t.Fatalf("after w2 left: w1 took %d more, want its 4", len(c))
	}
}

// TestContinuousRebalanceOnJoin: w1, alone, holds all 9 partitions of a
// running continuous job; w2 registers and asks for work: it gets 4, and
// w1's next renewal names those 4 as lost, so that w1 stops them.
func TestContinuousRebalanceOnJoin(t *testing.T) {
	ctx, m := continuousJob(t, 9, "w1")
	a := leaseAll(ctx, t, m, "w1", 2*time.Second)
	if len(a) != 9 {
		t.Fatalf("w1 alone took %d partitions, want 9", len(a))
	}
	if err := m.Register(ctx, "w2", "host-w2", 4); err != nil {
		t.Fatal(err)
	}
	b := leaseAll(ctx, t, m, "w2", time.Second)
	if len(b) != 4 {
		t.Fatalf("w2 joined and took %d partitions, want 4", len(b))
	}
	var refs []task.LeaseRef
	for _, l := range a {
		refs = append(refs, task.LeaseRef{Job: l.Job, TaskID: l.TaskID, LeaseID: l.LeaseID})
	}
	lost, _, err := m.Renew(ctx, "w1", refs)
	if err != nil {
		t.Fatal(err)
	}
	taken := map[uint64]bool{}
	for _, l := range b {
		taken[l.TaskID] = true
	}
	if len(lost) != 4 {
		t.Fatalf("w1's renewal names %d leases lost, want 4", len(lost))
	}
	for _, r := range lost {
		if !taken[r.TaskID] {
			t.Errorf("w1 lost task %d, which w2 did not take", r.TaskID)
		}
	}
}
