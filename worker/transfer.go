package worker

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"ferry/store"
	"ferry/task"
	"ferry/tracker"
)

// transfer copies one file and verifies it, in named steps:
//
//	open → put (or putMultipart) → settle → verify → record
//
// A failure before the copy landed leaves the destination as it was; a
// copy that landed but fails settle or verify is removed (remove), in that
// one place. A copying thread keeps one transfer and reuses it from entry
// to entry, its source reader above all.
type transfer struct {
	w       *Worker
	retries *store.RetryCounter // the one in the thread's ctx (store.WithRetryCounter)
	notes   *store.Notes        // the one in the thread's ctx (store.WithNotes)
	spare   *sourceReader       // a reader no one holds any more, or nil

	// The entry being copied.
	ctx    context.Context
	st     *jobStores
	t      *running
	e      store.Entry   // as listed
	opened store.Opened  // the source, opened with its entry (OpenStat); or nil
	rc     io.ReadCloser // the source, opened after a Stat; or nil
	sr     *sourceReader // what Put reads: limited, counted, hashed, settled
	keep   bool          // sr may serve the next entry (its Put succeeded)

	copied                // what verify judges
	parts, resumed int    // of a copy in parts: its parts, and those resumed
	server         bool   // copied on the server (servercopy.go)
	md5            string // the MD5 (hex) of a digested copy, with RecordMD5
	inFlight       int64  // bytes counted in t.bytes that only a verified copy keeps
}

// copy copies the file entry e of task t and returns its record.
func (x *transfer) copy(ctx context.Context, st *jobStores, t *running, e store.Entry) tracker.Record {
	*x = transfer{w: x.w, retries: x.retries, notes: x.notes, spare: x.spare, ctx: ctx, st: st, t: t, e: e}
	defer x.close()
	if err := x.open(); err != nil {
		return x.failed(err)
	}
	if skip, why, d := x.w.skip(ctx, st.src, st.dst, t, x.before); skip {
		return noted(skipRecord(e.Key, x.before.Size, why), t, x.before.MTime, d)
	}
	put := x.put
	switch {
	case x.inParts():
		put = x.putMultipart
	case x.digestFirst(x.before.Size):
		put = x.putDigested
	}
	if x.serverSide() {
		err := x.putServer()
		switch {
		case err == nil:
			store.Note(ctx, "copy", "server")
			put = func() error { return nil }
		case errors.Is(err, store.ErrCopyRefused):
			x.w.log.Info("server-side copy refused; streaming", "key", e.Key, "err", err)
			store.Note(ctx, "copy", "stream")
		default:
			return x.failed(err)
		}
	}
	if err := put(); err != nil {
		return x.failed(err) // nothing was published
	}
	err := x.settle()
	if err == nil {
		err = x.verify()
	}
	if err != nil {
		rec := x.failed(err)
		rec.Detail += x.remove()
		return rec
	}
	return x.record()
}

// open looks at the source: where the source can describe what it opens (a
// local file, an object pinned by ETag), by opening it, one lookup or
// request instead of a Stat, an Open and a Stat. Not when update rules may
// skip the entry, nor when its listed size says multipart or a digested
// stream, where an open would be wasted.
func (x *transfer) open() error {
	if err := x.wait(); err != nil {
		return fail(task.ReadError, err)
	}
	openFirst := x.st.srcF.OpenStat != nil && !x.t.hasSkipRules() &&
		!(x.st.dstF.Multipart() && x.e.Size >= x.t.x.mpThreshold) && !x.serverSide() && !x.digestFirst(x.e.Size)
	var err error
	if openFirst {
		x.opened, x.before, err = x.st.srcF.OpenStat(x.ctx, x.e.Key)
	} else {
		x.before, err = x.st.src.Stat(x.ctx, x.e.Key)
	}
	if err != nil {
		return fail(sourceKind(err), err)
	}
	return nil
}

// inParts reports whether the file goes to the destination in parts.
func (x *transfer) inParts() bool {
	return x.st.dstF.Multipart() && x.before.Size >= x.t.x.mpThreshold
}

// put streams the source into one Put through a sourceReader, opening it
// first if open did not.
func (x *transfer) put() error {
	var r io.Reader = x.opened
	if x.opened == nil {
		if err := x.wait(); err != nil {
			return fail(task.ReadError, err)
		}
		rc, err := x.st.src.Open(x.ctx, x.e.Key, 0, -1)
		if err != nil {
			return fail(sourceKind(err), err)
		}
		x.rc, r = rc, rc
	}
	sr := x.reader(r)
	if err := x.wait(); err != nil {
		return fail(task.WriteError, err)
	}
	meta := store.Entry{Key: x.e.Key, Size: x.before.Size, Meta: x.before.Meta}
	if x.t.x.preserve {
		meta.MTime, meta.Mode = x.before.MTime, x.before.Mode
	}
	landed, err := x.st.dst.Put(x.ctx, x.e.Key, sr, meta, x.t.put)
	// Progress counted every byte read; it keeps them only if verified.
	x.read, x.crc, x.hasCRC, x.crcOf = sr.n, sr.crc, true, "read"
	x.unread = !sr.eof
	x.inFlight = sr.n
	var f *failure
	switch {
	case err == nil:
		x.landed, x.keep = landed, true
		return nil
	case errors.As(sr.err, &f): // the source changed while read
		return f
	case sr.err != nil:
		return fail(task.ReadError, sr.err)
	case x.ctx.Err() != nil:
		return fail(task.WriteError, x.ctx.Err())
	case errors.Is(err, store.ErrInvalidKey):
		return fail(task.InvalidKey, err)
	}
	return fail(task.WriteError, err)
}

