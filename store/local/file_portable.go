package local

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"ferry/store"
)

// Files opened to read with the os package: what OpenStat returns on
// every system but Linux, and in portable mode.

// openStatPortable is OpenStat of a checked key.
func (l *Local) openStatPortable(key string) (store.Opened, store.Entry, error) {
	f, err := l.openReadPortable(key)
	if err != nil {
		return nil, store.Entry{}, err
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
	case fi.IsDir():
		err = fmt.Errorf("%w: %s is a directory", store.ErrNotExist, f.Name())
	case !fi.Mode().IsRegular():
		err = fmt.Errorf("not a regular file (%s)", typeName(fi.Mode().Type()))
	}
	if err != nil {
		f.Close()
		return nil, store.Entry{}, fmt.Errorf("open %q: %w", key, err)
	}
	e := entryOfInfo(key, fi)
	return &osFile{f: f, key: key, left: e.Size}, e, nil
}

// openReadPortable opens key for reading as OpenStat does.
func (l *Local) openReadPortable(key string) (*os.File, error) {
	f, err := l.openFile(key)
	if err != nil {
		if !l.opt.FollowSymlinks && errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("open %q: symlink not followed: %w", key, err)
		}
		return nil, opError("open", key, err)
	}
	return f, nil
}

// osFile is a file opened by OpenStat with the os package.
type osFile struct {
	f    *os.File
	key  string
	left int64 // bytes Read still returns
}

// Read reads up to the size the file had when opened. A file that shrank
// ends early; the caller's Stat after reading shows the change.
func (f *osFile) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.f.Read(p)
	f.left -= int64(n)
	if err == io.EOF || (err == nil && f.left == 0) {
		if err == io.EOF {
			f.left = 0
		}
		return n, io.EOF
	}
	return n, err
}

// Stat describes the open file now.
func (f *osFile) Stat() (store.Entry, error) {
	fi, err := f.f.Stat()
	if err != nil {
		return store.Entry{}, err
	}
	return entryOfInfo(f.key, fi), nil
}

// Close closes the file.
func (f *osFile) Close() error { return f.f.Close() }
