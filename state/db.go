package state

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"ferry/task"

	bolt "go.etcd.io/bbolt"
	bolterr "go.etcd.io/bbolt/errors"

	"ferry/store"
)

// DB is the master's durable state in one bbolt file. Every task is in
// exactly one of its job's four state buckets; every change of state is one
// transaction that also updates the job's counters, so a crash at any
// moment leaves a consistent picture.
//
// Layout: jobs/<name>/{meta:job, pending, dispatched, failed, succeeded,
// manifests, uploads, audits}, where a manifest or held audit is a bucket
// of its own (bigvalue.go); task keys are 8-byte big-endian IDs; lease
// IDs come from the root jobs bucket's sequence, so they never repeat
// across restarts. (uploads.go and audits.go describe their buckets.)
type DB struct {
	bolt     *bolt.DB
	leaseDur time.Duration
	now      func() time.Time
	group    groupCommit
	specs    specCache
	workers  atomic.Pointer[func() int] // SetWorkers
}

var (
	bktJobs      = []byte("jobs")
	bktMeta      = []byte("meta")
	bktManifests = []byte("manifests")
)

// ErrLocked means another ferry process holds the database.
var ErrLocked = errors.New("database is in use by another ferry process")

// OpenDB opens (creating if needed) the database at path. A damaged file
// gives an error wrapping ErrCorrupt, not a panic; so does damage a later
// transaction meets.
func OpenDB(path string, leaseDur time.Duration) (*DB, error) {
	var b *bolt.DB
	err := guard(path, func() (err error) {
		b, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: 500 * time.Millisecond, FreelistType: bolt.FreelistMapType})
		return err
	})
	if errors.Is(err, bolterr.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w (stop the running master with `console.sh stop`, or wait for `run` to finish)", path, ErrLocked)
	}
	if errors.Is(err, ErrCorrupt) || errors.Is(err, bolterr.ErrInvalid) || errors.Is(err, bolterr.ErrChecksum) ||
		errors.Is(err, bolterr.ErrVersionMismatch) {
		return nil, fmt.Errorf("open %s: %w: %v", path, ErrCorrupt, err)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	d := &DB{bolt: b, leaseDur: leaseDur, now: time.Now}
	// Make the jobs bucket, and read every job's record once: damage
	// near the root stops the open, not a transaction later.
	err = d.updateTx(func(tx *bolt.Tx) error {
		root, err := tx.CreateBucketIfNotExists(bktJobs)
		if err != nil {
			return err
		}
		return root.ForEachBucket(func(k []byte) error {
			if jb := root.Bucket(k); jb != nil && jb.Bucket(bktMeta) != nil {
				jb.Bucket(bktMeta).ForEach(func(_, _ []byte) error { return nil })
			}
			return nil
		})
	})
	if err != nil {
		b.Close()
		if errors.Is(err, ErrCorrupt) {
			return nil, err
		}
		return nil, fmt.Errorf("init %s: %w", path, err)
	}
	return d, nil
}

// OpenDBReadOnly opens the database for reading while no master runs.
func OpenDBReadOnly(path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	var b *bolt.DB
	err := guard(path, func() (err error) {
		b, err = bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
		return err
	})
	if errors.Is(err, bolterr.ErrTimeout) {
		return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, err
	}
	return &DB{bolt: b, now: time.Now}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.bolt.Close() }

// Snapshot writes the committed state to a new file at path (mode 0600):
// a consistent copy taken while the database is in use.
func (d *DB) Snapshot(path string) error {
	return d.view(func(tx *bolt.Tx) error { return tx.CopyFile(path, 0o600) })
}

func taskKey(id uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], id)
	return k[:]
}

// jobTx is one job's buckets and, when opened with openJob, its decoded
// record inside a transaction.
type jobTx struct {
	d    *DB
	name string
	b    *bolt.Bucket
	job  *Job // nil from openTasks
	// writeSpec says save must write the spec too: a new job, or one
	// read from an earlier version's record.
	writeSpec bool
}

