package local

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"

	"ferry/store"
)

// bufPool holds the copy buffers of Put, shared by all stores: with many
// copy threads, a buffer per call would be most of the garbage. 256 KiB:
// a chunk written and read back at once stays in the CPU's caches, which on
// the bench machine made large copies 15-25% faster than with 1 MiB chunks.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Temporary file names: ".ferry-" [tag "-"] 16 lowercase hex digits ".tmp",
// where tag is Put's store.PutOptions.TempTag (letters,
// digits and '-', at most maxTagLen). They are short, so a destination name
// of 255 bytes still has a sibling temporary file.
const (
	tempPrefix = ".ferry-"
	tempSuffix = ".tmp"
	tempDigits = 16
	maxTagLen  = 64
)

// tempName returns a new temporary file name carrying tag.
func tempName(tag string) string {
	if tag != "" {
		tag += "-"
	}
	return fmt.Sprintf("%s%s%016x%s", tempPrefix, tag, rand.Uint64(), tempSuffix)
}

// parseTempName reports whether name has the exact pattern of Put's
// temporary files, and returns its tag ("" for none).
func parseTempName(name string) (tag string, ok bool) {
	if !strings.HasPrefix(name, tempPrefix) || !strings.HasSuffix(name, tempSuffix) ||
		len(name) < len(tempPrefix)+tempDigits+len(tempSuffix) {
		return "", false
	}
	mid := name[len(tempPrefix) : len(name)-len(tempSuffix)]
	for _, c := range []byte(mid[len(mid)-tempDigits:]) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	tag = mid[:len(mid)-tempDigits]
	if tag == "" {
		return "", true
	}
	if !strings.HasSuffix(tag, "-") {
		return "", false
	}
	tag = tag[:len(tag)-1]
	return tag, validTag(tag)
}

// isTempName reports whether name is one of Put's temporary files.
func isTempName(name string) bool {
	_, ok := parseTempName(name)
	return ok
}

// validTag reports whether tag can name temporary files.
func validTag(tag string) bool {
	if tag == "" || len(tag) > maxTagLen {
		return false
	}
	for _, c := range []byte(tag) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '-' {
			return false
		}
	}
	return true
}

// Put writes key from r atomically: the bytes go to a temporary file in the
// destination directory (created with its parents, mode 0755, when missing),
// an unnamed one where the file system allows (anon_linux.go), which is linked or
// renamed over key only once it is complete. Readers see the old
// content or the new, never a part; after an error nothing is left behind.
//
// The returned Entry carries the size and mtime of the file and the CRC64 of
// its content read back after writing, so the caller can compare it with the
// checksum it computed from the source. Of e, only MTime and Mode are used:
// when set, they become the file's mtime and permission bits.
//
// With o.TempTag set, the temporary file's name carries the tag, so that
// CleanTemps can remove it if the process dies first.
//
// Put does not fsync on Linux: call Sync before relying on durability.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, e store.Entry, o store.PutOptions) (store.Entry, error) {
	if err := store.CheckKey(key); err != nil {
		switch {
		case strings.HasSuffix(key, "/") && store.CheckObjectKey(key) == nil:
			// An object with bytes under a "folder" key (issue 15):
			// say why it cannot land rather than just that it is bad.
			err = fmt.Errorf("%w %q: an object of %d bytes, and a local file cannot be named with a trailing '/'", store.ErrInvalidKey, key, e.Size)
		case key != "" && strings.IndexByte(key, 0) < 0:
			// An object's key ("a//b", "../x", "/x"): fine in a bucket,
			// no path below a directory (issue 15).
			err = fmt.Errorf("%w: a valid object key, but not a file path below the destination directory", err)
		}
		return store.Entry{}, fmt.Errorf("put: %w", err)
	}
	if isTempName(filepath.Base(key)) {
		return store.Entry{}, fmt.Errorf("put: %w %q: name reserved for temporary files", store.ErrInvalidKey, key)
	}
	if err := l.checkNameLengths(key); err != nil {
		return store.Entry{}, fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return store.Entry{}, err
	}
	tag := o.TempTag
	if tag != "" && !validTag(tag) {
		return store.Entry{}, fmt.Errorf("put %q: invalid temporary file tag %q (want 1-%d letters, digits or '-')", key, tag, maxTagLen)
	}
	mode := uint32(0o644)
	if e.Mode != 0 {
		mode = e.Mode & 0o777
	}
	return l.put(ctx, key, r, e, tag, mode)
}

