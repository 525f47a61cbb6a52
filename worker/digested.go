package worker

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"ferry/store"
	"ferry/task"
)

// Medium files to a destination that must know a body's MD5 before it
// sends it (S3's Content-MD5): from a source that reads its bytes without
// a request (a local file, often in the page cache), the file is digested
// first (MD5 and CRC64, store.PartDigester) and then streamed in one PUT
// (store.DigestPutter) that holds none of it, instead of Put holding the
// whole body in memory to hash it. The proof of what landed is the same:
// the server checks the body against the MD5, the returned ETag is
// compared with it, and the bytes sent must have the CRC64 of the first
// read (else the body fails before its last byte); verify then compares
// that CRC64 with the destination's and the source's size and mtime
// before and after.

// digestedMin is the least size sent digested: below it, a body held in
// memory (in 1 MiB chunks) costs less than a second read of the file.
const digestedMin = 4 << 20

// digestFirst reports whether a file of size bytes goes as a digested
// stream (putDigested).
func (x *transfer) digestFirst(size int64) bool {
	return x.st.dstF.PutDigested != nil && x.st.srcF.PartDigests != nil && size >= digestedMin &&
		!(x.st.dstF.Multipart() && size >= x.t.x.mpThreshold)
}

// putDigested is put for a medium file: its digest first, then one PUT
// streamed from the source. A source that cannot be digested (a network
// file system, a file that changed size since it was looked at) goes by
// put, held in memory.
func (x *transfer) putDigested() error {
	ctx, w, t, e, before := x.ctx, x.w, x.t, x.e, x.before
	if x.opened != nil {
		x.opened.Close()
		x.opened = nil
	}
	ds, n, err := x.st.srcF.PartDigests(ctx, e.Key, before.Size)
	if err != nil || n != before.Size || len(ds) != 1 {
		w.log.Debug("no digest; the body is held in memory", "key", e.Key, "size", n, "want", before.Size, "err", err)
		return x.put()
	}
	d := ds[0]
	var read atomic.Int64
	open := func() (io.ReadCloser, error) {
		if err := x.wait(); err != nil {
			return nil, err
		}
		r, err := x.st.src.Open(ctx, e.Key, 0, d.Size)
		if err != nil {
			return nil, fail(sourceKind(err), err)
		}
		lr := &limitedReader{ctx: ctx, r: r, l: w.limits, job: t.lease.Job}
		return &countingReader{ReadCloser: readCloser{lr, r}, progress: &read, total: &w.copied}, nil
	}
	meta := store.Entry{Key: e.Key, Size: before.Size, Meta: before.Meta}
	if t.x.preserve {
		meta.MTime, meta.Mode = before.MTime, before.Mode
	}
	stop := showProgress(&t.bytes, &read)
	landed, err := x.st.dstF.PutDigested(ctx, e.Key, open, d, meta)
	stop()
	if err != nil {
		var f *failure
		switch {
		case errors.As(err, &f): // the source's
			return fail(f.kind, err)
		case ctx.Err() != nil:
			return fail(task.WriteError, ctx.Err())
		case errors.Is(err, store.ErrInvalidKey):
			return fail(task.InvalidKey, err)
		}
		// Bytes unlike the digest fail the body; the file's size or
		// mtime says whether it changed.
		if now, serr := x.st.src.Stat(ctx, e.Key); serr == nil && (now.Size != before.Size || !sameTime(now.MTime, before.MTime)) {
			return fail(task.SourceChanged, fmt.Errorf("changed while uploaded (size/mtime %d/%s before, %d/%s after): %w", before.Size,
				before.MTime.Format(time.RFC3339Nano), now.Size, now.MTime.Format(time.RFC3339Nano), err))
		}
		return fail(task.WriteError, err)
	}
	t.bytes.Add(d.Size)
	x.inFlight = d.Size
	x.landed = landed
	x.read, x.crc, x.hasCRC, x.crcOf = d.Size, d.CRC64, true, "read"
	if w.cfg.RecordMD5 {
		x.md5 = hex.EncodeToString(d.MD5[:])
	}
	return nil
}
