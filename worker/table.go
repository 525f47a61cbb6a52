package worker

import (
	"context"
	"errors"
	"log/slog"

	"golang.org/x/time/rate"

	"ferry/task"
	"ferry/tracker"
)

// TableRunner runs the tasks of table jobs (DESIGN.md §10): one chunk, a
// primary-key range of a table, copied and checked. ferry/table
// implements it.
type TableRunner interface {
	// RunChunk copies one chunk and returns its audit record: OK with
	// the rows and digest, or FAIL with the rows that still differ.
	RunChunk(ctx context.Context, t TableTask) tracker.Record
}

// TableTask is a leased table task as its runner sees it.
type TableTask struct {
	Lease task.Lease
	// Chunk is the chunk's name, "table/[lo,hi)", the task's one entry.
	Chunk string
	// Detail is the entry's detail: "since <value>" for a chunk of an
	// incremental round, which copies the rows changed since then.
	Detail string
	// Progress adds to the task's progress (rows as files, bytes).
	Progress func(rows, bytes int64)
	// Throttle waits until rows and bytes more of the job may be moved
	// (maxRowsPerSecond, maxThroughput, shared by the job's workers).
	Throttle func(ctx context.Context, rows, bytes int) error
	Log      *slog.Logger
}

// errNoTables is the failure of a table task on a worker built without a
// TableRunner.
var errNoTables = errors.New("this worker cannot run table tasks (no table runner)")

// runTable runs a table task, whose single entry is its chunk, and
// records its outcome as entry 0. Its writes are idempotent upserts: a
// task run again after its lease was lost rewrites the same rows.
func (w *Worker) runTable(ctx context.Context, t *running, log *slog.Logger, record func(int, tracker.Record)) {
	l := t.lease
	if len(l.Entries) != 1 || w.cfg.Tables == nil {
		err := errNoTables
		if w.cfg.Tables != nil {
			err = errors.New("a table task holds one chunk")
		}
		for i, e := range l.Entries {
			record(i, failRecord(e, task.ReadError, err))
		}
		return
	}
	rec := w.cfg.Tables.RunChunk(ctx, TableTask{
		Lease: l, Chunk: l.Entries[0].Key, Detail: l.Entries[0].Detail, Log: log,
		Progress: func(rows, bytes int64) {
			t.files.Add(rows)
			t.bytes.Add(bytes)
			w.copied.Add(bytes)
		},
		Throttle: func(ctx context.Context, rows, bytes int) error {
			if err := w.limits.waitRequests(ctx, l.Job, rows); err != nil {
				return err
			}
			return w.limits.waitBytes(ctx, l.Job, bytes)
		},
	})
	// The record's count is the chunk's, not the rows copied.
	t.files.Store(0)
	record(0, rec)
}

// waitRequests blocks until n more requests of job may be made: a table
// job's rows (its spec's request limit is maxRowsPerSecond).
func (l *limiters) waitRequests(ctx context.Context, job string, n int) error {
	if !l.limited.Load() {
		return nil
	}
	jl := l.job(job)
	if jl == nil || jl.reqs.Limit() == rate.Inf {
		return nil
	}
	for left := n; left > 0; {
		step := min(left, jl.reqs.Burst())
		if err := jl.reqs.WaitN(ctx, step); err != nil {
			return err
		}
		left -= step
	}
	return nil
}
