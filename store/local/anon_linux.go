package local

import (
	"errors"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Unnamed temporary files. Where the file system has them (O_TMPFILE:
// tmpfs, ext4, xfs, btrfs), Put writes into an inode that has no name and,
// once the content is written, read back and dated, links it into place.
// Against a named temporary file renamed over the key, that spares the
// kernel a name that is made and moved for every file (about a sixth of the
// cost of copying a small file on tmpfs), and a crash leaves nothing behind:
// an unnamed inode disappears with the last descriptor. A key that exists
// already cannot be the target of a link, so then the file is linked to a
// temporary name and renamed over the key, which keeps the replacement
// atomic.
//
// Linking a descriptor needs CAP_DAC_READ_SEARCH (linkat AT_EMPTY_PATH), or
// else /proc (linkat of /proc/self/fd/N); which one works is found once per
// store by linking a probe file in the root. Without either, or on a file
// system without O_TMPFILE, Put uses named temporary files.

// How Put makes its temporary files.
const (
	anonUnknown   int32 = iota
	anonEmptyPath       // O_TMPFILE, linked with AT_EMPTY_PATH
	anonProc            // O_TMPFILE, linked through /proc/self/fd
	anonNone            // named temporary files
)

// anonMode says how this store links unnamed files, probing the first time.
func (l *Local) anonMode() int32 {
	l.anonOnce.Do(func() {
		if l.anon == anonUnknown {
			l.anon = probeAnon(l.root)
		}
	})
	return l.anon
}

// probeAnon finds how unnamed files can be linked in dir, if at all.
func probeAnon(dir string) int32 {
	fd, err := unix.Open(dir, unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return anonNone
	}
	defer unix.Close(fd)
	name := dir + "/" + tempName("")
	for _, m := range []int32{anonEmptyPath, anonProc} {
		if linkAnon(m, fd, name) == nil {
			unix.Unlink(name)
			return m
		}
	}
	return anonNone
}

// linkAnon gives the unnamed file fd the name name, which must not exist.
func linkAnon(mode int32, fd int, name string) error {
	return ignoringEINTR(func() error {
		if mode == anonEmptyPath {
			return unix.Linkat(fd, "", unix.AT_FDCWD, name, unix.AT_EMPTY_PATH)
		}
		return unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, name, unix.AT_SYMLINK_FOLLOW)
	})
}

// createAnon opens a new unnamed file in the directory of dst with the
// permission bits mode (less the umask). It returns -1 and why when it
// cannot: unix.ENOENT, no such directory yet (Put makes it and tries
// again), or anything else, such as a file system without O_TMPFILE (Put
// makes a named temporary file instead, which says what is wrong).
func (l *Local) createAnon(dst *cpath, mode uint32) (int, error) {
	if l.anonMode() == anonNone {
		return -1, errors.ErrUnsupported
	}
	fd := -1
	err := dst.inDir(func(dir *cpath) (err error) {
		fd, err = openPath(dir, unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, mode)
		return err
	})
	return fd, err
}

// publishAnon gives the unnamed file fd the name dst: a link when dst does
// not exist; else a link to a temporary name (carrying tag) in its
// directory, renamed over dst, so that readers see the old file or the new
// one.
func (l *Local) publishAnon(fd int, dst *cpath, tag string) error {
	err := linkFD(l.anon, fd, dst)
	if errors.Is(err, unix.ENOENT) && os.MkdirAll(dst.dir(), 0o755) == nil {
		// A Delete of the directory's last named key removed the
		// directory meanwhile (an unnamed file does not keep it): make it
		// again and link there.
		err = linkFD(l.anon, fd, dst)
	}
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	dir := dst.dir()
	for try := 0; ; try++ {
		tmp := dir + "/" + tempName(tag)
		err := linkAnon(l.anon, fd, tmp)
		if errors.Is(err, unix.EEXIST) && try < 100 {
			continue
		}
		if err != nil {
			return err
		}
		if err := ignoringEINTR(func() error { return unix.Rename(tmp, dst.String()) }); err != nil {
			unix.Unlink(tmp)
			return err
		}
		return nil
	}
}
