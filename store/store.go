// Package store defines the Store interface every storage backend implements
// (local directories now; object stores and URL lists later), the Entry it
// lists, and the sentinel errors callers classify failures by. Backends live
// in sub-packages, one each, and all pass the suite in store/storetest.
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// Kind says what a listed entry is. Only regular files are copied; the others
// are reported as skipped, or failed when Unreadable, with the reason in
// Entry.Detail. Kinds travel in manifests and over the wire as their
// numbers: append only.
type Kind uint8

const (
	File       Kind = iota // a regular file or object: copied
	Symlink                // a symbolic link that is not followed
	Special                // a device, fifo, socket, or a symlink loop / dangling link
	Unreadable             // a directory the listing could not read: its keys are unknown
)

// Entry describes one file or object. Keys are bytes held in a Go string:
// names that are not UTF-8 pass through unchanged. Keys use '/' as separator
// and are relative to the store's root.
type Entry struct {
	Key    string
	Size   int64
	MTime  time.Time
	ETag   string // where the backend knows one; empty otherwise
	CRC64  uint64 // CRC64-ECMA of the content, when known (HasCRC)
	HasCRC bool
	Kind   Kind
	Detail string // why a non-File entry is listed (e.g. "symlink not followed")
	// Mode holds permission bits (0o777) where the backend keeps them
	// (local); 0 is unknown. Put applies them when set.
	Mode uint32
	// Meta is HTTP metadata (content-type, user metadata, ...) that object
	// stores report and keep; keys are listed in meta.go. Nil elsewhere.
	Meta map[string]string
	// Confirmed is set only in the Entry a write returns (Put,
	// PutDigested), when it is the destination's own account of what it
	// now holds under the key, checked against what was sent: a local
	// file's bytes read back and its size once linked into place; an
	// object whose server checked the body against its Content-MD5 and
	// answered that MD5 as its ETag. A look at the key right after such a
	// write (isAuditAfterImport) can learn nothing the write did not
	// already prove. On a store that compares more than content
	// (Differ), a Confirmed entry also carries in Meta what Differs
	// compares, as the write set it (a znode's ACL and counter).
	Confirmed bool
}

// Store is one storage system rooted at a directory or bucket prefix.
type Store interface {
	// List calls fn for each entry under prefix whose key is after
	// startAfter, in byte order, streaming: it never holds the whole
	// listing. An error from fn stops the listing and is returned.
	List(ctx context.Context, prefix, startAfter string, fn func(Entry) error) error
	// Stat returns the entry for key, or an error wrapping ErrNotExist.
	Stat(ctx context.Context, key string) (Entry, error)
	// Open reads n bytes of key from off (n < 0: to the end).
	Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Put writes key atomically from r: readers see the old content or the
	// whole new content, never a part. The returned Entry describes what
	// landed; when the backend can tell, it carries the CRC64 of the bytes
	// as stored (HasCRC), so the caller can compare it with what it sent.
	// Of e, the backend keeps what it can of MTime, Mode and Meta; o says
	// how this write is made.
	Put(ctx context.Context, key string, r io.Reader, e Entry, o PutOptions) (Entry, error)
}

// PutOptions are the arguments of one Put that describe how it writes, not
// what it writes (that is its Entry). The zero value is the default.
type PutOptions struct {
	// TempTag names the temporary files of a store that writes through
	// them (local; letters, digits and '-'), so that a later attempt of
	// the same task can remove what a crashed attempt left behind
	// (TempCleaner) without touching other tasks' files in the same
	// directory.
	TempTag string
}

// Syncer is implemented by stores whose Put is not durable on its own. Sync
// makes every Put that returned before it durable (for a local disk, one
// syncfs for a whole task instead of one fsync per file).
type Syncer interface {
	Sync(ctx context.Context) error
}

// StatOpener is implemented by stores that can describe what they open: a
// local file by fstat of the open descriptor, an object by the response of
// a GET pinned to its ETag. OpenStat opens the whole of key and returns its
// entry as of the open, so a copy costs one lookup or request instead of a
// Stat, an Open and a Stat. Reads stop at that entry's size; Opened.Stat
// after the reads tells whether the key changed meanwhile (a size or mtime
// unlike the entry's). A key that is not a regular file is refused as Open
// refuses it.
type StatOpener interface {
	OpenStat(ctx context.Context, key string) (Opened, Entry, error)
}

// Opened is a key opened by StatOpener.OpenStat.
type Opened interface {
	io.ReadCloser
	// Stat describes the open file now.
	Stat() (Entry, error)
}

// Pinned is an Opened that describes itself from what its reader learnt:
// an object read by GETs pinned to the version the first one answered,
// whose reader keeps that version's entry at At.
type Pinned struct {
	io.ReadCloser
	At *Entry
}

// Stat returns the entry of the version being read.
func (p Pinned) Stat() (Entry, error) { return *p.At, nil }

// PartDigester is implemented by stores that read a key's bytes without a
// request: a local file system, where they are often in the page cache. A
// multipart upload asks first (MultipartOptions.Digests), so that the
// destination gets the object's CRC64 when the upload is created rather
// than by a server-side copy of the whole object afterwards, and so that
// the parts' MD5s are computed side by side (internal/md5lanes) instead of
// one part at a time as each is sent. PartDigests returns the digests of
// consecutive parts of partSize bytes (the last one shorter) and the size
// of the key when it was read.
type PartDigester interface {
	PartDigests(ctx context.Context, key string, partSize int64) ([]PartDigest, int64, error)
}

// Deleter is implemented by stores that can remove a key.
type Deleter interface {
	Delete(ctx context.Context, key string) error
}

// TreeDeleter is implemented by stores whose keys are nodes of a tree,
// each of which may have children (ZooKeeper's znodes): DeleteTree removes
// key and everything below it, which Delete refuses to do. A mirror uses
// it for a key the source no longer has (nor, then, anything below it).
type TreeDeleter interface {
	DeleteTree(ctx context.Context, key string) error
}

// Differ is implemented by stores whose entries carry more than content
// that a copy must keep (a znode's ACL and sequential counter, in Meta).
// Differs says why destination entry d is not a faithful copy of source
// entry s beyond their size and CRC64, or "" when it is as far as Differs
// can tell (or the entries carry nothing it compares).
type Differ interface {
	Differs(s, d Entry) string
}

// Sentinel errors. Backends wrap them with the key and the cause so callers
// can test with errors.Is and still print something useful.
var (
	ErrNotExist   = errors.New("not found")
	ErrInvalidKey = errors.New("invalid key")
	ErrPermission = errors.New("permission denied")
)

// Close releases what s holds beyond its calls (a URL list's sorted copy,
// open descriptors), when it holds anything: a store that is an io.Closer.
// Whoever opens a store closes it when done with it.
func Close(s Store) error {
	if c, ok := s.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
