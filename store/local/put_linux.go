package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"ferry/store"
)

// Put on Linux: a bare descriptor, an unnamed temporary file where the file
// system has them (anon_linux.go), paths without heap copies
// (cpath_linux.go), directories reached without following links
// (beneath_linux.go), and no fsync (Sync is one syncfs).

// put writes key as Put does, with the permission bits mode and, when not
// empty, the temporary file tag.
func (l *Local) put(ctx context.Context, key string, r io.Reader, e store.Entry, tag string, mode uint32) (store.Entry, error) {
	if l.portable {
		return l.putPortable(ctx, key, r, e, tag, mode)
	}
	// The key's directory, reached without following a link (made first
	// if missing; beneath_linux.go), or kept open for the task
	// (taskdirs_linux.go).
	d, err := l.openPutDest(ctx, key)
	defer d.close()
	if err != nil {
		return store.Entry{}, err
	}
	// An unnamed file (anon_linux.go) where the file system has them; else
	// a named temporary file, tmp.
	fd, err := l.createAnon(d, tag, mode)
	if err != nil && err != errors.ErrUnsupported && (err == unix.ENOENT || d.kept()) && d.reopen("put") == nil {
		// Removed by a Delete of its last key meanwhile (a directory
		// kept open since may answer EPERM rather than ENOENT): made
		// again.
		fd, _ = l.createAnon(d, tag, mode)
	}
	tmp := ""
	named := fd < 0
	if named {
		fd, tmp, err = createTempAt(key, d, tag, mode)
		if err != nil && d.kept() && d.reopen("put") == nil {
			fd, tmp, err = createTempAt(key, d, tag, mode)
		}
		if err != nil {
			return store.Entry{}, err
		}
	}
	ff := fdFile{fd, tmp, d}
	tmpName := ff.Name
	closed, done := false, false
	defer func() {
		if !closed {
			unix.Close(fd)
		}
		if !done && named {
			unix.Unlinkat(d.dfd, tmp, 0)
		}
	}()
	fail := func(err error) (store.Entry, error) { return store.Entry{}, fmt.Errorf("put %q: %w", key, err) }

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	written, sum, err := copyVerified(ctx, ff, r, *bp)
	if err != nil {
		return fail(err)
	}
	want := e.Mode & 0o777 // the permission bits asked for; 0: none
	// The file as it landed: its size (checked against what was written),
	// the permission bits it got and its device.
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
		return fail(&fs.PathError{Op: "fstat", Path: tmpName(), Err: err})
	}
	if st.Size != written {
		return fail(fmt.Errorf("wrote %d bytes but %d landed", written, st.Size))
	}
	// The umask may have taken bits away from the mode the file was
	// created with; only then does it need a chmod.
	if want != 0 && st.Mode&0o777 != want {
		if err := ignoringEINTR(func() error { return unix.Fchmod(fd, want) }); err != nil {
			return fail(&fs.PathError{Op: "chmod", Path: tmpName(), Err: err})
		}
	}
	mtime := time.Unix(st.Mtim.Unix()) // e.MTime when known
	if !e.MTime.IsZero() {
		if err := setMTime(fd, e.MTime); err != nil {
			return fail(&fs.PathError{Op: "utimensat", Path: tmpName(), Err: err})
		}
		mtime = e.MTime
	}
	if named {
		closed = true
		if err := unix.Close(fd); err != nil {
			return fail(&fs.PathError{Op: "close", Path: tmpName(), Err: err})
		}
		err = ignoringEINTR(func() error { return unix.Renameat(d.dfd, tmp, d.dfd, d.base()) })
	} else {
		err = l.publishAnon(fd, d, tag)
	}
	if err != nil {
		if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
			return store.Entry{}, fmt.Errorf("put %q: %s is a directory", key, d.path())
		}
		return store.Entry{}, opError("put", key, &os.LinkError{Op: "rename", Old: tmpName(), New: d.path(), Err: err})
	}
	done = true
	if d.kept() {
		d.task.landed(d)
	}
	if !closed {
		closed = true
		if err := unix.Close(fd); err != nil {
			unix.Unlinkat(d.dfd, d.base(), 0) // in place, but not known good
			return fail(&fs.PathError{Op: "close", Path: d.path(), Err: err})
		}
	}
	if dev := uint64(st.Dev); dev != l.rootDev {
		l.noteDevice(dev, d.dfd)
	}
	return store.Entry{Key: key, Kind: store.File, Size: written, MTime: mtime, CRC64: sum, HasCRC: true, Confirmed: true}, nil
}

// setMTime sets the mtime of the open file fd to t, to the nanosecond,
// leaving its atime alone: utimensat(fd, NULL, ...), which x/sys/unix has no
// wrapper for.
func setMTime(fd int, t time.Time) error {
	ts := [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Sec: t.Unix(), Nsec: int64(t.Nanosecond())}}
	return ignoringEINTR(func() error {
		_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
		if errno != 0 {
			return errno
		}
		return nil
	})
}

// fdFile is a descriptor Put writes and reads back: the temporary file
// tmp, or an unnamed one (tmp empty), in the directory of d.
type fdFile struct {
	fd  int
	tmp string
	d   *dest
}

// Name is the temporary file's name, for errors.
func (f fdFile) Name() string {
	if f.tmp != "" {
		return f.d.dirPath() + "/" + f.tmp
	}
	return f.d.dirPath() + "/(unnamed temporary file)"
}

// createTempAt creates a new named temporary file carrying tag in d's
// directory, with the permission bits mode, and returns it and its name.
func createTempAt(key string, d *dest, tag string, mode uint32) (fd int, name string, err error) {
	for try := 0; ; try++ {
		name = tempName(tag)
		err = ignoringEINTR(func() (err error) {
			fd, err = unix.Openat(d.dfd, name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
			return err
		})
		if err == nil {
			return fd, name, nil
		}
		if err != unix.EEXIST || try >= 100 {
			return -1, "", opError("put", key, &fs.PathError{Op: "open", Path: d.dirPath() + "/" + name, Err: err})
		}
	}
}

// Write writes all of p, or returns an error.
func (f fdFile) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(f.fd, p[done:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, &fs.PathError{Op: "write", Path: f.Name(), Err: err}
		}
		if n == 0 {
			return done, &fs.PathError{Op: "write", Path: f.Name(), Err: io.ErrShortWrite}
		}
		done += n
	}
	return done, nil
}

// ReadAt fills p from off, or returns io.EOF where the file ends.
func (f fdFile) ReadAt(p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		var n int
		err := ignoringEINTR(func() (err error) { n, err = unix.Pread(f.fd, p[done:], off+int64(done)); return err })
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, io.EOF
		}
		done += n
	}
	return done, nil
}
