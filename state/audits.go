package state

import (
	"bytes"
	"errors"
	"fmt"

	"ferry/task"

	bolt "go.etcd.io/bbolt"
)

// Held audit directories: the database is the tracker.Journal's Holder.
// The transaction that accepts a completion also stores every byte of the
// attempt's audit directory in the job's audits bucket, under <task
// id><lease id>: that one commit, shared by many workers' completions (see
// DB.write), is what makes the attempt durable before the worker hears it
// was accepted. tracker/journal.go tells the rest of the story.

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

// EachHeldDir calls fn with every audit directory the database holds for
// job (tracker.Holder).
func (d *DB) EachHeldDir(job string, fn func(ref task.LeaseRef, dir []byte) error) error {
	type held struct {
		ref task.LeaseRef
		dir []byte
	}
	var all []held
	err := d.view(func(tx *bolt.Tx) error {
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
			all = append(all, held{task.LeaseRef{Job: job, TaskID: be64(k[:8]), LeaseID: be64(k[8:])}, bytes.Clone(v)})
			return nil
		})
	})
	if err != nil {
		return err
	}
	for _, h := range all {
		if err := fn(h.ref, h.dir); err != nil {
			return err
		}
	}
	return nil
}

// HeldDir returns the audit directory held for one attempt, if any
// (tracker.Holder).
func (d *DB) HeldDir(r task.LeaseRef) (dir []byte, ok bool, err error) {
	err = d.view(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, r.Job)
		if errors.Is(err, task.ErrNoJob) {
			return nil
		}
		if err != nil {
			return err
		}
		if b := jt.b.Bucket(bktAudits); b != nil {
			dir = bytes.Clone(getBig(b, auditKey(r.TaskID, r.LeaseID)))
		}
		return nil
	})
	return dir, dir != nil, err
}

// DropHeldDirs forgets the held copies of audit directories that are now
// durable where they are published (tracker.Holder).
func (d *DB) DropHeldDirs(refs []task.LeaseRef) error {
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
				if err := dropBig(b, auditKey(r.TaskID, r.LeaseID)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Fate says what becomes of an in-flight audit directory a crash left
// (tracker.Holder): the directory name of the task's last accepted
// completion, if it is this lease's, or keep while the lease is still out.
func (d *DB) Fate(r task.LeaseRef) (final string, keep bool) {
	d.view(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, r.Job)
		if err != nil {
			return err
		}
		t, s, err := jt.find(r.TaskID)
		if err != nil || t == nil {
			return err
		}
		if t.LastLease == r.LeaseID {
			final = t.AttemptDir
		}
		keep = s == Dispatched && t.LeaseID == r.LeaseID
		return nil
	})
	return final, keep
}
