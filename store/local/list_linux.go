package local

import (
	"errors"
	"io/fs"

	"golang.org/x/sys/unix"

	"ferry/store"
)

// Directories of a List on Linux: a descriptor, read with getdents64 into
// the walker's buffer and looked into with fstatat (dirent_linux.go), so
// that a listed file costs one allocation, its key.

// fdDir is a directory open as a descriptor.
type fdDir struct{ fd int }

// openRoot opens the root directory for List.
func (l *Local) openRoot() (dir, error) {
	if l.portable {
		return l.openRootPortable()
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(l.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	return fdDir{fd}, nil
}

func (d fdDir) read(s *scratch, fn func(name []byte, typ fs.FileMode)) error {
	if s.dents == nil {
		s.dents = make([]byte, direntBufSize)
	}
	return readDir(d.fd, s.dents, fn)
}

func (d fdDir) lstat(s *scratch, key, name string) (store.Entry, fs.FileMode, error) {
	var st unix.Stat_t
	if err := lstatAt(d.fd, name, &st, &s.cname); err != nil {
		return store.Entry{}, 0, err
	}
	return entryOf(key, &st), modeType(st.Mode), nil
}

func (d fdDir) follow(key, name string) (store.Entry, fs.FileMode, dirID, error) {
	var st unix.Stat_t
	if err := ignoringEINTR(func() error { return unix.Fstatat(d.fd, name, &st, 0) }); err != nil {
		return store.Entry{}, 0, nil, err
	}
	if typ := modeType(st.Mode); typ == fs.ModeDir {
		return store.Entry{}, typ, devIno{uint64(st.Dev), uint64(st.Ino)}, nil
	}
	return entryOf(key, &st), modeType(st.Mode), nil, nil
}

func (d fdDir) open(name string, follow bool) (dir, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(d.fd, name, flags, 0)
		return err
	})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) ||
		errors.Is(err, unix.ENAMETOOLONG) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return fdDir{fd}, nil
}

func (d fdDir) id() (dirID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return nil, err
	}
	return devIno{uint64(st.Dev), uint64(st.Ino)}, nil
}

func (d fdDir) close() { unix.Close(d.fd) }

// devIno identifies a directory by its device and inode.
type devIno struct{ dev, ino uint64 }

func (d devIno) same(o dirID) bool {
	od, ok := o.(devIno)
	return ok && od == d
}
