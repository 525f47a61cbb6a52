package master

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"ferry/task"
)

// fakeMarks is a TablePlanner whose marks count its calls.
type fakeMarks struct{ calls int }

func (f *fakeMarks) PlanTables(context.Context, task.Spec, string, map[string]string, func(string, string) error) error {
	return nil
}

func (f *fakeMarks) TableMarks(context.Context, task.Spec) (map[string]string, error) {
	f.calls++
	return map[string]string{"t": strconv.Itoa(f.calls)}, nil
}

// TestRoundMarks: round 1 copies everything and samples the marks; a round
// reads from the latest sample at least updatedMargin old (none yet:
// everything); a master restarted during a round's planning reuses its
// marks without sampling again; the samples persist in the job's file.
func TestRoundMarks(t *testing.T) {
	dir := t.TempDir()
	f := &fakeMarks{}
	m := &Master{cfg: Config{Dir: dir, Tables: f}}
	spec := task.Spec{Name: "j", Incremental: true, Table: &task.Table{UpdatedColumn: "u", UpdatedMargin: 10 * time.Minute}}
	ctx := context.Background()
	submitted := time.Now().Add(-time.Hour)
	get := func(round int) map[string]string {
		t.Helper()
		marks, err := m.roundMarks(ctx, spec, submitted, round)
		if err != nil {
			t.Fatal(err)
		}
		return marks
	}
	if got := get(1); got != nil || f.calls != 1 {
		t.Fatalf("round 1: %v (%d samples), want every row and one sample", got, f.calls)
	}
	if got := get(2); got != nil || f.calls != 2 {
		t.Fatalf("round 2 within the margin: %v, want every row", got)
	}
	if got := get(2); got != nil || f.calls != 2 {
		t.Fatalf("round 2 planned again: %v, %d samples; want the same marks, no new sample", got, f.calls)
	}
	// Eleven minutes later (the samples aged on disk).
	path := filepath.Join(dir, "jobs", "j", tableMarksFile)
	var tm tableMarks
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(b, &tm)
	for i := range tm.Samples {
		tm.Samples[i].Time = tm.Samples[i].Time.Add(-11 * time.Minute)
	}
	b, _ = json.Marshal(tm)
	os.WriteFile(path, b, 0o644)
	if got := get(3); got["t"] != "2" {
		t.Fatalf("round 3: %v, want the marks sampled at round 2's start", got)
	}
	spec.Table.UpdatedMargin = 0
	if got := get(4); got["t"] != "3" {
		t.Fatalf("round 4 without a margin: %v, want round 3's marks", got)
	}
	// A new job of the same name starts afresh.
	submitted = time.Now()
	if got := get(2); got != nil || f.calls != 5 {
		t.Fatalf("a new job's round 2: %v (%d samples), want every row", got, f.calls)
	}
}
