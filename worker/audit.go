package worker

import (
	"context"
	"errors"
	"time"

	"ferry/store"
	"ferry/task"
	"ferry/tracker"
	"ferry/verify"
)

// Auditing: a job of jobType=audit copies nothing and checks that every
// source entry is at the destination and the same; with isAuditAfterImport
// an import job checks each copy again once it has landed. auditMode says
// how closely: simple (size), general (size and mtime), detailed (CRC64 of
// the content, read where no stored checksum answers).

// auditEntry checks one source entry against the destination.
func (w *Worker) auditEntry(ctx context.Context, src, dst store.Store, t *running, e store.Entry) tracker.Record {
	if e.Kind != store.File {
		return skipRecord(e.Key, 0, e.Detail)
	}
	if err := w.limits.waitRequest(ctx, t.lease.Job); err != nil {
		return failRecord(e, task.ReadError, err)
	}
	s, err := src.Stat(ctx, e.Key)
	if err != nil {
		return failRecord(e, sourceKind(err), err)
	}
	rec := w.check(ctx, src, dst, t, s)
	if rec.Result == tracker.OK {
		t.bytes.Add(s.Size)
	}
	return rec
}

// check compares source entry s with what the destination holds.
func (w *Worker) check(ctx context.Context, src, dst store.Store, t *running, s store.Entry) tracker.Record {
	d, fail, ok := w.compare(ctx, src, dst, t, s)
	if !ok {
		return fail
	}
	rec := tracker.Record{Time: time.Now(), Result: tracker.OK, Size: d.Size, CRC64: d.CRC64, HasCRC: d.HasCRC,
		Key: s.Key, Detail: auditDetail(t.x.mode), SourceMTime: s.MTime, ETag: d.ETag}
	rec.DestCRC64, rec.HasDestCRC = d.CRC64, d.HasCRC
	return rec
}

// compare is check without the record of a match (a copy's audit keeps
// the copy's record): the destination's entry and true, or the failure.
func (w *Worker) compare(ctx context.Context, src, dst store.Store, t *running, s store.Entry) (store.Entry, tracker.Record, bool) {
	mode := t.x.mode
	if err := w.limits.waitRequest(ctx, t.lease.Job); err != nil {
		return store.Entry{}, failRecord(s, task.ReadError, err), false
	}
	d, err := dst.Stat(ctx, s.Key)
	switch {
	case errors.Is(err, store.ErrNotExist):
		return d, failRecord(s, task.Missing, err), false
	case errors.Is(err, store.ErrInvalidKey): // the destination cannot hold it
		return d, failRecord(s, task.InvalidKey, err), false
	case err != nil:
		return d, failRecord(s, task.ReadError, err), false
	}
	if why := verify.Quick(mode, s, d); why != "" {
		return d, failRecord(s, task.Different, errors.New(why)), false
	}
	if differs := store.FeaturesOf(dst).Differs; differs != nil {
		if why := differs(s, d); why != "" {
			return d, failRecord(s, task.Different, errors.New(why)), false
		}
	}
	if mode == verify.Detailed {
		why, _, err := verify.DeepThrough(ctx, src, dst, s, d, w.limited(ctx, t.lease.Job))
		if err != nil {
			return d, failRecord(s, task.ReadError, err), false
		}
		if why != "" {
			return d, failRecord(s, task.ChecksumMismatch, errors.New(why)), false
		}
	}
	return d, tracker.Record{}, true
}

// auditDetail is an audit's OK detail, "audit <mode>": a constant for the
// modes there are, since every copied file is audited.
func auditDetail(mode verify.Mode) string {
	switch mode {
	case verify.Simple:
		return "audit simple"
	case verify.General:
		return "audit general"
	case verify.Detailed:
		return "audit detailed"
	}
	return "audit " + string(mode)
}