// defaultNameMax is NAME_MAX, the longest file name (in bytes) most file
// systems take.
const defaultNameMax = 255

// checkNameLengths refuses, with store.ErrInvalidKey, a key with a
// component longer than the file system takes: checked before Put makes
// any directory, so that such a key leaves nothing behind (issue 15: the
// directories before the long name stayed, empty).
func (l *Local) checkNameLengths(key string) error {
	for i, start := 0, 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '/' {
			continue
		}
		if n := i - start; n > l.nameMax {
			return fmt.Errorf("%w %q: a name of %d bytes (%.16q...); file names here have at most %d", store.ErrInvalidKey, key, n, key[start:i], l.nameMax)
		}
		start = i + 1
	}
	return nil
}

// putFile is what Put needs of the temporary file it writes. copyVerified
// and readBack take it as a type parameter, so that the Linux fdFile is not
// boxed (an allocation per file).
type putFile interface {
	io.Writer
	io.ReaderAt
	Name() string // for errors
}

// copyVerified copies r to the file f through buf, checking
// ctx between chunks, and reads each chunk back from the file right after
// writing it: the CRC64 it returns is of what landed, which catches short
// writes and corruption between the caller's checksum and the file system.
// Read back at once, a chunk is still in the CPU's caches: reading the whole
// file back after writing it cost a third of the CPU of copying large files.
// Errors say whether reading the source or writing the file failed.
func copyVerified[F putFile](ctx context.Context, f F, r io.Reader, buf []byte) (written int64, crc uint64, err error) {
	for {
		if err := ctx.Err(); err != nil {
			return written, 0, err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return written, 0, fmt.Errorf("writing: %w", err)
			}
			if err := readBack(f, buf[:n], written); err != nil {
				return written, 0, fmt.Errorf("reading back %s: %w", f.Name(), err)
			}
			crc = store.UpdateCRC64(crc, buf[:n])
			written += int64(n)
		}
		if rerr == io.EOF {
			return written, crc, nil
		}
		if rerr != nil {
			return written, 0, fmt.Errorf("reading source: %w", rerr)
		}
	}
}

// readBack fills p from f at off; the file ending sooner is an error.
func readBack[F io.ReaderAt](f F, p []byte, off int64) error {
	n, err := f.ReadAt(p, off)
	switch {
	case n == len(p):
		return nil
	case err == nil, err == io.EOF:
		return fmt.Errorf("the file ends at %d, before what was written there", off+int64(n))
	}
	return err
}

// CleanTemps removes the temporary files named with tag (see
// store.PutOptions) in the directory dirKey ("" is the root): what an
// earlier attempt of the same task left when its process died. Other tasks'
// temporary files, and all other files, are left alone. A missing directory
// has nothing to clean, and nor has one reached through a symbolic link in
// the destination: Put never writes through one (beneath.go).
func (l *Local) CleanTemps(ctx context.Context, dirKey, tag string) error {
	if !validTag(tag) {
		return fmt.Errorf("clean temporary files: invalid tag %q", tag)
	}
	if dirKey != "" {
		if err := store.CheckKey(dirKey); err != nil {
			return fmt.Errorf("clean temporary files: %w", err)
		}
	}
	return l.cleanTemps(ctx, dirKey, tag)
}

// Delete removes key, then each parent directory that this leaves empty, up
// to but not including the root. A missing key, or one naming a directory,
// is an error wrapping store.ErrNotExist. A symbolic link among the key's
// directories is an error, and nothing is removed; a key that is a link is
// removed itself, not what it points to (beneath.go). It does not fsync.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := l.delete(key); err != nil {
		return err
	}
	l.unlanded(ctx, key)
	return nil
}
