package state

import (
	"fmt"

	"ferry/store"
	"ferry/task"
)

// A file split into part tasks (task.Part) is a group of tasks with
// consecutive IDs, each in one of the four buckets like any task. What the
// group adds: a range task is leased only once the prepare task
// succeeded, the final task only once every range did; the file counts
// once in the job's files (its final task) and its bytes once (its
// ranges'); the states the group's tasks save stay until the final task
// succeeds, so that it finds them; and when one of them fails, those of
// its group still pending fail with it, so that the job ends (retry
// re-queues them all).

// weight returns what an entry of size bytes counts for in the job's
// files and bytes when it is t's.
func (t *Task) weight(size int64) (files, bytes int64) {
	switch p := t.Part; {
	case p == nil:
		return 1, size
	case p.IsRange():
		return 0, p.Len
	case p.IsFinal():
		return 1, 0
	}
	return 0, 0
}

// groupIDs returns the IDs a part task waits for.
func groupIDs(p *task.Part) []uint64 {
	switch {
	case p.IsRange():
		return []uint64{p.Group}
	case p.IsFinal():
		ids := make([]uint64, p.Count)
		for i := range ids {
			ids[i] = p.Group + 1 + uint64(i)
		}
		return ids
	}
	return nil
}

// leasable reports whether pending task id may be leased now.
func (jt *jobTx) leasable(id uint64) (bool, error) {
	t, err := jt.get(Pending, id)
	if err != nil || t == nil || t.Part == nil {
		return t != nil, err
	}
	done := jt.bucket(Succeeded)
	for _, w := range groupIDs(t.Part) {
		if done.Get(taskKey(w)) == nil {
			return false, nil
		}
	}
	return true, nil
}

// leaseUploads returns the saved states a lease of t carries: its own,
// and for a part task those of the tasks it waits for.
func (jt *jobTx) leaseUploads(t *Task) ([]task.UploadState, error) {
	out, err := jt.taskUploads(t.ID)
	if err != nil || t.Part == nil {
		return out, err
	}
	ids := groupIDs(t.Part)
	if t.Part.IsFinal() {
		ids = append(ids, t.Part.Group) // the prepare task's too
	}
	for _, id := range ids {
		ups, err := jt.taskUploads(id)
		if err != nil {
			return nil, err
		}
		out = append(out, ups...)
	}
	return out, nil
}

// dropTaskUploads forgets what a succeeded task saved: at once for a
// task of no group, with the whole group's when its final task succeeds.
func (jt *jobTx) dropTaskUploads(t *Task) error {
	p := t.Part
	switch {
	case p == nil:
		return jt.dropUploads(t.ID)
	case p.IsFinal():
		for id := p.Group; id <= p.Group+uint64(p.Count)+1; id++ {
			if err := jt.dropUploads(id); err != nil {
				return err
			}
		}
	}
	return nil
}

// failGroup fails the tasks of p's group that are still pending, counted
// as failed by their weight.
func (jt *jobTx) failGroup(p *task.Part) error {
	c := &jt.job.Counters
	for id := p.Group; id <= p.Group+uint64(p.Count)+1; id++ {
		t, err := jt.get(Pending, id)
		if err != nil {
			return err
		}
		if t == nil {
			continue
		}
		b, err := jt.manifestBytes(id)
		if err != nil {
			return err
		}
		_, err = walkManifest(b, func(i int, _ []byte, size int64) {
			files, bytes := t.weight(size)
			t.Failed = append(t.Failed, uint32(i))
			c.FilesFailed += files
			c.BytesFailed += bytes
		})
		if err != nil {
			return err
		}
		if err := jt.move(t, Pending, Failed); err != nil {
			return err
		}
	}
	return nil
}

// AddGroup stores the part tasks of one file, the scan position after it,
// in one transaction: a task per part of task.SplitFile, each holding e
// alone. round is as AddScanned's.
func (d *DB) AddGroup(name string, round int, e store.Entry, partSize int64) error {
	return d.update(name, func(jt *jobTx) error {
		if !jt.job.Active() || round != 0 && jt.job.Round != round {
			return fmt.Errorf("job %s is %s (round %d): %w", name, jt.job.State, jt.job.Round, task.ErrJobActive)
		}
		first, err := jt.b.NextSequence()
		if err != nil {
			return err
		}
		parts := task.SplitFile(first, e.Size, partSize)
		manifest := encodeManifest([]store.Entry{e})
		c := &jt.job.Counters
		for i := range parts {
			id := first
			if i > 0 {
				if id, err = jt.b.NextSequence(); err != nil {
					return err
				}
			}
			if id != first+uint64(i) {
				return fmt.Errorf("job %s: part task IDs not consecutive (%d after %d)", name, id, first)
			}
			t := &Task{ID: id, Part: &parts[i]}
			t.Files, t.Bytes = t.weight(e.Size)
			if err := putBig(jt.b.Bucket(bktManifests), taskKey(id), manifest); err != nil {
				return err
			}
			if err := jt.put(Pending, t); err != nil {
				return err
			}
			c.Tasks[Pending]++
			c.FilesTotal += t.Files
			c.BytesTotal += t.Bytes
		}
		jt.job.ScanAfter = e.Key
		return nil
	})
}
