package store

import (
	"context"
	"io"
)

// Assembler is implemented by stores where a file can be written in
// ranges by several writers, on several hosts, then published whole: the
// part tasks of a large file (task.Part). An object store assembles a
// multipart upload; a local directory a temporary file beside the target.
type Assembler interface {
	// BeginAssembly starts writing key, of size bytes, in parts of
	// partSize (a range written later is whole parts, but the file's
	// last). tag names the temporary file where the store writes through
	// one. Of e, MTime, Meta and CRC64 (when HasCRC) are kept for the
	// published file, as Put keeps them.
	BeginAssembly(ctx context.Context, key, tag string, size int64, e Entry, partSize int64) (Assembly, error)
	// WriteRange writes bytes [off, off+n) of the file, reading them with
	// src (which may be called again for a range after a failure), and
	// returns the parts written, numbered from 1 at byte 0, each with the
	// CRC64 of its bytes as they landed (read back, or acknowledged by the
	// server's check of their MD5). Parts in done are not written again.
	// onPart, when set, is called with the parts written so far after
	// each, one call at a time. The range is durable when WriteRange
	// returns.
	WriteRange(ctx context.Context, key string, a Assembly, off, n int64, src func(off, n int64) (io.ReadCloser, error),
		threads int, done []Part, onPart func([]Part) error) ([]Part, error)
	// FinishAssembly publishes key from all its parts, in order, once
	// they make size bytes whose CRC64, combined from the parts', is
	// e.CRC64 when e.HasCRC; it returns what landed, as Put does.
	// Finishing an assembly that was finished already (a retry after a
	// lost answer) returns what landed then.
	FinishAssembly(ctx context.Context, key string, a Assembly, size int64, parts []Part, e Entry) (Entry, error)
	// AbortAssembly abandons an assembly and frees what it holds.
	AbortAssembly(ctx context.Context, key string, a Assembly) error
}

// Assembly names a file being assembled: the multipart upload, or the
// temporary file (relative to the store's root), and its part size.
type Assembly struct {
	ID       string
	PartSize int64
	// CRCKnown says the file's CRC64 was given when the assembly began
	// (an object store wrote it with the upload).
	CRCKnown bool `json:",omitempty"`
}

// CombineParts returns the CRC64 and size of the concatenated parts, which
// must be parts 1..len(parts) in order.
func CombineParts(parts []Part) (crc uint64, size int64, ok bool) {
	for i, p := range parts {
		if p.Number != i+1 {
			return 0, 0, false
		}
		crc = CombineCRC64(crc, p.CRC64, p.Size)
		size += p.Size
	}
	return crc, size, true
}
