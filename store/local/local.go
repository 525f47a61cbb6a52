// Package local is the Store backend for a directory of the local file
// system (destType=local, or a local source).
//
// A key is a path relative to the root directory, '/'-separated, checked with
// store.CheckKey so it can never leave the root. Names are bytes: names that
// are not UTF-8, or hold tabs, newlines, quotes or '%', are keys like any
// other.
//
// What List reports:
//   - regular files, with size and mtime;
//   - symbolic links as store.Symlink when Options.FollowSymlinks is off;
//     when it is on, a link to a file as that file, a link to a directory
//     as that directory (keys continue under the link's name), and a link
//     that loops back to a directory on the current path, or dangles, as
//     store.Special;
//   - fifos, sockets and devices as store.Special;
//   - a directory that cannot be read as store.Unreadable, with the key of the
//     directory followed by '/' (so the listing stays in byte order; such a
//     key is never copied) and a Detail starting "cannot read directory:".
//
// Empty directories are not listed: ferry copies files, and a directory
// exists in a destination only as the parent of a file.
//
// Put writes to a temporary file in the destination directory, named
// ".ferry-[<tag>-]<16 hex digits>.tmp", and renames it into place. List skips
// names of that exact pattern, so the leftovers of a crash are never copied
// or counted; Put refuses keys whose last component has that pattern, and
// CleanTemps removes the leftovers of one task (its tag, see
// store.PutOptions).
//
// Put, Delete and CleanTemps never follow a symbolic link below the root
// (the root itself may be one): a link among a key's directories fails
// that key with the reason, and a link at the key is replaced or removed
// itself (beneath.go).
//
// Put does not fsync on Linux: Sync makes every earlier Put durable with one
// syncfs. Elsewhere, without syncfs, Put fsyncs each file it writes and Sync
// the directories that hold their names.
//
// On Linux the store works with system calls of its own (the *_linux.go
// files: bare descriptors, getdents64, unnamed temporary files, syncfs).
// Every other system gets the portable implementation, written with the os
// package alone (the *_portable.go files, which local_other.go routes to);
// the tests run it on Linux too.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"

	"ferry/store"
)

var (
	_ store.Store       = (*Local)(nil)
	_ store.Syncer      = (*Local)(nil)
	_ store.Deleter     = (*Local)(nil)
	_ store.TempCleaner = (*Local)(nil)
	_ io.Closer         = (*Local)(nil)
)

// Options tune a Local store.
type Options struct {
	// FollowSymlinks lists and opens what symbolic links point to, instead
	// of reporting them as store.Symlink entries.
	FollowSymlinks bool
	// Create makes the root directory (mode 0755, with its parents) when it
	// does not exist, as a destination needs; a source root must exist.
	Create bool
	// ScanThreads lists the subtrees of directories less than ScanDepth
	// levels below the root (1: the root's subdirectories) on up to
	// ScanThreads threads in all, ahead of where List has reached
	// (job.cfg's scanThreadCount and maxMultiThreadScanDepth). Keys still
	// come in order. 0 or 1 lists on one thread.
	ScanThreads, ScanDepth int
}

// Local is a Store over the directory tree below a root. It is safe for
// concurrent use.
type Local struct {
	root    string // absolute and clean
	opt     Options
	nameMax int // the longest file name the root's file system takes (rootNameMax)
	// portable: use the os package alone (the *_portable.go files), as on
	// every system but Linux; tests set it on Linux.
	portable bool

	mu   sync.Mutex
	devs map[uint64]int  // Linux: other devices Put wrote to -> an open directory fd on it
	dirs map[string]bool // portable: directories Put added names to since the last Sync

	rootDev   uint64       // Linux: device of root, synced by Sync
	rootFD    atomic.Int32 // Linux: descriptor of root plus one; 0: not open (beneath_linux.go)
	rootSeen  atomic.Int64 // Linux: when rootDir last found root's path leading to rootFD (Unix ns)
	noOpenat2 atomic.Bool  // Linux: openat2 is missing or refused; walk instead
	anonOnce  sync.Once
	anon      int32 // Linux: how Put makes temporary files: anon* in anon_linux.go

	staleRoots []int // Linux: root descriptors rootDir replaced, closed by Close; l.mu
}

// New returns the store rooted at the directory root. A missing root is an
// error wrapping store.ErrNotExist unless opt.Create is set.
func New(root string, opt Options) (*Local, error) {
	if root == "" {
		return nil, errors.New("local store: empty root path")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("local store: root %s: %w", root, err)
	}
	fi, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) && opt.Create {
		if err = os.MkdirAll(abs, 0o755); err == nil {
			fi, err = os.Stat(abs)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("local store: root %s: %w", abs, classify(err))
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("local store: root %s is not a directory", abs)
	}
	l := &Local{root: abs, opt: opt, nameMax: rootNameMax(abs), devs: make(map[uint64]int), dirs: make(map[string]bool)}
	l.init(fi)
	return l, nil
}

// Root returns the absolute path of the root directory.
func (l *Local) Root() string { return l.root }

