package worker

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"ferry/store"
	"ferry/tracker"
)

// Failure reasons: short fixed codes, then the cause.
const (
	SourceMissing    = "SOURCE_MISSING"
	SourceChanged    = "SOURCE_CHANGED"
	SizeNotMatch     = "SIZE_NOT_MATCH"
	ChecksumMismatch = "CHECKSUM_MISMATCH"
	InvalidKey       = "INVALID_KEY"
	ReadError        = "READ_ERROR"
	WriteError       = "WRITE_ERROR"
)

func failRecord(e store.Entry, code string, err error) tracker.Record {
	d := code
	if err != nil {
		d += ": " + err.Error()
		// An error of an operation tried more than once usually says so
		// itself (store.AttemptsError); say it once.
		if n := store.Attempts(err); n > 1 && !strings.Contains(d, fmt.Sprintf("(after %d attempts)", n)) {
			d += fmt.Sprintf(" (after %d attempts)", n)
		}
	}
	return tracker.Record{Time: time.Now(), Result: tracker.Fail, Size: e.Size, Key: e.Key, Detail: d}
}

// sourceReader hashes and counts what it reads through the job's limits,
// and marks its own errors so a failed Put can be blamed on the right side.
// One allocation per file: the limited reader and the CRC live in it.
type sourceReader struct {
	lim      limitedReader
	crc      uint64
	md5      hash.Hash
	n        int64
	progress *atomic.Int64
	copied   *atomic.Int64
	err      error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.lim.Read(p)
	if n > 0 {
		s.crc = store.UpdateCRC64(s.crc, p[:n])
		if s.md5 != nil {
			s.md5.Write(p[:n])
		}
		s.n += int64(n)
		s.progress.Add(int64(n))
		s.copied.Add(int64(n))
	}
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// copyEntry copies one entry and verifies it, returning its audit record.
// t.bytes counts the task's bytes in flight for progress reports; it is
// corrected to count only verified entries. ctx carries retries (from
// store.WithRetryCounter), which copyEntry resets first: a copying thread
// reuses one for all its entries.
func (w *Worker) copyEntry(ctx context.Context, retries *store.RetryCounter, src, dst store.Store, t *running, e store.Entry) tracker.Record {
	retries.Reset()
	var rec tracker.Record
	switch {
	case t.x.audit:
		rec = w.auditEntry(ctx, src, dst, t, e)
	default:
		rec = w.copyOne(ctx, src, dst, t, e)
		if rec.Result == tracker.OK && t.x.auditAfter {
			if a := w.check(ctx, src, dst, t, store.Entry{Key: e.Key, Size: rec.Size, CRC64: rec.CRC64, HasCRC: rec.HasCRC}); a.Result != tracker.OK {
				rec = a
			}
		}
	}
	n := retries.Retries()
	if n > 0 {
		rec.Detail = strings.TrimPrefix(rec.Detail+fmt.Sprintf("; retries=%d", n), "; ")
	}
	w.pace.observe(n)
	return rec
}

func (w *Worker) copyOne(ctx context.Context, src, dst store.Store, t *running, e store.Entry) tracker.Record {
	spec, bytes := t.lease.Spec, &t.bytes
	switch e.Kind {
	case store.Symlink, store.Special:
		res := tracker.Skip
		if strings.HasPrefix(e.Detail, "cannot read") {
			return failRecord(e, ReadError, errors.New(e.Detail))
		}
		return tracker.Record{Time: time.Now(), Result: res, Key: e.Key, Detail: e.Detail}
	}
	job := t.lease.Job
	if err := w.limits.waitRequest(ctx, job); err != nil {
		return failRecord(e, ReadError, err)
	}
	// A source that can describe what it opens (a local file, an object
	// pinned by ETag) is opened first: one lookup or request per entry
	// instead of a Stat, an Open and a Stat. Not when update rules may skip
	// the entry, nor when its listed size says multipart, where an open
	// would be wasted.
	var opened store.Opened
	var before store.Entry
	var err error
	so, openFirst := src.(store.StatOpener)
	if _, mp := dst.(store.MultipartPutter); mp && e.Size >= t.x.mpThreshold || t.hasSkipRules() {
		openFirst = false
	}
	if openFirst {
		opened, before, err = so.OpenStat(ctx, e.Key)
	} else {
		before, err = src.Stat(ctx, e.Key)
	}
	if err != nil {
		return failRecord(e, sourceCode(err), err)
	}
	closeOpened := func() {
		if opened != nil {
			opened.Close()
			opened = nil
		}
	}
	defer closeOpened()
	if skip, why, d := w.skip(ctx, src, dst, t, before); skip {
		return noted(tracker.Record{Time: time.Now(), Result: tracker.Skip, Size: before.Size, Key: e.Key, Detail: why}, t, before.MTime, d)
	}
	if mp, ok := dst.(store.MultipartPutter); ok && before.Size >= t.x.mpThreshold {
		closeOpened()
		return w.copyMultipart(ctx, src, mp, t, e, before)
	}
	var r io.Reader = opened
	if opened == nil {
		if err := w.limits.waitRequest(ctx, job); err != nil {
			return failRecord(e, ReadError, err)
		}
		rc, err := src.Open(ctx, e.Key, 0, -1)
		if err != nil {
			return failRecord(e, sourceCode(err), err)
		}
		defer rc.Close()
		r = rc
	}
	sr := &sourceReader{lim: limitedReader{ctx: ctx, r: r, l: w.limits, job: job}, progress: bytes, copied: &w.copied}
	if spec.RecordMD5 || w.cfg.RecordMD5 {
		sr.md5 = md5.New()
	}
	if err := w.limits.waitRequest(ctx, job); err != nil {
		return failRecord(e, WriteError, err)
	}
	meta := store.Entry{Key: e.Key, Size: before.Size, Meta: before.Meta}
	if t.x.preserve {
		meta.MTime, meta.Mode = before.MTime, before.Mode
	}
	put, err := dst.Put(ctx, e.Key, sr, meta)
	// Progress counted every byte read; keep only what is verified below.
	bytes.Add(-sr.n)
	if err != nil {
		if sr.err != nil {
			return failRecord(e, ReadError, sr.err)
		}
		if ctx.Err() != nil {
			return failRecord(e, WriteError, ctx.Err())
		}
		if errors.Is(err, store.ErrInvalidKey) {
			return failRecord(e, InvalidKey, err)
		}
		return failRecord(e, WriteError, err)
	}
	crc := sr.crc
	fail := func(code string, err error) tracker.Record {
		// What landed is not a faithful copy: take it away.
		if d, ok := dst.(store.Deleter); ok {
			d.Delete(context.WithoutCancel(ctx), e.Key)
		}
		return failRecord(e, code, err)
	}
	var after store.Entry
	if opened != nil {
		after, err = opened.Stat()
	} else {
		if err := w.limits.waitRequest(ctx, job); err != nil {
			return failRecord(e, ReadError, err)
		}
		after, err = src.Stat(ctx, e.Key)
	}
	switch {
	case err != nil:
		return fail(SourceChanged, fmt.Errorf("source vanished while read: %w", err))
	case after.Size != before.Size || !sameTime(after.MTime, before.MTime) || sr.n != before.Size:
		return fail(SourceChanged, fmt.Errorf("size/mtime %d/%s before, %d/%s after, %d bytes read",
			before.Size, before.MTime.Format(time.RFC3339Nano), after.Size, after.MTime.Format(time.RFC3339Nano), sr.n))
	case put.Size != sr.n:
		return fail(SizeNotMatch, fmt.Errorf("read %d bytes, destination has %d", sr.n, put.Size))
	case put.HasCRC && put.CRC64 != crc:
		return fail(ChecksumMismatch, fmt.Errorf("crc64 read %016x, destination %016x", crc, put.CRC64))
	case before.HasCRC && before.CRC64 != crc:
		return fail(ChecksumMismatch, fmt.Errorf("crc64 read %016x, source says %016x", crc, before.CRC64))
	}
	bytes.Add(sr.n)
	rec := tracker.Record{Time: time.Now(), Result: tracker.OK, Size: sr.n, CRC64: crc, HasCRC: true, Key: e.Key}
	if sr.md5 != nil {
		rec.Detail = "md5=" + hex.EncodeToString(sr.md5.Sum(nil))
	}
	return noted(rec, t, before.MTime, put)
}

func sourceCode(err error) string {
	if errors.Is(err, store.ErrNotExist) {
		return SourceMissing
	}
	if errors.Is(err, store.ErrInvalidKey) {
		return InvalidKey
	}
	return ReadError
}

func sameTime(a, b time.Time) bool { return a.Equal(b) }

type errString string

func (e errString) Error() string { return string(e) }

func errorsIsNotExist(err error) bool { return errors.Is(err, store.ErrNotExist) }
