package store

import (
	"context"
	"errors"
	"strings"
)

// Server-side copy: when a job's source and destination are on the same
// server, reached with the same credentials (a bucket to another, a prefix
// to another), the destination can copy an object without its bytes
// passing through the worker: S3's CopyObject, or a multipart upload of
// UploadPartCopy parts for a large one.

// CopySource names an object as a server-side copy names it, and says
// whose server and credentials reach it.
type CopySource struct {
	Server    string // the endpoint, host[:port], lower case
	AccessKey string // whose credentials read it (never the secret)
	Bucket    string
	Key       string // the whole key in the bucket
	ETag      string // the version to copy, when set (the copy is refused otherwise)
}

// SameServer reports whether a and b are on one server under one access
// key: what a server-side copy from a to b needs.
func SameServer(a, b CopySource) bool {
	return a.Server != "" && strings.EqualFold(a.Server, b.Server) && a.AccessKey == b.AccessKey
}

// ServerCopier is implemented by stores that can name their objects for a
// server-side copy and copy objects of the same server into themselves.
type ServerCopier interface {
	// CopySource returns how key is named in a server-side copy.
	CopySource(key string) CopySource
	// ServerCopy copies src, of size bytes, to key on the server. Of e
	// (the source's entry), MTime, Meta and CRC64 (when HasCRC) are
	// written with the copy, as Put writes them; the returned Entry is
	// the one Put would return, checked against the source as far as the
	// server tells (size, ETag, CRC64). Copies of parts are run
	// opt.Threads at a time in parts of opt.PartSize when size is at
	// least threshold. A server that refuses the copy (no permission to
	// read the source for it, no support for it) is an error wrapping
	// ErrCopyRefused: the caller copies the bytes itself instead.
	ServerCopy(ctx context.Context, key string, src CopySource, size int64, e Entry, threshold int64, opt MultipartOptions) (Entry, error)
}

// ErrCopyRefused says a server refused a server-side copy.
var ErrCopyRefused = errors.New("server-side copy refused")
