package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// A database that is damaged, or gone while what it described is still on
// disk, must stop ferry with a clear line, never be taken for a new one:
// jobs would copy everything again beside their old audit directories.

var (
	// ErrCorrupt means the database file is damaged: bbolt found a page
	// that is not what it should be.
	ErrCorrupt = errors.New("the database is damaged")
	// ErrLost means the database is missing or empty while jobs' audit
	// directories say there were jobs.
	ErrLost = errors.New("the jobs' state is gone")
)

// CheckNotLost returns an error wrapping ErrLost when the database at path
// is missing or empty while jobsDir holds audit directories of jobs (their
// succeed_tasks or failed_tasks), naming the jobs.
func CheckNotLost(path, jobsDir string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Size() > 0:
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("open %s: %w", path, err)
	}
	var jobs []string
	des, _ := os.ReadDir(jobsDir)
	for _, de := range des {
		for _, sub := range []string{"succeed_tasks", "failed_tasks"} {
			if _, err := os.Stat(filepath.Join(jobsDir, de.Name(), sub)); err == nil {
				jobs = append(jobs, de.Name())
				break
			}
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	sort.Strings(jobs)
	what := "missing"
	if err == nil {
		what = "empty"
	}
	return fmt.Errorf("%s is %s, but %s holds the audit directories of %d job(s) (%s): %w", path, what, jobsDir,
		len(jobs), strings.Join(jobs, ", "), ErrLost)
}

// guard runs fn (a bbolt transaction) and turns the panic with which bbolt
// meets a damaged page into an error wrapping ErrCorrupt. bbolt's View and
// Update roll the transaction back as the panic unwinds, so the database
// is left as it was.
func guard(path string, fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: %w (%v)", path, ErrCorrupt, r)
		}
	}()
	return fn()
}

// view is d.bolt.View, guarded.
func (d *DB) view(fn func(*bolt.Tx) error) error {
	return guard(d.bolt.Path(), func() error { return d.bolt.View(fn) })
}

// updateTx is d.bolt.Update, guarded.
func (d *DB) updateTx(fn func(*bolt.Tx) error) error {
	return guard(d.bolt.Path(), func() error { return d.bolt.Update(fn) })
}
