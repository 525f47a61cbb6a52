package worker

import (
	"context"
	"errors"
	"time"

	"ferry/plan"
	"ferry/store"
	"ferry/tracker"
	"ferry/verify"
)

// skip applies the job's update rules (isSkipExistFile, updateMode) to a
// source entry at copy time, against what the destination holds now. In
// checksum mode without stored checksums it reads both sides. Every skip
// becomes a SKIP audit line with its reason. A skip also returns the
// destination's entry, whose ETag an incremental job's master records (see
// noted).
func (w *Worker) skip(ctx context.Context, src, dst store.Store, t *running, s store.Entry) (bool, string, store.Entry) {
	opt := t.opt
	if !t.hasSkipRules() {
		return false, "", store.Entry{}
	}
	if err := w.limits.waitRequest(ctx, t.lease.Job); err != nil {
		return false, "", store.Entry{}
	}
	d, err := dst.Stat(ctx, s.Key)
	if errors.Is(err, store.ErrNotExist) {
		return false, "", store.Entry{}
	}
	if err != nil {
		return false, "", store.Entry{} // copy: a failed look is no reason to skip
	}
	opt.Differs = store.FeaturesOf(dst).Differs
	copy, needCRC, why := plan.Decide(opt, s, &d)
	if !needCRC {
		return !copy, why, d
	}
	diff, _, err := verify.DeepThrough(ctx, src, dst, s, d, w.limited(ctx, t.lease.Job))
	if err != nil || diff != "" {
		return false, "", store.Entry{}
	}
	return true, "same crc64 (updateMode=checksum)", d
}

// noted adds to an OK or SKIP record what the destination holds and the
// source's mtime, for the per-entry report (its audit line's trailing
// fields); for an incremental job whose destination has ETags, also what
// its master keeps in its copied index (DestETag: the ETag of the object
// and, in SourceMTime, the mtime of the source it is a copy of).
func noted(rec tracker.Record, t *running, source time.Time, dest store.Entry) tracker.Record {
	rec.SourceMTime, rec.ETag = source, dest.ETag
	if dest.HasCRC {
		rec.DestCRC64, rec.HasDestCRC = dest.CRC64, true
	}
	if dest.ETag != "" && t.x.incremental {
		rec.DestETag = dest.ETag
	}
	return rec
}

// hasSkipRules reports whether the task's job has update rules that may skip
// an entry (skip then needs the source's entry before it is opened).
func (t *running) hasSkipRules() bool {
	return t.optErr == nil && (t.opt.Update != plan.Always || t.opt.SkipExist)
}