// openTasks opens a job's buckets without its record.
func (d *DB) openTasks(tx *bolt.Tx, name string) (*jobTx, error) {
	jb := tx.Bucket(bktJobs).Bucket([]byte(name))
	if jb == nil {
		return nil, fmt.Errorf("job %s: %w", name, task.ErrNoJob)
	}
	return &jobTx{d: d, name: name, b: jb}, nil
}

// openJob opens a job's buckets and its record.
func (d *DB) openJob(tx *bolt.Tx, name string) (*jobTx, error) {
	jt, err := d.openTasks(tx, name)
	if err != nil {
		return nil, err
	}
	meta := jt.b.Bucket(bktMeta)
	raw := meta.Get(keyState)
	if raw == nil {
		jt.job, err = decodeJobJSON(meta.Get(keyJob))
		jt.writeSpec = true
	} else {
		jt.job = new(Job)
		if jt.job.Spec, err = d.specs.load(name, meta.Get(keySpec)); err == nil {
			err = decodeState(raw, jt.job)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("job %s: decode: %w", name, err)
	}
	return jt, nil
}

// save writes the job's record (jobrecord.go).
func (jt *jobTx) save() error {
	meta := jt.b.Bucket(bktMeta)
	if jt.writeSpec {
		v, err := encodeSpec(jt.job.Spec)
		if err != nil {
			return err
		}
		if err := meta.Put(keySpec, v); err != nil {
			return err
		}
		if err := meta.Delete(keyJob); err != nil {
			return err
		}
		jt.writeSpec = false
	}
	v, err := appendState(make([]byte, 0, 128), jt.job)
	if err != nil {
		return err
	}
	return meta.Put(keyState, v)
}

func (jt *jobTx) bucket(s TaskState) *bolt.Bucket { return jt.b.Bucket(stateBuckets[s]) }

func (jt *jobTx) get(s TaskState, id uint64) (*Task, error) {
	v := jt.bucket(s).Get(taskKey(id))
	if v == nil {
		return nil, nil
	}
	var t Task
	if err := json.Unmarshal(v, &t); err != nil {
		return nil, fmt.Errorf("job %s task %d: decode: %w", jt.name, id, err)
	}
	return &t, nil
}

// find returns the task and the state it is in.
func (jt *jobTx) find(id uint64) (*Task, TaskState, error) {
	for s := TaskState(0); s < numStates; s++ {
		t, err := jt.get(s, id)
		if err != nil || t != nil {
			return t, s, err
		}
	}
	return nil, 0, nil
}

func (jt *jobTx) put(s TaskState, t *Task) error {
	v, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return jt.bucket(s).Put(taskKey(t.ID), v)
}

// move puts t into state to, removing it from from. The counters follow.
func (jt *jobTx) move(t *Task, from, to TaskState) error {
	if err := jt.bucket(from).Delete(taskKey(t.ID)); err != nil {
		return err
	}
	jt.job.Counters.Tasks[from]--
	jt.job.Counters.Tasks[to]++
	return jt.put(to, t)
}

func (jt *jobTx) manifest(id uint64) ([]store.Entry, error) {
	v, err := jt.manifestBytes(id)
	if err != nil {
		return nil, err
	}
	return decodeManifest(v)
}

// manifestBytes is task id's encoded manifest, bbolt's memory: valid only in
// the transaction.
func (jt *jobTx) manifestBytes(id uint64) ([]byte, error) {
	v := getBig(jt.b.Bucket(bktManifests), taskKey(id))
	if v == nil {
		return nil, fmt.Errorf("job %s task %d: manifest missing", jt.name, id)
	}
	return v, nil
}

// finish ends a job whose scan is done and whose tasks have all come back.
func (jt *jobTx) finish(now time.Time) {
	j := jt.job
	c := &j.Counters
	if !j.Active() || !j.ScanFinished || c.Tasks[Pending] != 0 || c.Tasks[Dispatched] != 0 {
		return
	}
	if every := j.Spec.IncrementalInterval; j.Spec.Incremental {
		// An incremental job stays Running: the next round rescans after
		// the interval (failed entries wait for retry meanwhile).
		if j.NextRound.IsZero() {
			j.NextRound = now.Add(every)
		}
		return
	}
	j.State = StateSucceed
	if c.Tasks[Failed] != 0 {
		j.State = StateFailed
	}
	j.Finished = now
}

// update runs fn on job name in one write transaction and saves the job.
func (d *DB) update(name string, fn func(jt *jobTx) error) error {
	return d.write(func(tx *bolt.Tx) error {
		jt, err := d.openJob(tx, name)
		if err != nil {
			return err
		}
		if err := fn(jt); err != nil {
			return err
		}
		return jt.save()
	})
}

// CreateJob stores a new job in state Scanning.
func (d *DB) CreateJob(spec task.Spec) error {
	return d.updateTx(func(tx *bolt.Tx) error {
		root := tx.Bucket(bktJobs)
		if root.Bucket([]byte(spec.Name)) != nil {
			return fmt.Errorf("job %s: %w", spec.Name, task.ErrJobExists)
		}
		jb, err := root.CreateBucket([]byte(spec.Name))
		if err != nil {
			return err
		}
		for _, n := range [][]byte{bktMeta, bktManifests, stateBuckets[Pending], stateBuckets[Dispatched], stateBuckets[Failed], stateBuckets[Succeeded]} {
			if _, err := jb.CreateBucket(n); err != nil {
				return err
			}
		}
		jt := &jobTx{d: d, name: spec.Name, b: jb, job: &Job{Spec: spec.Clone(), State: StateScanning, Submitted: d.now(), Round: 1},
			writeSpec: true}
		return jt.save()
	})
}

// Job returns a copy of one job's record.
func (d *DB) Job(name string) (*Job, error) {
	var j *Job
	err := d.view(func(tx *bolt.Tx) error {
		jt, err := d.openJob(tx, name)
		if err == nil {
			j = jt.job.clone()
		}
		return err
	})
	return j, err
}

// Jobs returns every job, by name.
func (d *DB) Jobs() ([]*Job, error) {
	var out []*Job
	err := d.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bktJobs).ForEachBucket(func(k []byte) error {
			jt, err := d.openJob(tx, string(k))
			if err != nil {
				return err
			}
			out = append(out, jt.job.clone())
			return nil
		})
	})
	return out, err
}

