package state

import (
	"fmt"
	"sort"
	"time"

	"ferry/task"

	bolt "go.etcd.io/bbolt"

	"ferry/store"
)

// Leases: a worker leases pending tasks; each grant gets a fresh lease ID
// and a deadline. The worker's heartbeat renews the deadline; the reaper
// moves expired leases back to pending; Complete is accepted only with the
// task's current lease ID (fencing), so a worker that was cut off and comes
// back can never overwrite or double-count a newer attempt.

// LeaseTasks grants up to max pending tasks to worker, taking jobs in turn
// starting after the job named after.
func (d *DB) LeaseTasks(worker string, max int, after string) ([]task.Lease, error) {
	var out []task.Lease
	err := d.write(func(tx *bolt.Tx) error {
		out = out[:0] // a batched transaction may run again
		root := tx.Bucket(bktJobs)
		var names []string
		err := root.ForEachBucket(func(k []byte) error {
			names = append(names, string(k))
			return nil
		})
		if err != nil {
			return err
		}
		// Rotate so the job after `after` comes first: fair across jobs.
		i := sort.SearchStrings(names, after)
		if i < len(names) && names[i] == after {
			i++
		}
		names = append(names[i:], names[:i]...)
		now := d.now()
		for _, name := range names {
			if len(out) >= max {
				break
			}
			jt, err := d.openJob(tx, name)
			if err != nil {
				return err
			}
			if !jt.job.Active() || jt.job.Counters.Tasks[Pending] == 0 {
				continue
			}
			room, err := d.room(jt, worker, max-len(out))
			if err != nil {
				return err
			}
			var ids []uint64
			c := jt.bucket(Pending).Cursor()
			for k, _ := c.First(); k != nil && len(ids) < room; k, _ = c.Next() {
				ok, err := jt.leasable(be64(k))
				if err != nil {
					return err
				}
				if ok {
					ids = append(ids, be64(k))
				}
			}
			for _, id := range ids {
				t, err := jt.get(Pending, id)
				if err != nil {
					return err
				}
				lid, err := root.NextSequence()
				if err != nil {
					return err
				}
				t.Attempt++
				t.LeaseID = lid
				t.Worker = worker
				t.Deadline = now.Add(d.leaseDur).UnixMilli()
				if err := jt.move(t, Pending, Dispatched); err != nil {
					return err
				}
				entries, err := jt.manifest(id)
				if err != nil {
					return err
				}
				ups, err := jt.leaseUploads(t)
				if err != nil {
					return err
				}
				out = append(out, task.Lease{Job: name, Spec: jt.job.Spec, TaskID: id, LeaseID: lid,
					Attempt: t.Attempt, Deadline: time.UnixMilli(t.Deadline), Entries: entries, Uploads: ups, Part: t.Part})
			}
			if err := jt.save(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func be64(k []byte) uint64 {
	var v uint64
	for _, c := range k {
		v = v<<8 | uint64(c)
	}
	return v
}

// Renew extends the deadlines of worker's current leases and returns those
// that are no longer its own (expired and re-leased, completed, cleaned).
func (d *DB) Renew(worker string, refs []task.LeaseRef) (lost []task.LeaseRef, deadline time.Time, err error) {
	deadline = d.now().Add(d.leaseDur)
	err = d.write(func(tx *bolt.Tx) error {
		lost = lost[:0]
		for _, r := range refs {
			jt, err := d.openTasks(tx, r.Job)
			if err != nil {
				lost = append(lost, r)
				continue
			}
			t, err := jt.get(Dispatched, r.TaskID)
			if err != nil {
				return err
			}
			if t == nil || t.LeaseID != r.LeaseID {
				lost = append(lost, r)
				continue
			}
			t.Deadline = deadline.UnixMilli()
			if err := jt.put(Dispatched, t); err != nil {
				return err
			}
		}
		return nil
	})
	return lost, deadline, err
}

// current returns the dispatched task r names if r is its current lease.
func current(jt *jobTx, r task.LeaseRef) (*Task, error) {
	t, err := jt.get(Dispatched, r.TaskID)
	if err != nil {
		return nil, err
	}
	if t == nil || t.LeaseID != r.LeaseID {
		return nil, fmt.Errorf("job %s task %d lease %d: %w", r.Job, r.TaskID, r.LeaseID, task.ErrStaleLease)
	}
	return t, nil
}

// CheckLease returns, for a current lease's task, its number of entries,
// the keys of the entries at the positions want (in want's order), and the
// attempt number, for preparing a completion; it fails with task.ErrStaleLease
// when the lease is not current, and when a position is out of range.
func (d *DB) CheckLease(r task.LeaseRef, want []uint32) (entries int, keys []string, attempt int, err error) {
	err = d.view(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, r.Job)
		if err != nil {
			return err
		}
		t, err := current(jt, r)
		if err != nil {
			return err
		}
		b, err := jt.manifestBytes(r.TaskID)
		if err != nil {
			return err
		}
		var at map[uint32][]int // position -> indexes into want
		if len(want) > 0 {
			at = make(map[uint32][]int, len(want))
			for j, i := range want {
				at[i] = append(at[i], j)
			}
			keys = make([]string, len(want))
		}
		entries, err = walkManifest(b, func(i int, key []byte, _ int64) {
			for _, j := range at[uint32(i)] {
				keys[j] = string(key)
			}
		})
		if err != nil {
			return fmt.Errorf("job %s task %d: %w", r.Job, r.TaskID, err)
		}
		for _, i := range want {
			if int(i) >= entries {
				return fmt.Errorf("job %s task %d: result for entry %d of %d", r.Job, r.TaskID, i, entries)
			}
		}
		attempt = t.Attempt
		return nil
	})
	return entries, keys, attempt, err
}

// Complete records the outcome of a current lease: the task moves to
// succeeded, or to failed with the failed positions, and the counters move
// with it, in one transaction. dir is the attempt's audit directory (the
// bytes of a tracker.Dir), being published as name; the same transaction
// keeps it until DropHeldDirs, so that the attempt is durable, audit
// records included, as soon as Complete returns.
func (d *DB) Complete(r task.LeaseRef, results []task.Outcome, name string, dir []byte) error {
	_, err := d.CompleteFreeing(r, results, name, dir)
	return err
}

// CompleteFreeing is Complete, and also reports whether the completion
// may have made pending tasks leasable that were not: a part task's
// prepare or range that succeeded (the group's ranges wait for its
// prepare, its final task for every range), so that the caller wakes the
// workers waiting for work.
func (d *DB) CompleteFreeing(r task.LeaseRef, results []task.Outcome, name string, dir []byte) (freed bool, err error) {
	err = d.update(r.Job, func(jt *jobTx) error {
		freed = false
		t, err := current(jt, r)
		if err != nil {
			return err
		}
		b, err := jt.manifestBytes(r.TaskID)
		if err != nil {
			return err
		}
		n, err := walkManifest(b, nil)
		if err != nil {
			return fmt.Errorf("job %s task %d: %w", r.Job, r.TaskID, err)
		}
		c := &jt.job.Counters
		// One outcome per entry: a failure outranks a skip, repeats count once.
		outcome := make(map[uint32]bool, len(results)) // index -> skipped (else failed)
		for _, res := range results {
			if int(res.Index) >= n {
				return fmt.Errorf("job %s task %d: result for entry %d of %d", r.Job, r.TaskID, res.Index, n)
			}
			if skip, seen := outcome[res.Index]; !seen || skip {
				outcome[res.Index] = res.Skip()
			}
		}
		_, err = walkManifest(b, func(i int, _ []byte, size int64) {
			files, bytes := t.weight(size)
			skip, seen := outcome[uint32(i)]
			switch {
			case seen && !skip:
				t.Failed = append(t.Failed, uint32(i))
				c.FilesFailed += files
				c.BytesFailed += bytes
				return
			case seen && skip:
				c.FilesSkipped += files
				c.BytesSkipped += bytes
			}
			c.FilesDone += files
			c.BytesDone += bytes
		})
		if err != nil {
			return err
		}
		t.LeaseID, t.Deadline, t.Worker = 0, 0, ""
		t.LastLease = r.LeaseID
		t.AttemptDir = name
		if dir != nil {
			if err := jt.holdAudit(r, dir); err != nil {
				return err
			}
		}
		to := Succeeded
		if len(t.Failed) > 0 {
			to = Failed
		} else if err := dropBig(jt.b.Bucket(bktManifests), taskKey(t.ID)); err != nil {
			return err
		} else if err := jt.dropTaskUploads(t); err != nil {
			return err
		}
		if err := jt.move(t, Dispatched, to); err != nil {
			return err
		}
		if to == Failed && t.Part != nil {
			if err := jt.failGroup(t.Part); err != nil {
				return err
			}
		}
		freed = to == Succeeded && t.Part != nil && !t.Part.IsFinal()
		jt.finish(d.now())
		return nil
	})
	return freed && err == nil, err
}

// expire moves dispatched tasks for which drop says so back to pending.
func (d *DB) expire(drop func(*Task) bool) ([]task.LeaseRef, error) {
	var refs []task.LeaseRef
	err := d.updateTx(func(tx *bolt.Tx) error {
		return tx.Bucket(bktJobs).ForEachBucket(func(k []byte) error {
			jt, err := d.openJob(tx, string(k))
			if err != nil {
				return err
			}
			if jt.job.Counters.Tasks[Dispatched] == 0 {
				return nil
			}
			var expired []*Task
			c := jt.bucket(Dispatched).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				t, err := jt.get(Dispatched, be64(k))
				if err != nil {
					return err
				}
				if drop(t) {
					expired = append(expired, t)
				}
			}
			for _, t := range expired {
				refs = append(refs, task.LeaseRef{Job: string(k), TaskID: t.ID, LeaseID: t.LeaseID})
				t.LeaseID, t.Deadline, t.Worker = 0, 0, ""
				if err := jt.move(t, Dispatched, Pending); err != nil {
					return err
				}
			}
			if len(expired) == 0 {
				return nil
			}
			return jt.save()
		})
	})
	return refs, err
}

// Reap returns expired leases to pending and names them.
func (d *DB) Reap() ([]task.LeaseRef, error) {
	now := d.now().UnixMilli()
	return d.expire(func(t *Task) bool { return t.Deadline < now })
}

// ReleaseWorker returns every lease held by worker to pending: a worker
// that registers has just started and holds nothing.
func (d *DB) ReleaseWorker(worker string) ([]task.LeaseRef, error) {
	return d.expire(func(t *Task) bool { return t.Worker == worker })
}

// ExtendLeases gives every dispatched task a fresh deadline: after a master
// restart, workers get one lease period to reconnect before their tasks are
// handed to others.
func (d *DB) ExtendLeases() error {
	deadline := d.now().Add(d.leaseDur).UnixMilli()
	return d.updateTx(func(tx *bolt.Tx) error {
		return tx.Bucket(bktJobs).ForEachBucket(func(k []byte) error {
			jt, err := d.openTasks(tx, string(k))
			if err != nil {
				return err
			}
			return jt.bucket(Dispatched).ForEach(func(k, _ []byte) error {
				t, err := jt.get(Dispatched, be64(k))
				if err != nil {
					return err
				}
				t.Deadline = deadline
				return jt.put(Dispatched, t)
			})
		})
	})
}

// Retry re-queues the failed entries (only those) of a job's failed tasks.
func (d *DB) Retry(name string) (tasks, entries int64, err error) {
	err = d.update(name, func(jt *jobTx) error {
		tasks, entries = 0, 0
		var failed []*Task
		err := jt.bucket(Failed).ForEach(func(k, _ []byte) error {
			t, err := jt.get(Failed, be64(k))
			if err == nil {
				failed = append(failed, t)
			}
			return err
		})
		if err != nil {
			return err
		}
		c := &jt.job.Counters
		for _, t := range failed {
			all, err := jt.manifest(t.ID)
			if err != nil {
				return err
			}
			sub := make([]store.Entry, 0, len(t.Failed))
			for _, i := range t.Failed {
				sub = append(sub, all[i])
			}
			var files, bytes int64
			for i := range sub {
				f, b := t.weight(sub[i].Size)
				files += f
				bytes += b
			}
			if err := putBig(jt.b.Bucket(bktManifests), taskKey(t.ID), encodeManifest(sub)); err != nil {
				return err
			}
			c.FilesFailed -= files
			c.BytesFailed -= bytes
			// The entries that succeeded stay counted as done; the task
			// now stands for the failed ones only.
			t.Files, t.Bytes, t.Failed = files, bytes, nil
			if err := jt.move(t, Failed, Pending); err != nil {
				return err
			}
			tasks++
			entries += int64(len(sub))
		}
		rescan := !jt.job.ScanFinished && !jt.job.Active()
		if rescan {
			tasks++ // the scan itself is retried from its checkpoint
		}
		if tasks > 0 {
			jt.job.State = StateRunning
			if !jt.job.ScanFinished {
				jt.job.State = StateScanning
			}
			jt.job.Finished = time.Time{}
			jt.job.Error = ""
		}
		return nil
	})
	return tasks, entries, err
}

// Current returns which of refs are their tasks' current leases, read in
// one transaction.
func (d *DB) Current(refs []task.LeaseRef) map[task.LeaseRef]bool {
	out := make(map[task.LeaseRef]bool, len(refs))
	d.view(func(tx *bolt.Tx) error {
		for _, r := range refs {
			jt, err := d.openTasks(tx, r.Job)
			if err != nil {
				continue
			}
			t, err := current(jt, r)
			out[r] = err == nil && t != nil
		}
		return nil
	})
	return out
}

// HolderCount returns how many workers hold leases of a job, counting
// worker as one of them.
func (d *DB) HolderCount(name, worker string) (int64, error) {
	ws := map[string]bool{worker: true}
	err := d.view(func(tx *bolt.Tx) error {
		jt, err := d.openJob(tx, name)
		if err != nil || jt.job.Counters.Tasks[Dispatched] == 0 {
			return err
		}
		return jt.bucket(Dispatched).ForEach(func(k, _ []byte) error {
			t, err := jt.get(Dispatched, be64(k))
			if err == nil {
				ws[t.Worker] = true
			}
			return err
		})
	})
	return int64(len(ws)), err
}

// SetWorkers gives the database a count of the workers alive, which it
// uses to spread a continuous stream job's tasks (SpreadShare).
func (d *DB) SetWorkers(alive func() int) { d.workers.Store(&alive) }

// SpreadShare is how many of a continuous stream job's tasks one of
// `workers` workers may hold: a fair share, rounded up. Such a task runs
// until the job is stopped and holds no copying thread, so without a
// share the first worker to ask would take every partition and keep
// them, and the others would idle.
func SpreadShare(tasks, workers int) int {
	if workers <= 1 {
		return tasks
	}
	return (tasks + workers - 1) / workers
}

// room is how many of jt's pending tasks worker may lease now, at most
// max: all of them, but for a continuous stream job only up to the
// worker's share.
func (d *DB) room(jt *jobTx, worker string, max int) (int, error) {
	alive := d.workers.Load()
	if alive == nil || !jt.job.Spec.IsStream() || !jt.job.Spec.Stream.Continuous {
		return max, nil
	}
	c := jt.job.Counters.Tasks
	share := SpreadShare(int(c[Pending]+c[Dispatched]+c[Failed]+c[Succeeded]), (*alive)())
	held := 0
	err := jt.bucket(Dispatched).ForEach(func(k, _ []byte) error {
		t, err := jt.get(Dispatched, be64(k))
		if err == nil && t != nil && t.Worker == worker {
			held++
		}
		return err
	})
	return min(max, share-held), err
}
