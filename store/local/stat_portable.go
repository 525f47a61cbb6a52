package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"ferry/store"
)

// statPortable is Stat of a checked key with the os package.
func (l *Local) statPortable(key string) (store.Entry, error) {
	p := l.path(key)
	var fi fs.FileInfo
	var err error
	if l.opt.FollowSymlinks {
		fi, err = os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ELOOP) {
			// Report a dangling or looping link as List does.
			if lfi, lerr := os.Lstat(p); lerr == nil && lfi.Mode().Type() == fs.ModeSymlink {
				e := entryOfInfo(key, lfi)
				e.Kind, e.Detail = store.Special, "dangling symlink"
				if errors.Is(err, syscall.ELOOP) {
					e.Detail = "symlink loop"
				}
				return e, nil
			}
		}
	} else {
		fi, err = os.Lstat(p)
	}
	if err != nil {
		return store.Entry{}, opError("stat", key, err)
	}
	if fi.IsDir() {
		return store.Entry{}, fmt.Errorf("stat %q: %w: %s is a directory", key, store.ErrNotExist, p)
	}
	return entryOfInfo(key, fi), nil
}