// path returns the file name of a checked key. A checked key has no empty,
// "." or ".." component and no trailing '/', so joining it to the clean root
// gives a clean path without filepath.Join's cleaning (which showed in
// profiles of many small files).
func (l *Local) path(key string) string {
	if l.root == "/" {
		return "/" + key
	}
	return l.root + "/" + key
}

// Stat returns the entry for key: a regular file, or, like List, a symlink or
// special file with the reason in Detail. A missing key, or one that names a
// directory, is an error wrapping store.ErrNotExist.
func (l *Local) Stat(ctx context.Context, key string) (store.Entry, error) {
	if err := store.CheckKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("stat: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return store.Entry{}, err
	}
	return l.stat(key)
}

// Open returns the n bytes of key from off (n < 0: up to the end). Only
// regular files can be opened; a symlink is refused unless FollowSymlinks is
// set. A fifo is refused without waiting for a writer.
func (l *Local) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if off < 0 {
		return nil, fmt.Errorf("open %q: negative offset %d", key, off)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := l.openFile(key)
	if err != nil {
		if !l.opt.FollowSymlinks && errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("open %q: symlink not followed: %w", key, err)
		}
		return nil, opError("open", key, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			err = fmt.Errorf("%w: %s is a directory", store.ErrNotExist, f.Name())
		} else {
			err = fmt.Errorf("not a regular file (%s)", typeName(fi.Mode().Type()))
		}
	}
	if err == nil && off > 0 {
		_, err = f.Seek(off, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %q: %w", key, err)
	}
	if n < 0 {
		return f, nil
	}
	return &rangeReader{Reader: io.LimitReader(f, n), f: f}, nil
}

// rangeReader reads a range of an open file and closes the file.
type rangeReader struct {
	io.Reader
	f *os.File
}

func (r *rangeReader) Close() error { return r.f.Close() }

// openFile opens key to read, as Open and OpenStat do: not
// following a symlink unless FollowSymlinks is set, and not waiting for a
// writer on a fifo.
func (l *Local) openFile(key string) (*os.File, error) {
	p := l.path(key)
	if !l.opt.FollowSymlinks {
		if err := refuseSymlink(p); err != nil {
			return nil, &fs.PathError{Op: "open", Path: p, Err: err}
		}
	}
	return os.OpenFile(p, readFlags(l.opt.FollowSymlinks), 0)
}

// Sync makes every Put that returned before Sync was called durable: the
// data, the metadata and the rename into place all reach stable storage. A
// worker calls it once per task, before reporting the task done. On Linux
// it is one syncfs(2) of the file system holding the root (and of each
// other file system below the root that Put wrote to), which replaces an
// fsync per file; a write-back error on those file systems since the last
// Sync is returned (Linux 5.8+). Elsewhere Put fsyncs each file, and Sync
// each directory Put added a name to (sync_portable.go).
func (l *Local) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return l.sync()
}

// Close releases the descriptors the store keeps: of the root, and those
// Sync keeps on devices other than the root's. The store stays usable (it
// opens the root again, resolving its path again).
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeDescriptors()
}

// entryOfInfo describes a file the way List and Stat report it.
func entryOfInfo(key string, fi fs.FileInfo) store.Entry {
	e := store.Entry{Key: key, MTime: fi.ModTime(), Mode: uint32(fi.Mode().Perm())}
	switch t := fi.Mode().Type(); t {
	case 0:
		e.Kind, e.Size = store.File, fi.Size()
	case fs.ModeSymlink:
		e.Kind, e.Detail = store.Symlink, "symlink not followed"
	default:
		e.Kind, e.Detail = store.Special, "not a regular file ("+typeName(t)+")"
	}
	return e
}

// typeName names the file type t (the type bits of an fs.FileMode).
func typeName(t fs.FileMode) string {
	switch t {
	case 0:
		return "regular file"
	case fs.ModeDir:
		return "directory"
	case fs.ModeSymlink:
		return "symlink"
	case fs.ModeNamedPipe:
		return "fifo"
	case fs.ModeSocket:
		return "socket"
	case fs.ModeDevice | fs.ModeCharDevice:
		return "character device"
	case fs.ModeDevice:
		return "block device"
	}
	return "unknown type " + t.String()
}

// classify returns the store sentinel an OS error belongs to, or err itself
// when none fits. A missing parent (ENOTDIR) is a missing key; a name longer
// than the file system allows is a key this store cannot hold.
func classify(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return store.ErrNotExist
	case errors.Is(err, fs.ErrPermission):
		return store.ErrPermission
	case errors.Is(err, syscall.ENAMETOOLONG):
		return store.ErrInvalidKey
	}
	return err
}

// opError wraps err for op on key, with the store sentinel it belongs to.
func opError(op, key string, err error) error {
	if s := classify(err); s != err {
		return fmt.Errorf("%s %q: %w: %w", op, key, s, err)
	}
	return fmt.Errorf("%s %q: %w", op, key, err)
}

// ignoringEINTR retries fn while it is interrupted by a signal, which Go's
// own preemption signals make likely on slow (network, FUSE) file systems.
func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != syscall.EINTR {
			return err
		}
	}
}
