package local

import (
	"errors"
	"runtime"
	"unsafe"

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
// store by linking a probe file where the first Put writes, named as that
// Put's temporary files (with its tag), so that a process killed between
// the probe's link and unlink leaves a file the CleanTemps of the task's
// next attempt removes. Without either, or on a file system without
// O_TMPFILE, Put uses named temporary files.

// How Put makes its temporary files.
const (
	anonUnknown   int32 = iota
	anonEmptyPath       // O_TMPFILE, linked with AT_EMPTY_PATH
	anonProc            // O_TMPFILE, linked through /proc/self/fd
	anonNone            // named temporary files
)

// anonMode says how this store links unnamed files, probing the first
// time in the directory dirfd with a file named as the temporary files of
// tag.
func (l *Local) anonMode(dirfd int, tag string) int32 {
	l.anonOnce.Do(func() {
		if l.anon == anonUnknown {
			l.anon = probeAnon(dirfd, tag)
		}
	})
	return l.anon
}

// afterProbeLink, when set (tests), is called between the probe's link and
// its unlink.
var afterProbeLink func()

// probeAnon finds how unnamed files can be linked in the directory dirfd,
// if at all, linking a probe file named as tag's temporary files there and
// removing it.
func probeAnon(dirfd int, tag string) int32 {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return anonNone
	}
	defer unix.Close(fd)
	name := tempName(tag)
	for _, m := range []int32{anonEmptyPath, anonProc} {
		if linkAnonAt(m, fd, dirfd, name) == nil {
			if afterProbeLink != nil {
				afterProbeLink()
			}
			unix.Unlinkat(dirfd, name, 0)
			return m
		}
	}
	return anonNone
}

// createAnon opens a new unnamed file in d's directory with the
// permission bits mode (less the umask), for a Put whose temporary files
// carry tag. It returns -1 and why when it cannot, such as on a file
// system without O_TMPFILE (Put makes a named temporary file instead,
// which says what is wrong).
func (l *Local) createAnon(d *dest, tag string, mode uint32) (int, error) {
	if l.anonMode(d.dfd, tag) == anonNone {
		return -1, errors.ErrUnsupported
	}
	for {
		r, _, e := unix.Syscall6(unix.SYS_OPENAT, uintptr(d.dfd), uintptr(unsafe.Pointer(&dotPath[0])),
			uintptr(unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC|unix.O_LARGEFILE), uintptr(mode), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

// publishAnon gives the unnamed file fd the name of d's key in d's
// directory: a link when it does not exist; else a link to a temporary
// name (carrying tag) in that directory, renamed over the key, so that
// readers see the old file or the new one. A link at the key is replaced,
// not followed.
func (l *Local) publishAnon(fd int, d *dest, tag string) error {
	err := linkFD(l.anon, fd, d.dfd, d.name())
	runtime.KeepAlive(d)
	if errors.Is(err, unix.ENOENT) && d.reopen("put") == nil {
		// A Delete of the directory's last named key removed the
		// directory meanwhile (an unnamed file does not keep it): make it
		// again and link there.
		err = linkFD(l.anon, fd, d.dfd, d.name())
		runtime.KeepAlive(d)
	}
	if !errors.Is(err, unix.EEXIST) {
		return err
	}
	for try := 0; ; try++ {
		tmp := tempName(tag)
		err := linkAnonAt(l.anon, fd, d.dfd, tmp)
		if errors.Is(err, unix.EEXIST) && try < 100 {
			continue
		}
		if err != nil {
			return err
		}
		if err := ignoringEINTR(func() error { return unix.Renameat(d.dfd, tmp, d.dfd, d.base()) }); err != nil {
			unix.Unlinkat(d.dfd, tmp, 0)
			return err
		}
		return nil
	}
}

// linkFD gives the open unnamed file fd the name name in the directory
// dirfd: linkat(2) with AT_EMPTY_PATH, or of /proc/self/fd/fd.
func linkFD(mode int32, fd, dirfd int, name *byte) error {
	for {
		var e unix.Errno
		if mode == anonEmptyPath {
			_, _, e = unix.Syscall6(unix.SYS_LINKAT, uintptr(fd), uintptr(unsafe.Pointer(&emptyPath[0])),
				uintptr(dirfd), uintptr(unsafe.Pointer(name)), unix.AT_EMPTY_PATH, 0)
		} else {
			p := procFDPath(fd)
			_, _, e = unix.Syscall6(unix.SYS_LINKAT, atFDCWD, p.ptr(),
				uintptr(dirfd), uintptr(unsafe.Pointer(name)), unix.AT_SYMLINK_FOLLOW, 0)
			runtime.KeepAlive(p)
			p.free()
		}
		if e != unix.EINTR {
			return errnoOf(e)
		}
	}
}

// linkAnonAt is linkFD with a name that is a string.
func linkAnonAt(mode int32, fd, dirfd int, name string) error {
	b := append([]byte(name), 0)
	return linkFD(mode, fd, dirfd, &b[0])
}
