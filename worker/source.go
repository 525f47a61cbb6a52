package worker

import (
	"fmt"
	"hash"
	"io"
	"sync/atomic"
	"time"

	"ferry/store"
	"ferry/task"
)

// sourceReader hashes and counts what it reads through the job's limits,
// and keeps its own errors so a failed Put can be blamed on the right side.
// One allocation per file: the limited reader and the CRC live in it.
//
// Given the opened source and what it was before (check), it settles at
// the end: it stats the source and, if the source changed while read (or
// since before), returns a SOURCE_CHANGED failure instead of io.EOF (or
// SIZE_NOT_MATCH if it sent another size than it says it holds), so that
// Put fails before publishing anything and whatever the destination held
// stays.
type sourceReader struct {
	lim      limitedReader
	crc      uint64
	md5      hash.Hash
	n        int64
	progress *atomic.Int64
	copied   *atomic.Int64
	err      error

	check   store.Opened // when set, settle at the end against before
	before  store.Entry
	after   store.Entry // the source after reading, once settled
	settled bool
	eof     bool // read to its end
}

// settle stats the opened source at the end of its bytes and compares it
// with before.
func (s *sourceReader) settle() error {
	s.settled = true
	a, err := s.check.Stat()
	if err != nil {
		return vanished(err)
	}
	s.after = a
	b := s.before
	if a.Kind == store.File && a.Size == b.Size && sameTime(a.MTime, b.MTime) && s.n != b.Size {
		return sizeNotSent(b.Size, s.n)
	}
	if a.Kind != store.File || a.Size != b.Size || !sameTime(a.MTime, b.MTime) {
		what := "a regular file"
		if a.Kind != store.File {
			what = a.Detail
		}
		return fail(task.SourceChanged, fmt.Errorf("size/mtime %d/%s before, %d/%s after (%s), %d bytes read",
			b.Size, b.MTime.Format(time.RFC3339Nano), a.Size, a.MTime.Format(time.RFC3339Nano), what, s.n))
	}
	return nil
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
