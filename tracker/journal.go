package tracker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"ferry/task"
)

// A Journal publishes the audit directory of every accepted attempt, end
// to end, and is the one place that does:
//
//  1. Commit: Prepare freezes the lease's in-flight audit log and writes
//     TASK, STATUS, error.list and DONE beside it; the caller's commit
//     stores every byte of that directory in the transaction that accepts
//     the completion (the Holder keeps it); Seal publishes it under its
//     final name with one rename. None of it waits for the disk: the
//     committed copy is what makes the attempt durable.
//  2. Flush (about once a second, FlushLoop): one syncfs makes everything
//     published so far durable, then the Holder drops those copies. When
//     the file system fails, the directories are written again from them.
//  3. Recover (at start): every directory the Holder still holds is written
//     again, and in-flight directories a crash left are published, kept or
//     dropped as the Holder says.

// Holder keeps the committed copy of each attempt directory until the
// journal has made it durable where it is published: the master's
// database, which stores it in the transaction that accepts the
// completion. Declared here, where it is used; master.DB implements it.
type Holder interface {
	// EachHeldDir calls fn with every copy held for a job.
	EachHeldDir(job string, fn func(ref task.LeaseRef, dir []byte) error) error
	// HeldDir returns the copy held for one attempt, if any.
	HeldDir(ref task.LeaseRef) (dir []byte, ok bool, err error)
	// DropHeldDirs forgets the copies of attempts now durable.
	DropHeldDirs(refs []task.LeaseRef) error
	// Fate says what becomes of an in-flight directory a crash left: the
	// final name to publish it under (its completion was committed), or
	// keep (the lease is still out), or neither (drop it).
	Fate(ref task.LeaseRef) (final string, keep bool)
}

// Journal publishes attempt directories for a master; see above.
type Journal struct {
	t    *Tracker
	hold Holder
	log  *slog.Logger

	flushMu sync.Mutex // one Flush at a time
	// publishing is held for reading by a Commit from its commit until its
	// directory is published, and for writing by Settled.
	publishing sync.RWMutex
}

// NewJournal returns the journal of t's attempt directories, whose copies
// h holds.
func NewJournal(t *Tracker, h Holder, log *slog.Logger) *Journal {
	return &Journal{t: t, hold: h, log: log}
}

// Commit publishes a finished attempt: it prepares its directory, has
// commit store the directory's bytes (named name) with the completion, and
// publishes it. It returns the directory's name, relative to the job's.
// When commit fails the attempt's directory is discarded, and its error
// returned as is.
func (j *Journal) Commit(a Attempt, commit func(name string, dir []byte) error) (string, error) {
	d, err := j.t.Prepare(a)
	if err != nil {
		return "", fmt.Errorf("job %s task %d: write audit: %w", a.Job, a.Task, err)
	}
	b, err := d.MarshalBinary()
	if err != nil {
		j.t.Discard(a.Job, a.Task, a.Lease)
		return "", err
	}
	j.publishing.RLock()
	defer j.publishing.RUnlock()
	if err := commit(d.Name, b); err != nil {
		j.t.Discard(a.Job, a.Task, a.Lease)
		return "", err
	}
	if err := j.t.Seal(a.Job, a.Task, a.Lease, d.Name); err != nil {
		// The holder has the directory; the next start publishes it.
		j.log.Error("publish audit directory", "job", a.Job, "task", a.Task, "err", err)
	}
	return d.Name, nil
}

// Settled runs fn while no attempt is between its commit and its
// publication: what fn reads of the database is all published.
func (j *Journal) Settled(fn func()) {
	j.publishing.Lock()
	defer j.publishing.Unlock()
	fn()
}

// FlushEvery is how often FlushLoop makes published directories durable.
const FlushEvery = time.Second

// FlushLoop calls Flush every FlushEvery until ctx is done. Run it beside
// the lease reaper, so that a slow syncfs on a busy disk delays no lease.
func (j *Journal) FlushLoop(ctx context.Context) {
	tick := time.NewTicker(FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := j.Flush(); err != nil {
				j.log.Error("make audit directories durable", "err", err)
			}
		}
	}
}

// Flush makes the directories published so far durable and has the holder
// drop its copies of them. When the file system fails, it writes those
// directories again from the copies, for the next flush.
func (j *Journal) Flush() error {
	j.flushMu.Lock()
	defer j.flushMu.Unlock()
	done, err := j.t.Sync()
	refs := make([]task.LeaseRef, len(done))
	for i, r := range done {
		refs[i] = task.LeaseRef{Job: r.Job, TaskID: r.Task, LeaseID: r.Lease}
	}
	if err != nil {
		for _, r := range refs {
			b, ok, herr := j.hold.HeldDir(r)
			if ok {
				herr = j.restore(r, b)
			}
			if herr != nil {
				j.log.Error("write audit directory again", "job", r.Job, "task", r.TaskID, "lease", r.LeaseID, "err", herr)
			}
		}
		return err
	}
	return j.hold.DropHeldDirs(refs)
}

// Recover, at start, writes again every directory of jobs the holder holds
// a copy of (a crash may have lost any of their writes), settles the
// in-flight directories the crash left as the holder says, and makes all
// of it durable.
func (j *Journal) Recover(jobs []string) error {
	for _, job := range jobs {
		err := j.hold.EachHeldDir(job, j.restore)
		if err == nil {
			err = j.t.Recover(job, func(id, lease uint64) (string, bool) {
				return j.hold.Fate(task.LeaseRef{Job: job, TaskID: id, LeaseID: lease})
			})
		}
		if err != nil {
			return fmt.Errorf("recover audit logs of job %s: %w", job, err)
		}
	}
	if err := j.Flush(); err != nil {
		return fmt.Errorf("recover audit logs: %w", err)
	}
	return nil
}

func (j *Journal) restore(r task.LeaseRef, b []byte) error {
	var d Dir
	if err := d.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("job %s task %d lease %d: %w", r.Job, r.TaskID, r.LeaseID, err)
	}
	if err := j.t.Restore(r.Job, r.TaskID, r.LeaseID, d); err != nil {
		return fmt.Errorf("restore audit directory %s: %w", d.Name, err)
	}
	return nil
}