// reader returns the source reader over r: the spare one, or a new one.
func (x *transfer) reader(r io.Reader) *sourceReader {
	sr := x.spare
	x.spare = nil
	if sr == nil {
		sr = new(sourceReader)
	}
	h := sr.md5
	*sr = sourceReader{lim: limitedReader{ctx: x.ctx, r: r, l: x.w.limits, job: x.t.lease.Job},
		progress: &x.t.bytes, copied: &x.w.copied, check: x.opened, before: x.before}
	if x.w.cfg.RecordMD5 {
		if h == nil {
			h = md5.New()
		}
		h.Reset()
		sr.md5 = h
	}
	x.sr = sr
	return sr
}

// settle learns what the source is now that it has been read: from the
// reader, which settled at the end of the bytes, or by looking again.
func (x *transfer) settle() error {
	var err error
	switch {
	case x.sr != nil && x.sr.settled:
		x.after = x.sr.after
		return nil
	case x.opened != nil:
		x.after, err = x.opened.Stat()
	default:
		if err := x.wait(); err != nil {
			return fail(task.ReadError, err)
		}
		x.after, err = x.st.src.Stat(x.ctx, x.e.Key)
	}
	if err != nil {
		return vanished(err)
	}
	return nil
}

// remove takes away what landed: it is not a faithful copy. When it
// cannot, the copy stays and remove returns what the FAIL record adds to
// say so.
func (x *transfer) remove() string {
	del := x.st.dstF.Delete
	if del == nil {
		return "; the bad copy stays at the destination, which cannot delete"
	}
	if err := del(context.WithoutCancel(x.ctx), x.e.Key); err != nil && !errors.Is(err, store.ErrNotExist) {
		return fmt.Sprintf("; the bad copy stays at the destination: %v", err)
	}
	return ""
}

// record is the OK record of a verified copy; progress keeps its bytes.
func (x *transfer) record() tracker.Record {
	x.inFlight = 0
	rec := tracker.Record{Time: time.Now(), Result: tracker.OK, Key: x.e.Key}
	switch {
	case x.parts > 0:
		rec.Size, rec.CRC64, rec.HasCRC = x.landed.Size, x.landed.CRC64, x.landed.HasCRC
		if x.hasCRC { // the source's own, which verify compared with the landed one
			rec.CRC64, rec.HasCRC = x.crc, true
		}
		rec.Detail = fmt.Sprintf("multipart parts=%d", x.parts)
		if x.resumed > 0 {
			rec.Detail += fmt.Sprintf(" resumed=%d", x.resumed)
		}
	case x.server:
		rec.Size, rec.CRC64, rec.HasCRC = x.landed.Size, x.crc, x.hasCRC
		if !x.hasCRC {
			rec.CRC64, rec.HasCRC = x.landed.CRC64, x.landed.HasCRC
		}
	default:
		rec.Size, rec.CRC64, rec.HasCRC = x.read, x.crc, true
		switch {
		case x.md5 != "":
			rec.Detail = "md5=" + x.md5
		case x.sr != nil && x.sr.md5 != nil:
			rec.Detail = "md5=" + hex.EncodeToString(x.sr.md5.Sum(nil))
		}
	}
	return noted(rec, x.t, x.before.MTime, x.landed)
}

// failed is the FAIL record of err; progress gives back the bytes the
// transfer counted.
func (x *transfer) failed(err error) tracker.Record {
	x.t.bytes.Add(-x.inFlight)
	x.inFlight = 0
	f := asFailure(err)
	return failRecord(x.e, f.kind, f.err)
}

// close closes the source and keeps a reader no one holds any more for
// the next entry. Only a reader whose Put succeeded is kept: after a
// failed request, an HTTP transport may still hold the body it was
// reading.
func (x *transfer) close() {
	if x.opened != nil {
		x.opened.Close()
		x.opened = nil
	}
	if x.rc != nil {
		x.rc.Close()
		x.rc = nil
	}
	if x.keep {
		x.spare = x.sr
	}
	x.sr = nil
}

// wait waits for the job's request limiter.
func (x *transfer) wait() error { return x.w.limits.waitRequest(x.ctx, x.t.lease.Job) }
