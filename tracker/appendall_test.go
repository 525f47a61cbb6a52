package tracker

import (
	"os"
	"path/filepath"
	"testing"

	"ferry/task"
)

// AppendAll writes every lease's records or none: when one append fails,
// the others are cut back, so that the same report sent again counts no
// record twice.
func TestAppendAllOrNone(t *testing.T) {
	tr := newTracker(t)
	ok := task.LeaseRef{Job: "j", TaskID: 1, LeaseID: 1}
	bad := task.LeaseRef{Job: "j", TaskID: 2, LeaseID: 2}
	rec := func(k string) []Record { return []Record{{Result: OK, Key: k, Size: 1}} }
	if err := tr.Append(ok.Job, ok.TaskID, ok.LeaseID, rec("a")); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(tr.inflight(ok.Job, ok.TaskID, ok.LeaseID), "audit.log")
	before, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	// bad's in-flight directory cannot be made: a file is in its way.
	if err := os.WriteFile(tr.inflight(bad.Job, bad.TaskID, bad.LeaseID), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for range 3 { // whichever the map gives first
		if err := tr.AppendAll(map[task.LeaseRef][]Record{ok: rec("b"), bad: rec("c")}); err == nil {
			t.Fatal("AppendAll: want the error of bad's append")
		}
	}
	if after, _ := os.ReadFile(log); string(after) != string(before) {
		t.Errorf("after failed AppendAlls, ok's audit.log is\n%s\nwant it unchanged:\n%s", after, before)
	}
	if err := tr.AppendAll(map[task.LeaseRef][]Record{ok: rec("b")}); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(log); len(after) <= len(before) {
		t.Errorf("AppendAll appended nothing: %q", after)
	}
}
