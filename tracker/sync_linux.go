package tracker

import (
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/sys/unix"
)

// startSync opens the file system of dir now, before anything is written
// to it, so that Sync hears of every write-back error from here on.
func (t *Tracker) startSync(dir string) {
	t.syncfs = syncfs
	t.openFS(dir)
}

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

// syncSealed makes the sealed directories durable: one syncfs of the file
// system each of their jobs' directories is on.
func (t *Tracker) syncSealed(done []sealed) error {
	if t.portable {
		return t.syncPortable(done)
	}
	var fds []int
	jobs := make(map[string]bool)
	for _, s := range done {
		if jobs[s.ref.Job] {
			continue
		}
		jobs[s.ref.Job] = true
		fd, err := t.openFS(t.jobDir(s.ref.Job))
		if errors.Is(err, unix.ENOENT) {
			continue // the job was cleaned since: nothing of it to keep
		}
		if err != nil {
			return err
		}
		if !containsInt(fds, fd) {
			fds = append(fds, fd)
		}
	}
	for _, fd := range fds {
		if err := t.syncfs(fd); err != nil {
			return fmt.Errorf("syncfs: %w", err)
		}
	}
	return nil
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
