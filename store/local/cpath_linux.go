package local

import (
	"runtime"
	"strconv"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// System calls on paths without a heap copy of each path. x/sys/unix turns
// every string path into a new NUL-terminated byte slice; a small file's
// copy names four paths (the source, the destination's directory twice,
// the destination) and the two strings they are built from, which was half
// the allocations of copying one. A cpath is built once, in a pooled
// buffer, and given to the kernel as it is. A key's cpath is the key
// alone, looked up from the root's descriptor (beneath_linux.go's rootDir,
// the root resolved once): the kernel then walks the key's components, not
// the root's again for every file (on a tree of small files, the root's
// components were a third of the path walks of opening each source).

// cpath is a path followed by a NUL byte, relative to the directory at.
type cpath struct {
	b    []byte  // the path, then 0
	at   uintptr // the directory b is looked up from: AT_FDCWD, or the root's descriptor
	root string  // with the root's descriptor: the root's path, for String
}

var cpathPool = sync.Pool{New: func() any { return &cpath{b: make([]byte, 0, 256)} }}

// keyPath returns the cpath of key below the store's root (l.path(key)).
// Give it back with free.
func (l *Local) keyPath(key string) *cpath {
	c := cpathPool.Get().(*cpath)
	b := c.b[:0]
	if fd, err := l.rootDir(); err == nil {
		c.at, c.root = uintptr(fd), l.root
		c.b = append(append(b, key...), 0)
		return c
	}
	c.at, c.root = atFDCWD, ""
	if l.root != "/" {
		b = append(b, l.root...)
	}
	b = append(append(b, '/'), key...)
	c.b = append(b, 0)
	return c
}

// procFDPath returns the cpath /proc/self/fd/fd.
func procFDPath(fd int) *cpath {
	c := cpathPool.Get().(*cpath)
	c.b = append(strconv.AppendInt(append(c.b[:0], "/proc/self/fd/"...), int64(fd), 10), 0)
	c.at, c.root = atFDCWD, ""
	return c
}

// free gives c back to the pool; c must not be used after.
func (c *cpath) free() {
	if cap(c.b) <= 4096 {
		cpathPool.Put(c)
	}
}

// String is the path, for error messages.
func (c *cpath) String() string {
	p := string(c.b[:len(c.b)-1])
	switch c.root {
	case "":
		return p
	case "/":
		return "/" + p
	}
	return c.root + "/" + p
}

// ptr is the path as the kernel takes it.
func (c *cpath) ptr() uintptr { return uintptr(unsafe.Pointer(&c.b[0])) }

// atFDCWD is AT_FDCWD as a system call argument.
var atFDCWD = func() uintptr { fd := unix.AT_FDCWD; return uintptr(fd) }()

// emptyPath is "" for AT_EMPTY_PATH.
var emptyPath = [1]byte{0}

func errnoOf(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// openPath is open(2) of c.
func openPath(c *cpath, flags int, mode uint32) (int, error) {
	for {
		r, _, e := unix.Syscall6(unix.SYS_OPENAT, c.at, c.ptr(), uintptr(flags|unix.O_LARGEFILE), uintptr(mode), 0, 0)
		runtime.KeepAlive(c)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

// statPath is stat(2), or lstat(2) with follow false, of c.
func statPath(c *cpath, st *unix.Stat_t, follow bool) error {
	flags := 0
	if !follow {
		flags = unix.AT_SYMLINK_NOFOLLOW
	}
	for {
		_, _, e := unix.Syscall6(unix.SYS_NEWFSTATAT, c.at, c.ptr(), uintptr(unsafe.Pointer(st)), uintptr(flags), 0, 0)
		runtime.KeepAlive(c)
		if e != unix.EINTR {
			return errnoOf(e)
		}
	}
}
