package master

import (
	"context"
	"errors"
	"ferry/task"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/tracker"
)

// Held audit directories. The transaction that accepts a completion also
// stores every byte of the attempt's audit directory in the job's audits
// bucket, under <task id><lease id>: that one commit, shared by many
// workers' completions (see DB.write), is what makes the attempt durable
// before the worker hears it was accepted. The directory itself is
// published without an fsync; about once a second the master has the
// tracker make everything published so far durable with one syncfs and
// then drops those copies. After a crash, Open writes every directory
// still held again.

var bktAudits = []byte("audits")

func auditKey(id, lease uint64) []byte {
	return append(taskKey(id), taskKey(lease)...)
}

// holdAudit stores a completion's audit directory, encoded.
func (jt *jobTx) holdAudit(r task.LeaseRef, dir []byte) error {
	b, err := jt.b.CreateBucketIfNotExists(bktAudits)
	if err != nil {
		return err
	}
	return putBig(b, auditKey(r.TaskID, r.LeaseID), dir)
}

// heldAudit is one held audit directory.
type heldAudit struct {
	ref tracker.AttemptRef
	dir tracker.Dir
}

// HeldAudits returns the audit directories the database holds for job.
func (d *DB) heldAudits(job string) ([]heldAudit, error) {
	var out []heldAudit
	err := d.bolt.View(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, job)
		if err != nil {
			return err
		}
		b := jt.b.Bucket(bktAudits)
		if b == nil {
			return nil
		}
		return forEachBig(b, func(k, v []byte) error {
			if len(k) != 16 {
				return fmt.Errorf("job %s: bad audit key %x", job, k)
			}
			h := heldAudit{ref: tracker.AttemptRef{Job: job, Task: be64(k[:8]), Lease: be64(k[8:])}}
			if err := h.dir.UnmarshalBinary(v); err != nil {
				return fmt.Errorf("job %s task %d lease %d: %w", job, h.ref.Task, h.ref.Lease, err)
			}
			out = append(out, h)
			return nil
		})
	})
	return out, err
}

// heldAudit returns the held audit directory of one attempt, if any.
func (d *DB) heldAudit(r tracker.AttemptRef) (dir tracker.Dir, ok bool, err error) {
	err = d.bolt.View(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, r.Job)
		if errors.Is(err, task.ErrNoJob) {
			return nil
		}
		if err != nil {
			return err
		}
		b := jt.b.Bucket(bktAudits)
		if b == nil {
			return nil
		}
		v := getBig(b, auditKey(r.Task, r.Lease))
		if v == nil {
			return nil
		}
		ok = true
		return dir.UnmarshalBinary(v)
	})
	return dir, ok, err
}

// DropAudits forgets the held copies of audit directories that are now
// durable where they are published.
func (d *DB) DropAudits(refs []tracker.AttemptRef) error {
	if len(refs) == 0 {
		return nil
	}
	return d.write(func(tx *bolt.Tx) error {
		root := tx.Bucket(bktJobs)
		for _, r := range refs {
			jb := root.Bucket([]byte(r.Job))
			if jb == nil {
				continue // cleaned
			}
			if b := jb.Bucket(bktAudits); b != nil {
				if err := dropBig(b, auditKey(r.Task, r.Lease)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// flushEvery is how often Run makes published audit directories durable.
const flushEvery = time.Second

// flushLoop calls flushAudits every flushEvery until ctx is done. It runs
// beside the reaper, so that a slow syncfs on a busy disk delays no lease.
func (m *Master) flushLoop(ctx context.Context) {
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := m.flushAudits(); err != nil {
				m.log.Error("make audit directories durable", "err", err)
			}
		}
	}
}

// flushAudits makes the audit directories published so far durable and
// drops the database's copies of them. When the file system fails, it
// writes those directories again from the copies, for the next flush.
func (m *Master) flushAudits() error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	refs, err := m.tr.Sync()
	if err != nil {
		for _, r := range refs {
			dir, ok, herr := m.db.heldAudit(r)
			if ok {
				herr = m.tr.Restore(r.Job, r.Task, r.Lease, dir)
			}
			if herr != nil {
				m.log.Error("write audit directory again", "job", r.Job, "task", r.Task, "lease", r.Lease, "err", herr)
			}
		}
		return err
	}
	return m.db.DropAudits(refs)
}

// restoreAudits writes again, after a crash, every audit directory the
// database holds a copy of: the crash may have lost any of their writes.
func (m *Master) restoreAudits(job string) error {
	held, err := m.db.heldAudits(job)
	if err != nil {
		return err
	}
	for _, h := range held {
		if err := m.tr.Restore(job, h.ref.Task, h.ref.Lease, h.dir); err != nil {
			return fmt.Errorf("restore audit directory %s: %w", h.dir.Name, err)
		}
	}
	return nil
}
