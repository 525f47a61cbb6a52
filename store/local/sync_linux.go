package local

import (
	"fmt"
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// Durability on Linux: Put does not fsync, and Sync is one syncfs(2) of the
// file system holding the root, and of each other file system mounted below
// it that Put wrote to.

// init notes the device of the root, whose stat is fi, and opens the root
// (rootDir): its path is resolved now. Failing that, the first Put tries
// again and says why.
func (l *Local) init(fi fs.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		l.rootDev = uint64(st.Dev)
	}
	l.rootDir()
}

// noteDevice remembers a directory on each device other than the root's that
// Put wrote to (a mount point below the root), so Sync flushes it too:
// dirfd, the directory of a file written (syncfs needs a descriptor that
// is not O_PATH, opened from it).
func (l *Local) noteDevice(dev uint64, dirfd int) {
	if dev == l.rootDev {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.devs[dev]; ok {
		return
	}
	if fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		l.devs[dev] = fd
	}
}

// sync is Sync after its context is checked.
func (l *Local) sync() error {
	if l.portable {
		return l.syncPortable()
	}
	fd, err := unix.Open(l.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sync %s: %w", l.root, err)
	}
	defer unix.Close(fd)
	if err := ignoringEINTR(func() error { return unix.Syncfs(fd) }); err != nil {
		return fmt.Errorf("sync %s: syncfs: %w", l.root, err)
	}
	l.mu.Lock() // held so that Close cannot close these descriptors meanwhile
	defer l.mu.Unlock()
	for _, fd := range l.devs {
		if err := ignoringEINTR(func() error { return unix.Syncfs(fd) }); err != nil {
			return fmt.Errorf("sync %s: syncfs of a file system mounted below it: %w", l.root, err)
		}
	}
	return nil
}

// closeDescriptors closes the root's descriptor and those noteDevice
// opened. l.mu is held.
func (l *Local) closeDescriptors() error {
	first := l.closeRoot()
	for dev, fd := range l.devs {
		if err := unix.Close(fd); err != nil && first == nil {
			first = err
		}
		delete(l.devs, dev)
	}
	return first
}
