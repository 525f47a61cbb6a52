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
//
// Given the opened source and what it was before (check), it settles at
// the end: it stats the source and, if the source changed while read (or
// since before), returns a *changedError instead of io.EOF, so that Put
// fails before publishing anything and whatever the destination held stays.
type sourceReader struct {
	lim      limitedReader
	crc      uint64
	md5      hash.Hash
	n        int64
	progress *atomic.Int64
	copied   *atomic.Int64
	err      error

	check    store.Opened // when set, settle at the end against before
	before   store.Entry
	after    store.Entry // the source after reading, once settled
	settled  bool
	lateMode bool // offer after's mode to Put (store.LateModer)
	eof      bool // the source was read to its end
}

// changedError is a source that changed while it was read, or since the
// entry the copy started from.
type changedError struct{ msg string }

func (e *changedError) Error() string { return e.msg }

// settle stats the opened source at the end of its bytes and compares it
// with before.
func (s *sourceReader) settle() error {
	s.settled = true
	a, err := s.check.Stat()
	if err != nil {
		return &changedError{fmt.Sprintf("source vanished while read: %v", err)}
	}
	s.after = a
	b := s.before
	if a.Kind != store.File || a.Size != b.Size || !sameTime(a.MTime, b.MTime) || s.n != b.Size {
		what := "a regular file"
		if a.Kind != store.File {
			what = a.Detail
		}
		return &changedError{fmt.Sprintf("size/mtime %d/%s before, %d/%s after (%s), %d bytes read",
			b.Size, b.MTime.Format(time.RFC3339Nano), a.Size, a.MTime.Format(time.RFC3339Nano), what, s.n)}
	}
	return nil
}

// LateMode is the source's mode, known once it is settled (store.LateModer).
func (s *sourceReader) LateMode() uint32 {
	if !s.lateMode || !s.settled {
		return 0
	}
	return s.after.Mode
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
	if err == io.EOF {
		s.eof = true
	}
	if err == io.EOF && s.check != nil && !s.settled {
		if cerr := s.settle(); cerr != nil {
			err = cerr
		}
	}
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}

// copier is what a copying thread reuses from entry to entry.
type copier struct {
	retries *store.RetryCounter // the one in the thread's ctx (store.WithRetryCounter)
	spare   *sourceReader       // a reader no one holds any more, or nil
}

// reader returns a source reader to fill: the spare one, or a new one.
func (c *copier) reader() *sourceReader {
	if sr := c.spare; sr != nil {
		c.spare = nil
		return sr
	}
	return new(sourceReader)
}

// recycle keeps sr for the next file. Only a reader whose Put succeeded is
// kept: after a failed request, an HTTP transport may still hold the body
// it was reading.
func (c *copier) recycle(sr *sourceReader) { c.spare = sr }

// copyEntry copies one entry and verifies it, returning its audit record.
// t.bytes counts the task's bytes in flight for progress reports; it is
// corrected to count only verified entries. ctx carries c.retries, which
// copyEntry resets first.
func (w *Worker) copyEntry(ctx context.Context, c *copier, src, dst store.Store, t *running, e store.Entry) tracker.Record {
	c.retries.Reset()
	var rec tracker.Record
	switch {
	case t.x.audit:
		rec = w.auditEntry(ctx, src, dst, t, e)
	default:
		rec = w.copyOne(ctx, c, src, dst, t, e)
		if rec.Result == tracker.OK && t.x.auditAfter {
			if _, fail, ok := w.compare(ctx, src, dst, t, store.Entry{Key: e.Key, Size: rec.Size, CRC64: rec.CRC64, HasCRC: rec.HasCRC}); !ok {
				rec = fail
			}
		}
	}
	n := c.retries.Retries()
	if n > 0 {
		rec.Detail = strings.TrimPrefix(rec.Detail+fmt.Sprintf("; retries=%d", n), "; ")
	}
	w.pace.observe(n)
	return rec
}

// copyOne copies the entry e and returns its record; a symlink or special
// file the listing reported is skipped (or failed, if it could not be read).
func (w *Worker) copyOne(ctx context.Context, c *copier, src, dst store.Store, t *running, e store.Entry) tracker.Record {
	switch e.Kind {
	case store.Symlink, store.Special:
		res := tracker.Skip
		if strings.HasPrefix(e.Detail, "cannot read") {
			return failRecord(e, ReadError, errors.New(e.Detail))
		}
		return tracker.Record{Time: time.Now(), Result: res, Key: e.Key, Detail: e.Detail}
	}
	rec, again := w.copyFile(ctx, c, src, dst, t, e, true)
	if again {
		rec, _ = w.copyFile(ctx, c, src, dst, t, e, false)
	}
	return rec
}

