package tracker

import "fmt"

// Durability of published attempt directories. On Linux, instead of an
// fsync of every file and directory of every attempt, one syncfs(2) of the
// file system makes everything sealed before it durable, files, names and
// renames together (sync_linux.go). Elsewhere, and in portable mode, Sync
// fsyncs each file and directory of what was sealed (sync_portable.go).
// Until Sync returns them the master keeps a copy of each directory in its
// database (see Restore).

// sealed is an attempt directory published since the last Sync.
type sealed struct {
	ref AttemptRef
	dir string // its path, under its final name
}

// Sync makes every attempt directory sealed before the call durable and
// returns those attempts: the master may then drop its copies of them.
// When that fails, none of them is known to be durable (a failed write-back
// may have dropped their pages from the cache): they are returned with the
// error, for the caller to write them again with Restore.
func (t *Tracker) Sync() ([]AttemptRef, error) {
	t.syncMu.Lock()
	defer t.syncMu.Unlock()
	t.amu.Lock()
	done := t.unsynced
	t.unsynced = nil
	t.amu.Unlock()
	if len(done) == 0 {
		return nil, nil
	}
	refs := make([]AttemptRef, len(done))
	for i, s := range done {
		refs[i] = s.ref
	}
	if err := t.syncSealed(done); err != nil {
		return refs, fmt.Errorf("sync audit directories: %w", err)
	}
	return refs, nil
}
