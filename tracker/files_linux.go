package tracker

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// The few file operations of an attempt directory, made on Linux with plain
// system calls: an os.File costs a poller registration and a finalizer per
// file, and MkdirAll a stat per call, on a path taken many times a second.
// A tracker in portable mode uses files_portable.go instead.

// writeFile creates or truncates path and writes data into it. Nothing is
// synced (see Sync).
func (t *Tracker) writeFile(path string, data []byte) error {
	if t.portable {
		return writeFilePortable(path, data)
	}
	return putFile(path, unix.O_TRUNC, data)
}

// appendFile appends data to path, creating it if needed, all or nothing:
// a write that fails half-way (the disk is full) is cut back. It returns
// path's size before the append.
func (t *Tracker) appendFile(path string, data []byte) (int64, error) {
	if t.portable {
		return appendFilePortable(path, data)
	}
	fd, err := retry(func() (int, error) {
		return unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND|unix.O_CLOEXEC, 0o644)
	})
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	end, err := unix.Seek(fd, 0, io.SeekEnd)
	if err != nil {
		return 0, &fs.PathError{Op: "seek", Path: path, Err: err}
	}
	if err := writeAll(fd, data); err != nil {
		unix.Ftruncate(fd, end)
		return 0, &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return end, nil
}

// putFile opens path for writing with flag (O_TRUNC), creating it if
// needed, and writes data.
func putFile(path string, flag int, data []byte) error {
	fd, err := retry(func() (int, error) {
		return unix.Open(path, unix.O_WRONLY|unix.O_CREAT|flag|unix.O_CLOEXEC, 0o644)
	})
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	err = writeAll(fd, data)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &fs.PathError{Op: "write", Path: path, Err: err}
	}
	return nil
}

func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := retry(func() (int, error) { return unix.Write(fd, data) })
		if err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// readFile returns path's content; a missing file reads as nil.
func (t *Tracker) readFile(path string) ([]byte, error) {
	if t.portable {
		return readFilePortable(path)
	}
	fd, err := retry(func() (int, error) { return unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0) })
	if errors.Is(err, unix.ENOENT) {
		return nil, nil
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	// Sized by fstat, one byte over so that the end shows at once: an
	// audit.log is megabytes, and growing by doubling would copy it.
	size := int64(4096)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) == nil && st.Size > 0 {
		size = st.Size + 1
	}
	out := make([]byte, 0, size)
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		n, err := retry(func() (int, error) { return unix.Read(fd, out[len(out):cap(out)]) })
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return out, nil
		}
		out = out[:len(out)+n]
	}
}

// mkdir makes dir, and its parents when they are missing.
func (t *Tracker) mkdir(dir string) error {
	if t.portable {
		return mkdirPortable(dir)
	}
	err := unix.Mkdir(dir, 0o755)
	if errors.Is(err, unix.ENOENT) {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return err
		}
		err = unix.Mkdir(dir, 0o755)
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return &fs.PathError{Op: "mkdir", Path: dir, Err: err}
	}
	return nil
}

// retry calls fn again while it is interrupted by a signal.
func retry(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err != unix.EINTR {
			return n, err
		}
	}
}
