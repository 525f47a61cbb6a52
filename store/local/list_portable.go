package local

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"ferry/store"
)

// Directories of a List with the os package alone: what every system but
// Linux lists with, and a Local in portable mode (list_linux.go has the
// fast path).

// osDir is a directory open as an *os.File, with its path.
type osDir struct {
	f    *os.File
	path string
}

// openRootPortable opens the root directory for List.
func (l *Local) openRootPortable() (dir, error) {
	f, err := os.Open(l.root)
	if err != nil {
		return nil, sysErr(err)
	}
	return &osDir{f, l.root}, nil
}

// readBatch is how many names osDir.read asks the os package for at once.
const readBatch = 256

func (d *osDir) read(_ *scratch, fn func(name []byte, typ fs.FileMode)) error {
	for {
		des, err := d.f.ReadDir(readBatch)
		for _, de := range des {
			fn([]byte(de.Name()), de.Type())
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return sysErr(err)
		}
	}
}

func (d *osDir) lstat(_ *scratch, key, name string) (store.Entry, fs.FileMode, error) {
	fi, err := os.Lstat(filepath.Join(d.path, name))
	if err != nil {
		return store.Entry{}, 0, sysErr(err)
	}
	return entryOfInfo(key, fi), fi.Mode().Type(), nil
}

func (d *osDir) follow(key, name string) (store.Entry, fs.FileMode, dirID, error) {
	fi, err := os.Stat(filepath.Join(d.path, name))
	if err != nil {
		return store.Entry{}, 0, nil, sysErr(err)
	}
	if fi.IsDir() {
		return store.Entry{}, fs.ModeDir, infoID{fi}, nil
	}
	return entryOfInfo(key, fi), fi.Mode().Type(), nil, nil
}

func (d *osDir) open(name string, follow bool) (dir, error) {
	p := filepath.Join(d.path, name)
	if !follow {
		fi, err := os.Lstat(p)
		if err != nil && !nothingToWalk(err) {
			return nil, sysErr(err)
		}
		if err != nil || !fi.IsDir() {
			return nil, nil
		}
	}
	f, err := os.Open(p)
	if err != nil {
		if nothingToWalk(err) {
			return nil, nil
		}
		return nil, sysErr(err)
	}
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		f.Close()
		if err != nil {
			return nil, sysErr(err)
		}
		return nil, nil
	}
	return &osDir{f, p}, nil
}

// nothingToWalk reports whether err, from looking at or opening a
// subdirectory, means that there is none.
func nothingToWalk(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ELOOP) ||
		errors.Is(err, syscall.ENAMETOOLONG)
}

func (d *osDir) id() (dirID, error) {
	fi, err := d.f.Stat()
	if err != nil {
		return nil, sysErr(err)
	}
	return infoID{fi}, nil
}

func (d *osDir) close() { d.f.Close() }

// infoID identifies a directory by what os.SameFile compares.
type infoID struct{ fi fs.FileInfo }

func (d infoID) same(o dirID) bool {
	od, ok := o.(infoID)
	return ok && os.SameFile(od.fi, d.fi)
}

// sysErr is the system's error inside an *fs.PathError, as a dir returns
// its errors.
func sysErr(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
