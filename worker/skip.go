package worker

import (
	"context"
	"errors"

	"ferry/plan"
	"ferry/store"
	"ferry/verify"
)

// skip applies the job's update rules (isSkipExistFile, updateMode) to a
// source entry at copy time, against what the destination holds now. In
// checksum mode without stored checksums it reads both sides. Every skip
// becomes a SKIP audit line with its reason.
func (w *Worker) skip(ctx context.Context, src, dst store.Store, t *running, s store.Entry) (bool, string) {
	opt := t.opt
	if !t.hasSkipRules() {
		return false, ""
	}
	if err := w.limits.waitRequest(ctx, t.lease.Job); err != nil {
		return false, ""
	}
	d, err := dst.Stat(ctx, s.Key)
	if errors.Is(err, store.ErrNotExist) {
		return false, ""
	}
	if err != nil {
		return false, "" // copy: a failed look is no reason to skip
	}
	copy, needCRC, why := plan.Decide(opt, s, &d)
	if !needCRC {
		return !copy, why
	}
	diff, _, err := verify.DeepThrough(ctx, src, dst, s, d, w.limited(ctx, t.lease.Job))
	if err != nil || diff != "" {
		return false, ""
	}
	return true, "same crc64 (updateMode=checksum)"
}

// hasSkipRules reports whether the task's job has update rules that may skip
// an entry (skip then needs the source's entry before it is opened).
func (t *running) hasSkipRules() bool {
	return t.optErr == nil && (t.opt.Update != plan.Always || t.opt.SkipExist)
}
