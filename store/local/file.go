package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"golang.org/x/sys/unix"

	"ferry/store"
)

var (
	_ store.StatOpener   = (*Local)(nil)
	_ store.PartDigester = (*Local)(nil)
)

// OpenStat opens key whole and returns it with its entry, taken from the open
// descriptor (fstat), so a copy of a small file costs one name lookup. It
// refuses what Open refuses: a directory (an error wrapping
// store.ErrNotExist), a fifo, socket or device, and a symlink unless
// FollowSymlinks is set.
//
// The file is a bare descriptor, not an *os.File: for a regular file the
// runtime poller has nothing to do, and os.File's setup costs two or three
// system calls per file (fcntl, epoll_ctl) that a copy of many small files
// pays for nothing. Reads stop at the size the entry reports.
func (l *Local) OpenStat(ctx context.Context, key string) (store.Opened, store.Entry, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, store.Entry{}, fmt.Errorf("open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, store.Entry{}, err
	}
	fd, err := l.openRead(key)
	if err != nil {
		return nil, store.Entry{}, err
	}
	var st unix.Stat_t
	err = ignoringEINTR(func() error { return unix.Fstat(fd, &st) })
	switch {
	case err != nil:
		err = &fs.PathError{Op: "fstat", Path: l.path(key), Err: err}
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		err = fmt.Errorf("%w: %s is a directory", store.ErrNotExist, l.path(key))
	case st.Mode&unix.S_IFMT != unix.S_IFREG:
		err = fmt.Errorf("not a regular file (%s)", typeName(st.Mode))
	}
	if err != nil {
		unix.Close(fd)
		return nil, store.Entry{}, fmt.Errorf("open %q: %w", key, err)
	}
	e := entryOf(key, &st)
	f := &file{fd: fd, key: key, l: l}
	f.left = e.Size
	return f, e, nil
}

// openRead opens key for reading as OpenStat does.
func (l *Local) openRead(key string) (int, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NONBLOCK // O_NONBLOCK: do not wait on a fifo
	if !l.opt.FollowSymlinks {
		flags |= unix.O_NOFOLLOW
	}
	c := l.keyPath(key)
	fd, err := openPath(c, flags, 0)
	c.free()
	if err != nil {
		if !l.opt.FollowSymlinks && errors.Is(err, unix.ELOOP) {
			return -1, fmt.Errorf("open %q: symlink not followed: %w", key, err)
		}
		return -1, opError("open", key, &fs.PathError{Op: "open", Path: l.path(key), Err: err})
	}
	return fd, nil
}

// file is a regular file opened by OpenStat.
type file struct {
	fd   int
	key  string
	l    *Local
	left int64 // bytes Read still returns
}

// path is the file's path, for errors.
func (f *file) path() string { return f.l.path(f.key) }

// Read reads up to the size the file had when opened. A file that shrank
// ends early; the caller's Stat after reading shows the change.
func (f *file) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	var n int
	err := ignoringEINTR(func() (err error) { n, err = unix.Read(f.fd, p); return err })
	if err != nil {
		return 0, &fs.PathError{Op: "read", Path: f.path(), Err: err}
	}
	if n == 0 {
		f.left = 0
		return 0, io.EOF
	}
	f.left -= int64(n)
	if f.left == 0 {
		return n, io.EOF
	}
	return n, nil
}

// Stat describes the open file now.
func (f *file) Stat() (store.Entry, error) {
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstat(f.fd, &st) }); err != nil {
		return store.Entry{}, &fs.PathError{Op: "fstat", Path: f.path(), Err: err}
	}
	return entryOf(f.key, &st), nil
}

// Close closes the descriptor.
func (f *file) Close() error {
	if f.fd < 0 {
		return fs.ErrClosed
	}
	err := unix.Close(f.fd)
	f.fd = -1
	return err
}