// JobNames returns the names of every job, as their buckets spell them.
func (d *DB) JobNames() ([]string, error) {
	var out []string
	err := d.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bktJobs).ForEachBucket(func(k []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

// ScanCounts are what a scan decided besides the entries it queued.
type ScanCounts struct {
	Excluded, ExcludedBytes   int64
	Unchanged, UnchangedBytes int64
}

// AddTask stores one scanned task and the scan position after it in the
// same transaction; final marks the scan finished. entries may be empty.
func (d *DB) AddTask(name string, entries []store.Entry, final bool) error {
	return d.AddScanned(name, 0, entries, ScanCounts{}, final)
}

// AddScanned is AddTask for round round of the job (0: whatever round it
// is in), also adding what the scan excluded or found unchanged since the
// last call. A scanner of a round that has ended gets task.ErrJobActive.
func (d *DB) AddScanned(name string, round int, entries []store.Entry, sc ScanCounts, final bool) error {
	return d.update(name, func(jt *jobTx) error {
		if !jt.job.Active() || round != 0 && jt.job.Round != round {
			return fmt.Errorf("job %s is %s (round %d): %w", name, jt.job.State, jt.job.Round, task.ErrJobActive)
		}
		c := &jt.job.Counters
		c.FilesExcluded += sc.Excluded
		c.BytesExcluded += sc.ExcludedBytes
		c.FilesUnchanged += sc.Unchanged
		c.BytesUnchanged += sc.UnchangedBytes
		if len(entries) > 0 {
			id, err := jt.b.NextSequence()
			if err != nil {
				return err
			}
			t := &Task{ID: id, Files: int64(len(entries))}
			for i := range entries {
				t.Bytes += entries[i].Size
			}
			if err := putBig(jt.b.Bucket(bktManifests), taskKey(id), encodeManifest(entries)); err != nil {
				return err
			}
			if err := jt.put(Pending, t); err != nil {
				return err
			}
			c.Tasks[Pending]++
			c.FilesTotal += t.Files
			c.BytesTotal += t.Bytes
			jt.job.ScanAfter = entries[len(entries)-1].Key
		}
		if final {
			jt.job.ScanFinished = true
			if jt.job.State == StateScanning {
				jt.job.State = StateRunning
			}
			jt.finish(d.now())
		}
		return nil
	})
}

// AddDeleted counts destination keys a mirror deleted.
func (d *DB) AddDeleted(name string, n int64) error {
	return d.update(name, func(jt *jobTx) error {
		jt.job.Counters.FilesDeleted += n
		return nil
	})
}

// StartDueRounds begins the next round of every incremental job whose
// round is done and whose wait is over, and returns their specs.
func (d *DB) StartDueRounds() ([]task.Spec, error) {
	var out []task.Spec
	now := d.now()
	err := d.updateTx(func(tx *bolt.Tx) error {
		return tx.Bucket(bktJobs).ForEachBucket(func(k []byte) error {
			jt, err := d.openJob(tx, string(k))
			if err != nil {
				return err
			}
			j := jt.job
			c := j.Counters
			if !j.Active() || !j.ScanFinished || j.NextRound.IsZero() || now.Before(j.NextRound) ||
				c.Tasks[Pending] != 0 || c.Tasks[Dispatched] != 0 {
				return nil
			}
			j.Round++
			j.ScanFinished, j.ScanAfter, j.NextRound = false, "", time.Time{}
			out = append(out, j.Spec)
			return jt.save()
		})
	})
	return out, err
}

// SetThrottle sets a job's bandwidth override (nil: none, back to its
// configured limits) and returns the job as saved.
func (d *DB) SetThrottle(name string, bytesPerSec *int64) (*Job, error) {
	var out *Job
	err := d.update(name, func(jt *jobTx) error {
		jt.job.Throttle = bytesPerSec
		out = jt.job.clone()
		return nil
	})
	return out, err
}

// FailJob ends a job that cannot go on (its source cannot be listed, say).
func (d *DB) FailJob(name string, cause error) error {
	return d.update(name, func(jt *jobTx) error {
		if !jt.job.Active() {
			return nil
		}
		jt.job.State = StateFailed
		jt.job.Error = cause.Error()
		jt.job.Finished = d.now()
		return nil
	})
}

// DeleteJob removes a job and all its tasks. It refuses an active job
// unless force is set.
func (d *DB) DeleteJob(name string, force bool) error {
	return d.updateTx(func(tx *bolt.Tx) error {
		jt, err := d.openJob(tx, name)
		if err != nil {
			return err
		}
		if jt.job.Active() && !force {
			return fmt.Errorf("job %s is %s: %w", name, jt.job.State, task.ErrJobActive)
		}
		d.specs.forget(name)
		return tx.Bucket(bktJobs).DeleteBucket([]byte(name))
	})
}

// Tasks calls fn for every task of a job in state s (for tests and tools).
func (d *DB) Tasks(name string, s TaskState, fn func(*Task) error) error {
	return d.view(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, name)
		if err != nil {
			return err
		}
		return jt.bucket(s).ForEach(func(k, v []byte) error {
			var t Task
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			return fn(&t)
		})
	})
}

// Manifest returns a task's current entries.
func (d *DB) Manifest(name string, id uint64) ([]store.Entry, error) {
	var out []store.Entry
	err := d.view(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, name)
		if err != nil {
			return err
		}
		out, err = jt.manifest(id)
		return err
	})
	return out, err
}
