package worker

import (
	"context"
	"errors"
	"log/slog"

	"ferry/task"
	"ferry/tracker"
)

// StreamRunner runs the tasks of stream jobs (DESIGN.md §10): a source
// partition copied from its cursor, or a consumer group translated.
// stream/kafka implements it.
type StreamRunner interface {
	// RunStream runs one task and returns its audit record; done false
	// means the task was given up without an outcome (its lease is gone,
	// or ctx ended): the worker does not complete it.
	RunStream(ctx context.Context, t StreamTask) (rec tracker.Record, done bool)
}

// StreamTask is a leased stream task as its runner sees it.
type StreamTask struct {
	Lease task.Lease
	Unit  task.Unit
	// Cursor is the state the task's last saved cursor holds (nil
	// before the first), and SaveCursor saves it with the task under the
	// lease: ErrStale (wrapped) when the lease is no longer current.
	Cursor     []byte
	SaveCursor func(ctx context.Context, state []byte) error
	// Progress adds to the task's progress (records as files, bytes).
	Progress func(records, bytes int64)
	// Throttle waits until n more bytes of the job may be moved.
	Throttle func(ctx context.Context, n int) error
	Log      *slog.Logger
}

// errNoStreams is the failure of a stream task on a worker built without
// a StreamRunner.
var errNoStreams = errors.New("this worker cannot run stream tasks (no stream runner)")

// runStream runs a stream task, whose single entry is its unit, and
// records its outcome as entry 0. It reports whether the task has an
// outcome to complete.
func (w *Worker) runStream(ctx context.Context, t *running, log *slog.Logger, record func(int, tracker.Record)) bool {
	l := t.lease
	if len(l.Entries) != 1 {
		for i, e := range l.Entries {
			record(i, failRecord(e, task.ReadError, errors.New("a stream task holds one unit")))
		}
		return true
	}
	e := l.Entries[0]
	u, err := task.ParseUnit(e)
	if err == nil && w.cfg.Streams == nil {
		err = errNoStreams
	}
	if err != nil {
		record(0, failRecord(e, task.ReadError, err))
		return true
	}
	var cursor []byte
	for _, s := range l.Uploads {
		if s.Key == e.Key {
			cursor = s.State
		}
	}
	ref := l.Ref()
	rec, done := w.cfg.Streams.RunStream(ctx, StreamTask{
		Lease: l, Unit: u, Cursor: cursor, Log: log,
		SaveCursor: func(ctx context.Context, state []byte) error {
			return w.client.SaveUpload(ctx, w.cfg.ID, ref, task.UploadState{Key: e.Key, State: state})
		},
		Progress: func(records, bytes int64) {
			t.files.Add(records)
			t.bytes.Add(bytes)
			w.copied.Add(bytes)
		},
		Throttle: func(ctx context.Context, n int) error { return w.limits.waitBytes(ctx, l.Job, n) },
	})
	if done {
		// The record's count is the entry's, not the records copied.
		t.files.Store(0)
		record(0, rec)
	}
	return done
}
