package worker

import (
	"errors"
	"fmt"
	"time"

	"ferry/store"
	"ferry/task"
)

// failure is why an entry failed: its kind, and the cause people read after
// the kind's code. Every step of a transfer fails with one.
type failure struct {
	kind task.Kind
	err  error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// fail returns the failure of kind k caused by err.
func fail(k task.Kind, err error) *failure { return &failure{k, err} }

// asFailure returns err's failure, or a WRITE_ERROR for an error that does
// not say what it is.
func asFailure(err error) *failure {
	var f *failure
	if errors.As(err, &f) {
		return f
	}
	return fail(task.WriteError, err)
}

// vanished is the failure of a source that could not be looked at again
// once read.
func vanished(err error) *failure {
	return fail(task.SourceChanged, fmt.Errorf("source vanished while read: %w", err))
}

// copied is the evidence a copy is verified on: the source as it was opened
// and once read, what was read of it, and what the destination says landed.
type copied struct {
	before, after store.Entry // the source when opened, and once read
	read          int64       // bytes read from it
	crc           uint64      // CRC64 of the source's bytes, when hasCRC
	hasCRC        bool
	crcOf         string      // whose crc is: "read" (hashed as read) or "source" (the source's own)
	landed        store.Entry // the destination's entry as Put returned it
	unread        bool        // Put returned before reading the source to its end
}

// verify says whether a copy is faithful: nil, or a failure of kind
// SOURCE_CHANGED (the source's size or mtime moved while it was read),
// SIZE_NOT_MATCH (the source sent fewer or more bytes than it said it
// held, and still says so; Put returned before taking all the source
// held; or the destination holds another size than was read) or
// CHECKSUM_MISMATCH (the destination's CRC64, or the
// source's own, is not what was read). Every copy, in one Put or in parts,
// is judged here; the caller removes what fails.
func (c *copied) verify() error {
	b, a := c.before, c.after
	switch {
	case c.unread && c.read < b.Size:
		return fail(task.SizeNotMatch, fmt.Errorf("destination took %d of %d bytes", c.read, b.Size))
	case a.Size != b.Size || !sameTime(a.MTime, b.MTime):
		return fail(task.SourceChanged, fmt.Errorf("size/mtime %d/%s before, %d/%s after, %d bytes read",
			b.Size, b.MTime.Format(time.RFC3339Nano), a.Size, a.MTime.Format(time.RFC3339Nano), c.read))
	case c.read != b.Size:
		return sizeNotSent(b.Size, c.read)
	case c.landed.Size != c.read:
		return fail(task.SizeNotMatch, fmt.Errorf("read %d bytes, destination has %d", c.read, c.landed.Size))
	case c.hasCRC && c.landed.HasCRC && c.landed.CRC64 != c.crc:
		return fail(task.ChecksumMismatch, fmt.Errorf("crc64 %s %016x, destination %016x", c.crcOf, c.crc, c.landed.CRC64))
	case c.hasCRC && b.HasCRC && b.CRC64 != c.crc:
		return fail(task.ChecksumMismatch, fmt.Errorf("crc64 %s %016x, source says %016x", c.crcOf, c.crc, b.CRC64))
	}
	return nil
}

func sameTime(a, b time.Time) bool { return a.Equal(b) }

// sizeNotSent is the failure of a source that said, before and after it
// was read, that it held size bytes, and sent read: a server whose
// Content-Length or Content-Range contradicts its HEAD, say. Nothing
// changed, so it is not SOURCE_CHANGED.
func sizeNotSent(size, read int64) *failure {
	return fail(task.SizeNotMatch, fmt.Errorf("the source said %d bytes (before and after the read), sent %d", size, read))
}
