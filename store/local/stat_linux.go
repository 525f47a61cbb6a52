package local

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/sys/unix"

	"ferry/store"
)

// stat is Stat of a checked key: one fstatat of a path built without a heap
// copy (cpath_linux.go).
func (l *Local) stat(key string) (store.Entry, error) {
	if l.portable {
		return l.statPortable(key)
	}
	c := l.keyPath(key)
	defer c.free()
	var st unix.Stat_t
	err := statPath(c, &st, l.opt.FollowSymlinks)
	if l.opt.FollowSymlinks {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ELOOP) {
			// Report a dangling or looping link as List does.
			if lerr := statPath(c, &st, false); lerr == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
				e := entryOf(key, &st)
				e.Kind, e.Detail = store.Special, "dangling symlink"
				if errors.Is(err, unix.ELOOP) {
					e.Detail = "symlink loop"
				}
				return e, nil
			}
		}
	}
	if err != nil {
		return store.Entry{}, opError("stat", key, &fs.PathError{Op: "stat", Path: c.String(), Err: err})
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return store.Entry{}, fmt.Errorf("stat %q: %w: %s is a directory", key, store.ErrNotExist, c)
	}
	return entryOf(key, &st), nil
}

// entryOf describes a stat result the way List and Stat report it, as
// entryOfInfo does an fs.FileInfo.
func entryOf(key string, st *unix.Stat_t) store.Entry {
	e := store.Entry{Key: key, MTime: time.Unix(st.Mtim.Unix()), Mode: st.Mode & 0o777}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Kind, e.Size = store.File, st.Size
	case unix.S_IFLNK:
		e.Kind, e.Detail = store.Symlink, "symlink not followed"
	default:
		e.Kind, e.Detail = store.Special, "not a regular file ("+typeName(modeType(st.Mode))+")"
	}
	return e
}

// modeType is the fs.FileMode type of a stat mode.
func modeType(mode uint32) fs.FileMode {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return 0
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFLNK:
		return fs.ModeSymlink
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}
