package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"ferry/store"
)

// Delete and CleanTemps on Linux: relative to a directory reached without
// following a link (beneath_linux.go).

// delete is Delete of a checked key.
func (l *Local) delete(key string) error {
	if l.portable {
		return l.deletePortable(key)
	}
	d, _, err := l.openDest("delete", key, false)
	defer d.close()
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstatat(d.dfd, d.base(), &st, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return opError("delete", key, &fs.PathError{Op: "lstat", Path: d.path(), Err: err})
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fmt.Errorf("delete %q: %w: %s is a directory", key, store.ErrNotExist, d.path())
	}
	if err := ignoringEINTR(func() error { return unix.Unlinkat(d.dfd, d.base(), 0) }); err != nil {
		return opError("delete", key, &fs.PathError{Op: "remove", Path: d.path(), Err: err})
	}
	for dir, _ := splitKey(key); dir != ""; dir, _ = splitKey(dir) {
		pd, _, err := l.openDest("delete", dir, false)
		if err == nil {
			err = unix.Unlinkat(pd.dfd, pd.base(), unix.AT_REMOVEDIR)
		}
		pd.close()
		if err != nil { // not empty (ENOTEMPTY), or in use: stop
			break
		}
	}
	return nil
}

// cleanTemps is CleanTemps of a checked directory key and tag.
func (l *Local) cleanTemps(ctx context.Context, dirKey, tag string) error {
	if l.portable {
		return l.cleanTempsPortable(ctx, dirKey, tag)
	}
	// The directory of the key dirKey+"/" is dirKey (the root for "/").
	d, _, err := l.openDest("clean temporary files in", dirKey+"/", false)
	defer d.close()
	switch {
	case errors.Is(err, store.ErrNotExist), errors.Is(err, errLinkInDest), errors.Is(err, errNotDir):
		return nil
	case err != nil:
		return err
	}
	var fd int
	err = ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(d.dfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("clean temporary files in %q: %w", dirKey, wrapSentinel(&fs.PathError{Op: "open", Path: d.dirPath(), Err: err}))
	}
	f := os.NewFile(uintptr(fd), d.dirPath())
	des, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("clean temporary files in %q: %w", dirKey, wrapSentinel(err))
	}
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return err
		}
		if t, ok := parseTempName(de.Name()); !ok || t != tag || !de.Type().IsRegular() {
			continue
		}
		if err := unix.Unlinkat(d.dfd, de.Name(), 0); err != nil && err != unix.ENOENT {
			return fmt.Errorf("clean temporary files in %q: %w", dirKey, &fs.PathError{Op: "remove", Path: d.dirPath() + "/" + de.Name(), Err: err})
		}
	}
	return nil
}
