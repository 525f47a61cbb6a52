package local

import (
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Reaching a key's directory below the root without following links, on
// Linux (beneath.go says why): one openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) from the root's descriptor, which costs Put two
// system calls (the open and the close) for a key below a directory and
// none for one in the root. Where openat2 is missing (Linux before 5.6, or
// refused by a seccomp filter), or fails for any reason, the directory is
// reached one component at a time with O_NOFOLLOW (walk), which also makes
// what is missing and says which component is in the way.

// beneathHow opens a directory as openat2(2) with no link followed and no
// way out of the directory it starts from.
var beneathHow = unix.OpenHow{
	Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
	Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
}

// dotPath is "." for the system calls made in an open directory.
var dotPath = [2]byte{'.', 0}

// rootDir returns the descriptor (O_PATH) of the root directory, opened the
// first time it is needed, with the root's own path resolved, links and
// all. At most once every rootRecheck it makes sure the path still leads
// to that directory: a root renamed, replaced or mounted over since is
// opened again by its path (so files are neither read from nor put into a
// directory that is no longer the one named), and a root removed is an
// error. A replaced descriptor stays open until Close, since another
// goroutine may be using it.
func (l *Local) rootDir() (int, error) {
	if fd := l.rootFD.Load(); fd > 0 && time.Now().UnixNano()-l.rootSeen.Load() < int64(rootRecheck) {
		return int(fd - 1), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fd := int(l.rootFD.Load() - 1)
	var err error
	if fd >= 0 {
		if time.Now().UnixNano()-l.rootSeen.Load() < int64(rootRecheck) {
			return fd, nil
		}
		var byFD, byPath unix.Stat_t
		err = ignoringEINTR(func() error { return unix.Fstat(fd, &byFD) })
		if err == nil {
			err = ignoringEINTR(func() error { return unix.Stat(l.root, &byPath) })
		}
		if err != nil {
			return -1, &fs.PathError{Op: "stat", Path: l.root, Err: err}
		}
		if byFD.Dev == byPath.Dev && byFD.Ino == byPath.Ino {
			l.rootSeen.Store(time.Now().UnixNano())
			return fd, nil
		}
		l.staleRoots = append(l.staleRoots, fd)
		l.rootFD.Store(0)
	}
	err = ignoringEINTR(func() (err error) {
		fd, err = unix.Open(l.root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: l.root, Err: err}
	}
	l.rootSeen.Store(time.Now().UnixNano())
	l.rootFD.Store(int32(fd + 1))
	return fd, nil
}

// rootRecheck is how long rootDir trusts the root's descriptor before it
// looks at the root's path again.
var rootRecheck = time.Second

// closeRoot closes the root's descriptor, if open, and those rootDir
// replaced. l.mu is held.
func (l *Local) closeRoot() error {
	var first error
	if fd := l.rootFD.Swap(0); fd > 0 {
		first = unix.Close(int(fd - 1))
	}
	for _, fd := range l.staleRoots {
		unix.Close(fd)
	}
	l.staleRoots = nil
	return first
}

// dest is a key as Put and Delete change it: its directory, open without
// any link followed, and its name there. Dests are pooled: Put takes one
// per file.
type dest struct {
	l   *Local
	key string
	b   []byte // key, then NUL; while open, its last '/' is a NUL too
	cut int    // where that '/' is; -1 for a key in the root
	dfd int    // the key's directory (O_PATH), or the root's descriptor
	own bool   // dfd is d's to close
	// task: the task's kept directories (taskdirs_linux.go) when d was
	// opened through them; kd: the one dfd is, if it is kept.
	task *taskDirs
	kd   *keptDir
}

var destPool = sync.Pool{New: func() any { return &dest{b: make([]byte, 0, 256)} }}

// openDest opens the directory of key for op ("put", "delete", "clean
// temporary files in"), making it and the missing ones above it (mode
// 0755) when create is set, and says whether it made any. A link or a file
// among the directories fails with linkError or notDirError; a missing one
// without create with an error wrapping store.ErrNotExist. Close the dest
// after use, even on error.
func (l *Local) openDest(op, key string, create bool) (d *dest, made bool, err error) {
	d = l.newDest(key, nil)
	made, err = d.open(op, create)
	return d, made, err
}

// newDest returns a pooled dest for key, not open yet, opened through the
// task's kept directories when task is set.
func (l *Local) newDest(key string, task *taskDirs) *dest {
	d := destPool.Get().(*dest)
	d.l, d.key, d.cut, d.dfd, d.own, d.task, d.kd = l, key, strings.LastIndexByte(key, '/'), -1, false, task, nil
	d.b = append(append(d.b[:0], key...), 0)
	return d
}

// open opens d's directory, as openDest says.
func (d *dest) open(op string, create bool) (made bool, err error) {
	root, err := d.l.rootDir()
	if err != nil {
		return false, opError(op, d.key, err)
	}
	if d.cut <= 0 { // a key in the root; or "/", the root itself
		d.dfd, d.own = root, false
		return false, nil
	}
	d.b[d.cut] = 0
	var first error
	if !d.l.noOpenat2.Load() {
		fd, err := openat2Dir(root, &d.b[0])
		runtime.KeepAlive(d)
		if err == nil {
			d.dfd, d.own = fd, true
			return false, nil
		}
		first = err
	}
	fd, made, err := d.l.walk(op, d.key, d.key[:d.cut], root, create)
	if err != nil {
		return made, err
	}
	if first == unix.ENOSYS || first == unix.EPERM { // no openat2 here, or a filter refuses it
		d.l.noOpenat2.Store(true)
	}
	d.dfd, d.own = fd, true
	return made, nil
}

// reopen opens d's directory again, making it if it is missing: after a
// Delete of its last key removed it.
func (d *dest) reopen(op string) error {
	if d.kept() {
		d.task.forget(d)
		d.kd = nil
	}
	d.closeDir()
	_, err := d.open(op, true)
	return err
}

// name is the key's last component, NUL-terminated, for system calls
// relative to d.dfd.
func (d *dest) name() *byte { return &d.b[d.cut+1] }

// base is the key's last component.
func (d *dest) base() string { return d.key[d.cut+1:] }

// dirPath is the key's directory's path, for errors.
func (d *dest) dirPath() string {
	if d.cut < 0 {
		return d.l.root
	}
	return d.l.path(d.key[:d.cut])
}

// path is the key's path, for errors.
func (d *dest) path() string { return d.l.path(d.key) }

// closeDir closes the directory if it is d's to close.
func (d *dest) closeDir() {
	if d.own && d.dfd >= 0 {
		unix.Close(d.dfd)
	}
	d.dfd, d.own = -1, false
}

// close closes the directory and gives d back to the pool; d must not be
// used after.
func (d *dest) close() {
	d.closeDir()
	if d.task != nil {
		d.task.release()
		d.task, d.kd = nil, nil
	}
	d.l, d.key = nil, ""
	if cap(d.b) <= 4096 {
		destPool.Put(d)
	}
}

// openat2Dir opens the directory p, relative to dirfd, as beneathHow says.
func openat2Dir(dirfd int, p *byte) (int, error) {
	for {
		r, _, e := unix.Syscall6(unix.SYS_OPENAT2, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			uintptr(unsafe.Pointer(&beneathHow)), unsafe.Sizeof(beneathHow), 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return -1, e
		}
		return int(r), nil
	}
}

// walk opens the directory dirKey below the root (root, its descriptor)
// one component at a time, none of them followed if a link, making the
// missing ones when create is set. Errors are openDest's.
func (l *Local) walk(op, key, dirKey string, root int, create bool) (fd int, made bool, err error) {
	fd = root
	for rest, end := dirKey, 0; rest != ""; {
		comp := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			comp, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if end > 0 {
			end++
		}
		end += len(comp)
		prefix := dirKey[:end]
		next, err := openNoFollow(fd, comp)
		if err == unix.ENOENT && create {
			if err = ignoringEINTR(func() error { return unix.Mkdirat(fd, comp, 0o755) }); err == nil || err == unix.EEXIST {
				made = made || err == nil
				next, err = openNoFollow(fd, comp)
			}
		}
		if err != nil {
			err = l.explainAt(op, key, prefix, fd, comp, err)
		}
		if fd != root {
			unix.Close(fd)
		}
		if err != nil {
			return -1, made, err
		}
		fd = next
	}
	return fd, made, nil
}

// openNoFollow opens the directory name in dirfd (O_PATH), failing if it
// is a link.
func openNoFollow(dirfd int, name string) (fd int, err error) {
	err = ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		return err
	})
	return fd, err
}

// explainAt is the error of op on key when its directory prefix, name in
// dirfd, could not be opened with err: a link (linkError), a file
// (notDirError), or what err says.
func (l *Local) explainAt(op, key, prefix string, dirfd int, name string, err error) error {
	if err == unix.ENOTDIR || err == unix.ELOOP {
		var st unix.Stat_t
		if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFLNK:
				buf := make([]byte, 4096)
				n, rerr := unix.Readlinkat(dirfd, name, buf)
				target := string(buf[:max(n, 0)])
				if rerr != nil {
					target = fmt.Sprintf("unreadable: %v", rerr)
				}
				return linkError(op, key, prefix, target)
			case unix.S_IFDIR:
			default:
				return notDirError(op, key, prefix, l.path(prefix))
			}
		}
	}
	return opError(op, key, &fs.PathError{Op: "open", Path: l.path(prefix), Err: err})
}
