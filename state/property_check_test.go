package state

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"ferry/store"
)

// check compares the model with the bbolt file, read bucket by bucket
// without the DB's own helpers.
func (p *prop) check() error {
	return p.d.bolt.View(func(tx *bolt.Tx) error {
		root := tx.Bucket(bktJobs)
		var names []string
		if err := root.ForEachBucket(func(k []byte) error {
			names = append(names, string(k))
			return nil
		}); err != nil {
			return err
		}
		if !slices.Equal(names, p.names) {
			return fmt.Errorf("jobs in the database %q, want %q", names, p.names)
		}
		if seq := root.Sequence(); seq != p.nextLease {
			return fmt.Errorf("lease sequence %d, want %d", seq, p.nextLease)
		}
		for _, n := range names {
			if err := p.checkJob(root.Bucket([]byte(n)), p.jobs[n]); err != nil {
				return fmt.Errorf("job %s: %w", n, err)
			}
		}
		return nil
	})
}

func (p *prop) checkJob(jb *bolt.Bucket, mj *propJob) error {
	raw := jb.Bucket(bktMeta).Get(keyState)
	j, ok := p.decodedJobs[string(raw)]
	if !ok {
		if err := decodeState(raw, &j); err != nil {
			return err
		}
		p.decodedJobs[string(raw)] = j
	}
	// The spec the job was created with is there, decoded as written.
	spec, err := decodeSpec(jb.Bucket(bktMeta).Get(keySpec))
	if err != nil || spec.Name != mj.name {
		return fmt.Errorf("spec %+v, %v", spec, err)
	}
	c := j.Counters
	where := make(map[uint64]TaskState)
	var buckets [numStates]int64
	for s := TaskState(0); s < numStates; s++ {
		err := jb.Bucket(stateBuckets[s]).ForEach(func(k, v []byte) error {
			id := binary.BigEndian.Uint64(k)
			if prev, dup := where[id]; dup {
				return fmt.Errorf("task %d is in both %s and %s", id, prev, s)
			}
			where[id] = s
			buckets[s]++
			t, ok := p.decoded[string(v)]
			if !ok {
				if err := json.Unmarshal(v, &t); err != nil {
					return fmt.Errorf("task %d: %w", id, err)
				}
				p.decoded[string(v)] = t
			}
			return checkTask(&t, id, s, mj.tasks[id])
		})
		if err != nil {
			return err
		}
	}
	if len(where) != len(mj.tasks) {
		return fmt.Errorf("%d tasks in the buckets, want %d", len(where), len(mj.tasks))
	}
	if buckets != c.Tasks {
		return fmt.Errorf("Counters.Tasks %v, buckets hold %v", c.Tasks, buckets)
	}
	if want := mj.counts(); buckets != want {
		return fmt.Errorf("buckets hold %v tasks, want %v", buckets, want)
	}

	// Every scanned key in exactly one place: a pending or dispatched
	// manifest, a failed task's failed list, or (nowhere) done.
	manifests := make(map[uint64][]store.Entry)
	err = forEachBig(jb.Bucket(bktManifests), func(k, v []byte) error {
		es, err := decodeManifest(v)
		manifests[binary.BigEndian.Uint64(k)] = es
		return err
	})
	if err != nil {
		return err
	}
	seen := make(map[string]keyFate)
	var queued int64
	for id, s := range where {
		es, ok := manifests[id]
		if ok != (s != Succeeded) {
			return fmt.Errorf("task %d in %s: manifest present %v", id, s, ok)
		}
		if !ok {
			continue
		}
		mt := mj.tasks[id]
		if err := sameEntries(es, mt.entries); err != nil {
			return fmt.Errorf("task %d manifest: %w", id, err)
		}
		failed := make(map[int]bool)
		for _, i := range mt.failed {
			failed[int(i)] = true
		}
		for i, e := range es {
			st := kQueued
			switch {
			case s == Failed && failed[i]:
				st = kFailed
			case s == Failed:
				if mj.keys[e.Key] != kDone {
					return fmt.Errorf("key %q: succeeded in failed task %d but model says %d", e.Key, id, mj.keys[e.Key])
				}
				continue
			default:
				queued++
			}
			if _, dup := seen[e.Key]; dup {
				return fmt.Errorf("key %q is in two tasks", e.Key)
			}
			seen[e.Key] = st
		}
	}
	if len(manifests) != len(where)-int(buckets[Succeeded]) {
		return fmt.Errorf("%d manifests for %d unfinished tasks", len(manifests), len(where)-int(buckets[Succeeded]))
	}
	var done, doneBytes, nFailed, failedBytes, totalBytes int64
	for k, st := range mj.keys {
		size := mj.sizes[k]
		totalBytes += size
		got, ok := seen[k]
		if !ok {
			got = kDone
		}
		if got != st {
			return fmt.Errorf("key %q: database says state %d, model %d", k, got, st)
		}
		switch st {
		case kDone:
			done, doneBytes = done+1, doneBytes+size
		case kFailed:
			nFailed, failedBytes = nFailed+1, failedBytes+size
		}
	}
	if len(seen) > len(mj.keys)-int(done) {
		return fmt.Errorf("database holds %d unfinished keys, model %d", len(seen), len(mj.keys)-int(done))
	}

	want := Counters{FilesTotal: mj.everScanned, BytesTotal: mj.everScannedSz, FilesDone: done, BytesDone: doneBytes,
		FilesFailed: nFailed, BytesFailed: failedBytes, FilesSkipped: mj.skipped, BytesSkipped: mj.skippedBytes, Tasks: buckets}
	if c != want {
		return fmt.Errorf("counters\n  got  %+v\n  want %+v", c, want)
	}
	if int64(len(mj.keys)) != c.FilesTotal || totalBytes != c.BytesTotal {
		return fmt.Errorf("FilesTotal %d BytesTotal %d, %d keys of %d bytes scanned", c.FilesTotal, c.BytesTotal, len(mj.keys), totalBytes)
	}
	if c.FilesDone+c.FilesFailed+queued != c.FilesTotal {
		return fmt.Errorf("FilesDone %d + FilesFailed %d + queued %d != FilesTotal %d", c.FilesDone, c.FilesFailed, queued, c.FilesTotal)
	}

	// Exactly the audit directories of accepted completions not dropped.
	held := make(map[[2]uint64]string)
	if b := jb.Bucket(bktAudits); b != nil {
		if err := forEachBig(b, func(k, v []byte) error {
			held[[2]uint64{binary.BigEndian.Uint64(k[:8]), binary.BigEndian.Uint64(k[8:])}] = string(v)
			return nil
		}); err != nil {
			return err
		}
	}
	if !maps.Equal(held, mj.held) {
		return fmt.Errorf("held audit directories %d, want %d", len(held), len(mj.held))
	}

	ended := j.State == StateSucceed || j.State == StateFailed
	if ended != (j.ScanFinished && buckets[Pending]+buckets[Dispatched] == 0) {
		return fmt.Errorf("state %s with ScanFinished=%v and %d pending, %d dispatched", j.State, j.ScanFinished, buckets[Pending], buckets[Dispatched])
	}
	if j.State != mj.state() || j.ScanFinished != mj.scanFinished || j.ScanAfter != mj.scanAfter {
		return fmt.Errorf("state %s scanFinished %v scanAfter %q, want %s %v %q", j.State, j.ScanFinished, j.ScanAfter, mj.state(), mj.scanFinished, mj.scanAfter)
	}
	if ended == j.Finished.IsZero() {
		return fmt.Errorf("state %s with Finished=%v", j.State, j.Finished)
	}
	return nil
}

