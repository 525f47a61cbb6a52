package tracker

import (
	"sync"
	"time"
)

// Tracker keeps per-attempt audit directories under dir (the master's jobs
// directory) and live progress in memory.
type Tracker struct {
	dir string
	now func() time.Time

	mu      sync.Mutex // progress
	leases  map[leaseKey]*leaseProgress
	jobs    map[string]*jobProgress
	workers map[string]*workerProgress

	stats statsTable // the workers' own measurements (stats.go)

	amu      sync.Mutex // attempt directories
	attempts map[AttemptRef]*attemptState
	names    map[finalName]bool // reserved by Prepare until Seal or Discard
	unsynced []sealed           // sealed since the last Sync

	// portable: write and sync attempt directories with the os package
	// alone (files_portable.go, sync_portable.go), as on every system but
	// Linux; tests set it on Linux.
	portable bool

	syncMu sync.Mutex                        // one Sync at a time
	fds    map[uint64]int                    // device -> a directory on it, open for syncfs (Linux)
	syncfs func(fd int) error                // unix.Syncfs; tests replace it
	fsync  func(path string, dir bool) error // what a portable Sync calls; tests replace it
}

// New returns a tracker writing under dir. Close it when done.
func New(dir string) *Tracker {
	t := &Tracker{dir: dir, now: time.Now,
		leases:   make(map[leaseKey]*leaseProgress),
		jobs:     make(map[string]*jobProgress),
		workers:  make(map[string]*workerProgress),
		attempts: make(map[AttemptRef]*attemptState),
		names:    make(map[finalName]bool),
		fds:      make(map[uint64]int),
		fsync:    fsyncPath,
	}
	t.startSync(dir)
	return t
}
