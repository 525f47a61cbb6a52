package worker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"ferry/store"
	"ferry/task"
	"ferry/tracker"
	"ferry/verify"
)

// failRecord is the record of an entry that failed: of kind k, with the
// detail "CODE: cause" (DESIGN.md §3).
func failRecord(e store.Entry, k task.Kind, err error) tracker.Record {
	d := k.String()
	if err != nil {
		d += ": " + err.Error()
		// An error of an operation tried more than once usually says so
		// itself (store.AttemptsError); say it once.
		if n := store.Attempts(err); n > 1 && !strings.Contains(d, fmt.Sprintf("(after %d attempts)", n)) {
			d += fmt.Sprintf(" (after %d attempts)", n)
		}
	}
	return tracker.Record{Time: time.Now(), Result: tracker.Fail, Kind: k, Size: e.Size, Key: e.Key, Detail: d,
		SourceMTime: e.MTime}
}

// skipRecord is the record of an entry set aside, and why.
func skipRecord(key string, size int64, why string) tracker.Record {
	return tracker.Record{Time: time.Now(), Result: tracker.Skip, Kind: task.Skipped, Size: size, Key: key, Detail: why}
}

// copyEntry copies one entry and verifies it, returning its audit record.
// t.bytes counts the task's bytes in flight for progress reports; it is
// corrected to count only verified entries. ctx carries x.retries and
// x.notes, which copyEntry resets first; the record's detail ends with the
// retries and the stores' notes (such as "redirected=URL"), each after
// "; ".
func (w *Worker) copyEntry(ctx context.Context, x *transfer, st *jobStores, t *running, e store.Entry) tracker.Record {
	x.retries.Reset()
	x.notes.Reset()
	if err := w.limits.waitEntry(ctx, t.lease.Job); err != nil { // a limit in entries per second
		return failRecord(e, task.ReadError, err)
	}
	var rec tracker.Record
	switch {
	case t.x.audit:
		rec = w.auditEntry(ctx, st.src, st.dst, t, e)
	default:
		rec = w.copyOne(ctx, x, st, t, e)
		if p := t.lease.Part; rec.Result == tracker.OK && t.x.auditAfter && (p == nil || p.IsFinal()) && !x.proven(st, t) {
			if _, bad, ok := w.compare(ctx, st.src, st.dst, t, store.Entry{Key: e.Key, Size: rec.Size, CRC64: rec.CRC64, HasCRC: rec.HasCRC}); !ok {
				rec = bad
			}
		}
	}
	n := x.retries.Retries()
	if n > 0 {
		rec.Detail = strings.TrimPrefix(rec.Detail+fmt.Sprintf("; retries=%d", n), "; ")
		w.stats.AddRetries(n)
	}
	if s := x.notes.String(); s != "" {
		rec.Detail = strings.TrimPrefix(rec.Detail+"; "+s, "; ")
	}
	w.pace.observe(n)
	return rec
}

// proven reports whether the copy just verified needs no audit after it
// (isAuditAfterImport): the destination's write returned its own account
// of what it holds, checked against the bytes sent (store.Entry.Confirmed:
// a local file read back once written, a single PUT whose server checked
// the body's MD5 and answered it as the ETag), and verify compared that
// with the source's size and CRC64. The audit's look at the key (a stat,
// a HEAD) would compare the same size and CRC64 again; in simple and
// general modes it adds nothing. It still runs after a multipart upload,
// a server-side copy or a part task (the write's answer says less), in
// detailed mode (asked for a second reading of what is stored), and where
// the destination compares more than content (Differs: ZooKeeper's ACLs
// and counters) unless the write's own account of that (a Confirmed entry
// covers it) agrees with the source as opened.
func (x *transfer) proven(st *jobStores, t *running) bool {
	return x.landed.Confirmed && x.parts == 0 && !x.server && t.lease.Part == nil &&
		t.x.mode != verify.Detailed && (st.dstF.Differs == nil || st.dstF.Differs(x.before, x.landed) == "")
}

// copyOne copies the entry e and returns its record; a symlink or special
// file the listing reported is skipped (or failed, if it could not be read).
func (w *Worker) copyOne(ctx context.Context, x *transfer, st *jobStores, t *running, e store.Entry) tracker.Record {
	switch e.Kind {
	case store.Unreadable:
		return failRecord(e, task.ReadError, errors.New(e.Detail))
	case store.Symlink, store.Special:
		return skipRecord(e.Key, 0, e.Detail)
	}
	if t.lease.Part != nil {
		return x.copyPart(ctx, st, t, e)
	}
	return x.copy(ctx, st, t, e)
}

// sourceKind classifies a failure to look at or open the source.
func sourceKind(err error) task.Kind {
	if errors.Is(err, store.ErrNotExist) {
		return task.SourceMissing
	}
	if errors.Is(err, store.ErrInvalidKey) {
		return task.InvalidKey
	}
	return task.ReadError
}