func checkTask(t *Task, id uint64, s TaskState, mt *propTask) error {
	if mt == nil {
		return fmt.Errorf("task %d in %s is not in the model", id, s)
	}
	var bytes int64
	for _, e := range mt.entries {
		bytes += e.Size
	}
	var wantFailed []uint32
	if s == Failed {
		wantFailed = mt.failed
	}
	switch {
	case t.ID != id:
		return fmt.Errorf("task under key %d has ID %d", id, t.ID)
	case s != mt.state:
		return fmt.Errorf("task %d is in %s, want %s", id, s, mt.state)
	case t.Attempt != mt.attempt || t.LeaseID != mt.lease || t.Worker != mt.worker || t.Deadline != mt.deadline:
		return fmt.Errorf("task %d: attempt %d lease %d worker %q deadline %d, want %d %d %q %d",
			id, t.Attempt, t.LeaseID, t.Worker, t.Deadline, mt.attempt, mt.lease, mt.worker, mt.deadline)
	case t.Files != int64(len(mt.entries)) || t.Bytes != bytes:
		return fmt.Errorf("task %d: %d files %d bytes, want %d, %d", id, t.Files, t.Bytes, len(mt.entries), bytes)
	case !slices.Equal(t.Failed, wantFailed):
		return fmt.Errorf("task %d: failed %v, want %v", id, t.Failed, wantFailed)
	case t.LastLease != mt.lastLease || t.AttemptDir != mt.attemptDir:
		return fmt.Errorf("task %d: last lease %d dir %q, want %d %q", id, t.LastLease, t.AttemptDir, mt.lastLease, mt.attemptDir)
	case (s == Dispatched) != (t.LeaseID != 0):
		return fmt.Errorf("task %d in %s has lease %d", id, s, t.LeaseID)
	}
	return nil
}

// checkDrained checks that a drained sequence copied every key exactly once.
func (p *prop) checkDrained() error {
	if err := p.check(); err != nil {
		return err
	}
	for _, n := range p.names {
		j, err := p.d.Job(n)
		if err != nil {
			return err
		}
		c := j.Counters
		if j.State != StateSucceed || c.FilesDone != c.FilesTotal || c.BytesDone != c.BytesTotal || c.FilesFailed != 0 ||
			c.Tasks != [numStates]int64{Succeeded: int64(len(p.jobs[n].tasks))} {
			return fmt.Errorf("drained job %s: state %s counters %+v", n, j.State, c)
		}
		for k, st := range p.jobs[n].keys {
			if st != kDone {
				return fmt.Errorf("drained job %s: key %q in state %d", n, k, st)
			}
		}
	}
	return nil
}

// snapshot dumps every bucket, key, value and sequence of the database.
func snapshot(d *DB) (map[string]string, error) {
	out := make(map[string]string)
	var walk func(path string, b *bolt.Bucket) error
	walk = func(path string, b *bolt.Bucket) error {
		out[path+"#seq"] = strconv.FormatUint(b.Sequence(), 10)
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return walk(path+"/"+string(k), b.Bucket(k))
			}
			out[path+"/"+string(k)] = string(v)
			return nil
		})
	}
	err := d.bolt.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
	})
	return out, err
}

func sameSnapshot(d *DB, before map[string]string) error {
	after, err := snapshot(d)
	if err != nil {
		return err
	}
	for k, v := range after {
		if w, ok := before[k]; !ok || w != v {
			return fmt.Errorf("%q: %q -> %q", k, w, v)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			return fmt.Errorf("%q was removed", k)
		}
	}
	return nil
}
