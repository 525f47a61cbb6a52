package state

import (
	"path/filepath"
	"testing"
	"time"

	"ferry/store"
	"ferry/task"
)

// A file's part tasks: only the prepare task is leasable at first, the
// ranges once it succeeded, the final task once every range did, with the
// states they saved; the file counts once, its bytes once; a range that
// fails fails the group's pending tasks, so the job ends, and retry
// re-queues them.
func TestPartGroup(t *testing.T) {
	d, err := OpenDB(filepath.Join(t.TempDir(), "ferry.db"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.CreateJob(task.Spec{Name: "j"}); err != nil {
		t.Fatal(err)
	}
	const size = 600 << 20 // 8 ranges of 75 MiB (15 parts of 5 MiB)
	e := store.Entry{Key: "big", Size: size, MTime: time.Unix(1, 0)}
	if err := d.AddScanned("j", 0, []store.Entry{{Key: "a", Size: 10}}, ScanCounts{}, false); err != nil {
		t.Fatal(err)
	}
	if err := d.AddGroup("j", 0, e, 5<<20); err != nil {
		t.Fatal(err)
	}
	if err := d.AddScanned("j", 0, nil, ScanCounts{}, true); err != nil {
		t.Fatal(err)
	}
	j, _ := d.Job("j")
	if c := j.Counters; c.FilesTotal != 2 || c.BytesTotal != size+10 || c.Tasks[Pending] != 1+1+8+1 {
		t.Fatalf("counters %+v", c)
	}
	lease := func(n int) []task.Lease {
		t.Helper()
		ls, err := d.LeaseTasks("w", n, "")
		if err != nil {
			t.Fatal(err)
		}
		return ls
	}
	complete := func(l task.Lease, fail bool) {
		t.Helper()
		var res []task.Outcome
		if fail {
			res = []task.Outcome{{Index: 0, Kind: task.SourceChanged}}
		}
		if err := d.Complete(l.Ref(), res, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	ls := lease(10)
	if len(ls) != 2 || ls[0].Part != nil || ls[1].Part == nil || !ls[1].Part.IsPrepare() {
		t.Fatalf("first leases: %+v", ls)
	}
	prep := ls[1]
	if err := d.SaveUpload(prep.Ref(), task.UploadState{Key: "big", State: []byte(`{"UploadID":"u"}`)}); err != nil {
		t.Fatal(err)
	}
	if ls := lease(10); len(ls) != 0 {
		t.Fatalf("leased %d tasks before the prepare task succeeded", len(ls))
	}
	complete(ls[0], false)
	complete(prep, false)
	ranges := lease(10)
	if len(ranges) != 8 {
		t.Fatalf("%d ranges leased, want 8 (the final waits)", len(ranges))
	}
	var total int64
	for i, r := range ranges {
		p := r.Part
		if !p.IsRange() || p.Off != total || len(r.Uploads) != 1 || r.Uploads[0].Task != prep.TaskID {
			t.Fatalf("range %d: %+v, uploads %+v", i, p, r.Uploads)
		}
		total += p.Len
		if err := d.SaveUpload(r.Ref(), task.UploadState{Key: "big", State: []byte(`{"Parts":[]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	if total != size {
		t.Fatalf("ranges cover %d bytes, want %d", total, size)
	}
	// One range fails: the final, still pending, fails with it.
	for _, r := range ranges[:7] {
		complete(r, false)
	}
	complete(ranges[7], true)
	j, _ = d.Job("j")
	if j.State != StateFailed || j.Counters.FilesFailed != 1 || j.Counters.BytesDone != 10+total-ranges[7].Part.Len ||
		j.Counters.BytesFailed != ranges[7].Part.Len || j.Counters.Tasks[Failed] != 2 {
		t.Fatalf("after a failed range: %s %+v", j.State, j.Counters)
	}
	if _, n, err := d.Retry("j"); err != nil || n != 2 {
		t.Fatalf("retry: %d entries, %v", n, err)
	}
	ls = lease(10)
	if len(ls) != 1 || ls[0].TaskID != ranges[7].TaskID {
		t.Fatalf("after retry leased %+v, want the failed range alone", ls)
	}
	complete(ls[0], false)
	ls = lease(10)
	if len(ls) != 1 || !ls[0].Part.IsFinal() || len(ls[0].Uploads) != 1+8 {
		t.Fatalf("final lease %+v", ls)
	}
	complete(ls[0], false)
	j, _ = d.Job("j")
	if c := j.Counters; j.State != StateSucceed || c.FilesDone != 2 || c.BytesDone != size+10 || c.FilesFailed != 0 || c.BytesFailed != 0 {
		t.Fatalf("end: %s %+v", j.State, c)
	}
	if ups, _ := d.JobUploads("j"); len(ups) != 0 {
		t.Errorf("%d saved states left after the final task", len(ups))
	}
}