// copyFile copies the file e. With quick, a source that can open without
// describing what it opens (store.QuickOpener: a local file, one system call
// fewer) is checked against e, the listing's entry, once read; when that
// fails (the file changed since it was listed, or is no longer a file),
// nothing was published and copyFile asks to be called again without quick.
func (w *Worker) copyFile(ctx context.Context, c *copier, src, dst store.Store, t *running, e store.Entry, quick bool) (rec tracker.Record, again bool) {
	spec, bytes := t.lease.Spec, &t.bytes
	job := t.lease.Job
	if err := w.limits.waitRequest(ctx, job); err != nil {
		return failRecord(e, ReadError, err), false
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
	qo, ok := src.(store.QuickOpener)
	quick = quick && ok && openFirst && e.Kind == store.File && !e.MTime.IsZero()
	switch {
	case quick:
		opened, err = qo.OpenQuick(ctx, e.Key, e.Size)
		before = e
	case openFirst:
		opened, before, err = so.OpenStat(ctx, e.Key)
	default:
		before, err = src.Stat(ctx, e.Key)
	}
	if err != nil {
		if quick {
			return tracker.Record{}, true
		}
		return failRecord(e, sourceCode(err), err), false
	}
	closeOpened := func() {
		if opened != nil {
			opened.Close()
			opened = nil
		}
	}
	defer closeOpened()
	if skip, why, d := w.skip(ctx, src, dst, t, before); skip {
		return noted(tracker.Record{Time: time.Now(), Result: tracker.Skip, Size: before.Size, Key: e.Key, Detail: why}, t, before.MTime, d), false
	}
	if mp, ok := dst.(store.MultipartPutter); ok && before.Size >= t.x.mpThreshold {
		closeOpened()
		return w.copyMultipart(ctx, src, mp, t, e, before), false
	}
	var r io.Reader = opened
	if opened == nil {
		if err := w.limits.waitRequest(ctx, job); err != nil {
			return failRecord(e, ReadError, err), false
		}
		rc, err := src.Open(ctx, e.Key, 0, -1)
		if err != nil {
			return failRecord(e, sourceCode(err), err), false
		}
		defer rc.Close()
		r = rc
	}
	sr := c.reader()
	h := sr.md5
	*sr = sourceReader{lim: limitedReader{ctx: ctx, r: r, l: w.limits, job: job}, progress: bytes, copied: &w.copied,
		check: opened, before: before, lateMode: quick && t.x.preserve}
	if spec.RecordMD5 || w.cfg.RecordMD5 {
		if h == nil {
			h = md5.New()
		}
		h.Reset()
		sr.md5 = h
	}
	if err := w.limits.waitRequest(ctx, job); err != nil {
		return failRecord(e, WriteError, err), false
	}
	meta := store.Entry{Key: e.Key, Size: before.Size, Meta: before.Meta}
	if t.x.preserve {
		meta.MTime, meta.Mode = before.MTime, before.Mode
	}
	put, err := dst.Put(ctx, e.Key, sr, meta)
	// Progress counted every byte read; it keeps them only if verified
	// below.
	read, verified := sr.n, false
	defer func() {
		if !verified {
			bytes.Add(-read)
		}
	}()
	if err == nil {
		defer c.recycle(sr)
	} else {
		var changed *changedError
		switch {
		case sr.err != nil && quick && ctx.Err() == nil:
			// Changed since it was listed, or not a file: nothing was
			// published; the full protocol copies or refuses it.
			return tracker.Record{}, true
		case errors.As(sr.err, &changed):
			return failRecord(e, SourceChanged, changed), false
		case sr.err != nil:
			return failRecord(e, ReadError, sr.err), false
		case ctx.Err() != nil:
			return failRecord(e, WriteError, ctx.Err()), false
		case errors.Is(err, store.ErrInvalidKey):
			return failRecord(e, InvalidKey, err), false
		}
		return failRecord(e, WriteError, err), false
	}
	crc := sr.crc
	takeAway := func() { // what landed is not a faithful copy
		if d, ok := dst.(store.Deleter); ok {
			d.Delete(context.WithoutCancel(ctx), e.Key)
		}
	}
	fail := func(code string, err error) tracker.Record {
		takeAway()
		return failRecord(e, code, err)
	}
	// A Put that read to the end settled the source already; else look now.
	var after store.Entry
	switch {
	case sr.settled:
		after = sr.after
	case opened != nil:
		after, err = opened.Stat()
	default:
		if err := w.limits.waitRequest(ctx, job); err != nil {
			return failRecord(e, ReadError, err), false
		}
		after, err = src.Stat(ctx, e.Key)
	}
	switch {
	case err != nil:
		return fail(SourceChanged, fmt.Errorf("source vanished while read: %w", err)), false
	case !sr.eof && sr.n < before.Size:
		// Put returned before reading the source to its end: whatever
		// it stored, it is not the whole source.
		return fail(SizeNotMatch, fmt.Errorf("destination took %d of %d bytes", sr.n, before.Size)), false
	case after.Size != before.Size || !sameTime(after.MTime, before.MTime) || sr.n != before.Size:
		if quick { // perhaps only changed since it was listed: again, in full
			takeAway()
			return tracker.Record{}, true
		}
		return fail(SourceChanged, fmt.Errorf("size/mtime %d/%s before, %d/%s after, %d bytes read",
			before.Size, before.MTime.Format(time.RFC3339Nano), after.Size, after.MTime.Format(time.RFC3339Nano), sr.n)), false
	case put.Size != sr.n:
		return fail(SizeNotMatch, fmt.Errorf("read %d bytes, destination has %d", sr.n, put.Size)), false
	case put.HasCRC && put.CRC64 != crc:
		return fail(ChecksumMismatch, fmt.Errorf("crc64 read %016x, destination %016x", crc, put.CRC64)), false
	case before.HasCRC && before.CRC64 != crc:
		return fail(ChecksumMismatch, fmt.Errorf("crc64 read %016x, source says %016x", crc, before.CRC64)), false
	}
	verified = true
	rec = tracker.Record{Time: time.Now(), Result: tracker.OK, Size: sr.n, CRC64: crc, HasCRC: true, Key: e.Key}
	if sr.md5 != nil {
		rec.Detail = "md5=" + hex.EncodeToString(sr.md5.Sum(nil))
	}
	return noted(rec, t, before.MTime, put), false
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
