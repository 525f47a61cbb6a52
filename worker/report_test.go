package worker

import (
	"context"
	"strings"
	"testing"
	"time"

	"ferry/task"
	"ferry/tracker"
)

// reportClient records the reports it is sent; the rest of Client is unused.
type reportClient struct {
	Client
	reports []map[task.LeaseRef][]tracker.Record
}

func (c *reportClient) Report(ctx context.Context, id string, copied int64, _ task.WorkerStats, audits map[task.LeaseRef][]tracker.Record, progress []tracker.TaskProgress) (map[string]task.Limits, error) {
	sent := make(map[task.LeaseRef][]tracker.Record, len(audits))
	for ref, recs := range audits { // the worker reuses the slices after the call
		sent[ref] = append([]tracker.Record(nil), recs...)
	}
	c.reports = append(c.reports, sent)
	return nil, nil
}

// A queue larger than tracker.ReportBytes goes in several reports, each
// within it (but for the record that crosses it), every record once and
// in order, and report returns only when all are delivered.
func TestReportSplits(t *testing.T) {
	c := &reportClient{}
	w := New(Config{ID: "w"}, c)
	key := strings.Repeat("k", 1000)
	perTask := tracker.ReportBytes / 1000 // about 1.08 ReportBytes a task
	for id := range uint64(3) {
		ref := task.LeaseRef{Job: "j", TaskID: id, LeaseID: 1}
		r := &running{lease: task.Lease{Job: "j", TaskID: id, LeaseID: 1}}
		for i := range perTask {
			r.audit = append(r.audit, tracker.Record{Time: time.Unix(int64(i), 0), Key: key})
		}
		w.tasks[ref] = r
	}
	if err := w.report(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(c.reports) < 4 {
		t.Errorf("%d reports for 3.2 ReportBytes of records, want at least 4", len(c.reports))
	}
	next := make(map[task.LeaseRef]int64)
	for i, audits := range c.reports {
		size := 0
		for ref, recs := range audits {
			for _, r := range recs {
				if r.Time.Unix() != next[ref] {
					t.Fatalf("report %d: task %d's record %d, want %d", i, ref.TaskID, r.Time.Unix(), next[ref])
				}
				next[ref]++
				size += r.ReportSize()
			}
		}
		if size > tracker.ReportBytes+len(key)+80 {
			t.Errorf("report %d carries %d bytes of records, over ReportBytes (%d) and a record", i, size, tracker.ReportBytes)
		}
	}
	for ref, r := range w.tasks {
		if next[ref] != int64(perTask) || len(r.audit) != 0 {
			t.Errorf("task %d: %d records delivered of %d, %d left queued", ref.TaskID, next[ref], perTask, len(r.audit))
		}
	}
}
