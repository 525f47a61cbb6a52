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

	"ferry/store"
)

// putPortable writes key as Put does, with the os package alone: a named
// temporary file, written, read back, checked, dated, fsynced and renamed
// into place (sync_portable.go says why it fsyncs).
func (l *Local) putPortable(ctx context.Context, key string, r io.Reader, e store.Entry, tag string, mode uint32) (store.Entry, error) {
	dst := l.path(key)
	dirKey, _ := splitKey(key)
	dir := l.root
	if dirKey != "" {
		dir = l.path(dirKey)
	}
	f, tmp, made, err := l.createTemp(key, dirKey, dir, tag, mode)
	if err != nil {
		return store.Entry{}, err
	}
	closed, done := false, false
	defer func() {
		if !closed {
			f.Close()
		}
		if !done {
			os.Remove(tmp)
		}
	}()
	fail := func(err error) (store.Entry, error) { return store.Entry{}, fmt.Errorf("put %q: %w", key, err) }

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	written, sum, err := copyVerified(ctx, f, r, *bp)
	if err != nil {
		return fail(err)
	}
	want := e.Mode & 0o777 // the permission bits asked for; 0: none
	fi, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if fi.Size() != written {
		return fail(fmt.Errorf("wrote %d bytes but %d landed", written, fi.Size()))
	}
	if want != 0 && uint32(fi.Mode().Perm()) != want {
		if err := f.Chmod(fs.FileMode(want)); err != nil {
			return fail(err)
		}
	}
	mtime := fi.ModTime()
	if !e.MTime.IsZero() {
		if err := os.Chtimes(tmp, time.Time{}, e.MTime); err != nil {
			return fail(err)
		}
		mtime = e.MTime
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	closed = true
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
			return store.Entry{}, fmt.Errorf("put %q: %s is a directory", key, dst)
		}
		return store.Entry{}, opError("put", key, err)
	}
	done = true
	l.noteDirs(dir, made)
	return store.Entry{Key: key, Kind: store.File, Size: written, MTime: mtime, CRC64: sum, HasCRC: true, Confirmed: true}, nil
}

// createTemp creates a new temporary file carrying tag in dir, the
// directory of key (dirKey), once each directory of the key is checked not
// to be a link, and made if missing (walkPortable). It returns the file,
// its name and whether it made a directory.
func (l *Local) createTemp(key, dirKey, dir, tag string, mode uint32) (f *os.File, name string, made bool, err error) {
	if made, err = l.walkPortable("put", key, dirKey, true); err != nil {
		return nil, "", made, err
	}
	for try := 0; ; try++ {
		name = dir + "/" + tempName(tag)
		f, err = os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, fs.FileMode(mode))
		switch {
		case err == nil:
			return f, name, made, nil
		case try >= 100:
			return nil, "", made, opError("put", key, err)
		case errors.Is(err, fs.ErrExist):
			continue
		case errors.Is(err, fs.ErrNotExist): // removed by a concurrent Delete: check and make it again
			var again bool
			again, err = l.walkPortable("put", key, dirKey, true)
			made = made || again
		}
		if err != nil {
			return nil, "", made, opError("put", key, err)
		}
	}
}
