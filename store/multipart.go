package store

import (
	"context"
	"io"
	"time"
)

// Part is one finished part of a multipart upload: its number (from 1),
// the ETag the server returned, and the CRC64 and size of its bytes.
type Part struct {
	Number int
	ETag   string
	CRC64  uint64
	Size   int64
}

// MultipartState is what a caller keeps (with the task, in the master) to
// resume a multipart upload after a crash: the upload ID, the part size
// that fixes the part boundaries, and the parts already uploaded. An empty
// UploadID starts a new upload.
type MultipartState struct {
	UploadID string
	PartSize int64
	Parts    []Part
}

// Clone returns a deep copy of s.
func (s MultipartState) Clone() MultipartState {
	s.Parts = append([]Part(nil), s.Parts...)
	return s
}

// MultipartOptions tune one multipart upload.
type MultipartOptions struct {
	// PartSize of a new upload (multipartUploadPartSize); 0 picks the
	// backend's default. A resumed upload keeps the size in its state.
	PartSize int64
	// Threads is the number of parts in flight
	// (uploadThreadNumPerLargeFile); 0 means 1.
	Threads int
	// OnPart, when set, is called with a copy of the state once the upload
	// exists and after each finished part, one call at a time, so that the
	// caller can persist it. An error from OnPart stops the upload.
	OnPart func(MultipartState) error
	// Digests, when set, is asked for the digests of the source's parts
	// of partSize bytes before a new upload is created (see PartDigester);
	// nil digests (and no error) mean none are known. With them the upload
	// is created carrying the whole object's CRC64 (combined from the
	// parts'), each part is sent with its MD5 as Content-MD5 instead of
	// being hashed again, and a part whose bytes do not have the CRC64
	// listed fails the upload: the source changed in between.
	Digests func(ctx context.Context, partSize int64) ([]PartDigest, error)
}

// PartDigest describes one part of a source file, read before it is sent.
type PartDigest struct {
	Size  int64
	CRC64 uint64
	MD5   [16]byte
}

// DigestPutter is implemented by stores that must know a body's MD5 before
// they send it (S3's Content-MD5) and would otherwise hold the whole body
// in memory to learn it. Given the digest of a source read before
// (PartDigester, one part of the whole size), PutDigested sends the
// source's bytes as it reads them, holding none, with d's MD5 as the
// body's declared digest; the server refuses a body that arrived with
// another. src returns a new reader of the whole source for each attempt.
// The bytes read must have d's size and CRC64: when they do not (the
// source changed since it was digested), the body fails before its last
// byte is sent and nothing lands. The returned Entry is the one Put would
// return; its CRC64 is that of the bytes sent. Of e, MTime and Meta are
// used.
type DigestPutter interface {
	PutDigested(ctx context.Context, key string, src func() (io.ReadCloser, error), d PartDigest, e Entry) (Entry, error)
}

// MultipartPutter is implemented by stores that can upload a large object
// in parts, several at a time, and resume an upload that was interrupted.
type MultipartPutter interface {
	// PutMultipart writes key, of size bytes, reading part by part from
	// src (which returns n bytes from off; it may be called again for the
	// same range after a failed attempt). With state.UploadID set it
	// resumes that upload, uploading only the parts that are missing;
	// state is updated as parts finish. Of e, MTime, CRC64 (when HasCRC:
	// the expected CRC of the whole object) and Meta are used. The
	// returned Entry is the one Put would return.
	PutMultipart(ctx context.Context, key string, src func(off, n int64) (io.ReadCloser, error),
		size int64, e Entry, opt MultipartOptions, state *MultipartState) (Entry, error)
	// AbortUpload abandons an upload and frees its parts. An upload that
	// is gone (finished or aborted) is an error wrapping ErrNotExist.
	AbortUpload(ctx context.Context, key, uploadID string) error
}

// Upload is an unfinished multipart upload.
type Upload struct {
	Key       string
	UploadID  string
	Initiated time.Time
}

// UploadLister is implemented by stores that can list unfinished multipart
// uploads, so that cleaning a job can abort those it abandoned.
type UploadLister interface {
	// ListUploads calls fn for each unfinished upload of a key under
	// prefix. An error from fn stops the listing and is returned.
	ListUploads(ctx context.Context, prefix string, fn func(Upload) error) error
}
