package master_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"ferry/conf"
	"ferry/master"
	"ferry/task"
)

// planned is a stream planner that returns fixed units (the master's
// side of stream jobs without a cluster).
type planned struct{ parts, groups []task.Unit }

func (p planned) PlanStream(context.Context, task.Spec) ([]task.Unit, []task.Unit, error) {
	return p.parts, p.groups, nil
}

// TestStreamLag: stat adds up a once stream job's lag per topic: a
// partition copying lags what its cursor says, one not started its whole
// planned range (seconds unknown), a completed one is left out (b has
// no partition left); groups are not topics.
func TestStreamLag(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	units := planned{parts: []task.Unit{{Topic: "a", Partition: 0, End: 100}, {Topic: "a", Partition: 1, End: 100},
		{Topic: "a", Partition: 2, Start: 10, End: 60}, {Topic: "b", Partition: 0, End: 7}},
		groups: []task.Unit{{Group: "g"}}}
	m, err := master.Open(master.Config{Dir: t.TempDir(), LeaseDur: time.Minute, Streams: units})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	go m.Run(ctx)
	spec := conf.DefaultSpec("k")
	spec.Src, spec.Dest = task.Endpoint{Type: "kafka", Domain: "s:9092"}, task.Endpoint{Type: "kafka", Domain: "d:9092"}
	spec.Stream = &task.Stream{Topics: []string{"a", "b"}}
	if err := m.Submit(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(ctx, "w", "host", 1); err != nil {
		t.Fatal(err)
	}
	// a/0 is copying: 60 of 100 done; b/0 is copied.
	lease := func() task.Lease {
		t.Helper()
		ls, err := m.Lease(ctx, "w", 1, 10*time.Second)
		if err != nil || len(ls) != 1 {
			t.Fatalf("lease: %v, %v", ls, err)
		}
		return ls[0]
	}
	l := lease()
	now := time.Now().UnixMilli()
	cur, _ := json.Marshal(struct {
		Seq int `json:"seq"`
		task.StreamProgress
	}{3, task.StreamProgress{Done: 60, End: 100, LastTime: now - 4000, Saved: now}})
	if err := m.SaveUpload("w", l.Ref(), task.UploadState{Key: l.Entries[0].Key, State: cur}); err != nil {
		t.Fatal(err)
	}
	for {
		l = lease()
		if l.Entries[0].Key == "b/0" {
			break
		}
	}
	if _, err := m.Complete(ctx, "w", l.Ref(), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	st, err := m.Stat(ctx, "k")
	if err != nil || len(st) != 1 {
		t.Fatalf("stat: %v %v", st, err)
	}
	want := master.TopicLag{Topic: "a", Partitions: 3, Records: 40 + 100 + 50, Seconds: -1}
	got := st[0].Lag
	if len(got) != 1 || got[0] != want {
		t.Errorf("lag %+v, want %+v (tasks %v)", got, want, st[0].Counters.Tasks)
	}
}

// TestStreamOnceRunsWhileGroupsWait: a once stream job with consumer
// groups is Running (its scan not finished) while its partitions copy,
// not Scanning; when they are copied the groups are queued and the scan
// finishes.
func TestStreamOnceRunsWhileGroupsWait(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	units := planned{parts: []task.Unit{{Topic: "a", Partition: 0, End: 10}}, groups: []task.Unit{{Group: "g"}}}
	m, err := master.Open(master.Config{Dir: t.TempDir(), LeaseDur: time.Minute, Streams: units})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	go m.Run(ctx)
	spec := conf.DefaultSpec("k")
	spec.Src, spec.Dest = task.Endpoint{Type: "kafka", Domain: "s:9092"}, task.Endpoint{Type: "kafka", Domain: "d:9092"}
	spec.Stream = &task.Stream{Topics: []string{"a"}, Groups: []string{"g"}}
	if err := m.Submit(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(ctx, "w", "host", 1); err != nil {
		t.Fatal(err)
	}
	ls, err := m.Lease(ctx, "w", 1, 10*time.Second)
	if err != nil || len(ls) != 1 || ls[0].Entries[0].Key != "a/0" {
		t.Fatalf("lease: %v, %v", ls, err)
	}
	stat := func() master.JobStat {
		st, err := m.Stat(ctx, "k")
		if err != nil || len(st) != 1 {
			t.Fatalf("stat: %v %v", st, err)
		}
		return st[0]
	}
	time.Sleep(300 * time.Millisecond) // a scan that would finish has
	if s := stat(); s.State != "Running" || s.ScanFinished {
		t.Errorf("while its partition copies: job %s, scan finished %v; want Running, not finished", s.State, s.ScanFinished)
	}
	if _, err := m.Complete(ctx, "w", ls[0].Ref(), nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	ls, err = m.Lease(ctx, "w", 1, 10*time.Second)
	if err != nil || len(ls) != 1 || ls[0].Entries[0].Key != "~group/g" {
		t.Fatalf("lease after the partition: %v, %v", ls, err)
	}
	// The scan marks itself finished in its own transaction, which may
	// come just after the group's task is leased: wait for it, with the
	// group's task still out, so the job must stay Running meanwhile.
	s := stat()
	for deadline := time.Now().Add(5 * time.Second); !s.ScanFinished && time.Now().Before(deadline); s = stat() {
		time.Sleep(10 * time.Millisecond)
	}
	if s.State != "Running" || !s.ScanFinished {
		t.Errorf("with the group queued: job %s, scan finished %v; want Running, finished", s.State, s.ScanFinished)
	}
}
