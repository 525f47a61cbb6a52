package tracker

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// Durability of published attempt directories: instead of an fsync of every
// file and directory of every attempt, one syncfs(2) of the file system
// makes everything sealed before it durable, files, names and renames
// together. Until then the master keeps a copy of each directory in its
// database (see Restore).

// syncfs flushes the file system holding fd.
func syncfs(fd int) error {
	for {
		if err := unix.Syncfs(fd); err != unix.EINTR {
			return err
		}
	}
}

// openFS returns a descriptor open on dir's file system, opening dir when
// no directory on that device is open yet. The descriptor stays open until
// Close: syncfs reports the write-back errors of its file system since the
// descriptor was opened (Linux 5.8 and later).
func (t *Tracker) openFS(dir string) (int, error) {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return -1, &fs.PathError{Op: "stat", Path: dir, Err: err}
	}
	if fd, ok := t.fds[st.Dev]; ok {
		return fd, nil
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	t.fds[st.Dev] = fd
	return fd, nil
}

// Sync makes every attempt directory sealed before the call durable and
// returns those attempts: the master may then drop its copies of them. It
// is one syncfs of the file system each of their jobs' directories is on.
// When that fails, none of them is known to be durable (a failed write-back
// may have dropped their pages from the cache): they are returned with the
// error, for the caller to write them again with Restore.
func (t *Tracker) Sync() ([]AttemptRef, error) {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	t.amu.Lock()
	refs := t.unsynced
	t.unsynced = nil
	t.amu.Unlock()
	if len(refs) == 0 {
		return nil, nil
	}
	var fds []int
	jobs := make(map[string]bool)
	for _, r := range refs {
		if jobs[r.Job] {
			continue
		}
		jobs[r.Job] = true
		fd, err := t.openFS(t.jobDir(r.Job))
		if errors.Is(err, unix.ENOENT) {
			continue // the job was cleaned since: nothing of it to keep
		}
		if err != nil {
			return refs, fmt.Errorf("sync audit directories: %w", err)
		}
		if !containsInt(fds, fd) {
			fds = append(fds, fd)
		}
	}
	for _, fd := range fds {
		if err := t.syncfs(fd); err != nil {
			return refs, fmt.Errorf("sync audit directories: syncfs: %w", err)
		}
	}
	return refs, nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Close releases the descriptors Sync uses.
func (t *Tracker) Close() error {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	var errs []error
	for dev, fd := range t.fds {
		errs = append(errs, unix.Close(fd))
		delete(t.fds, dev)
	}
	return errors.Join(errs...)
}
