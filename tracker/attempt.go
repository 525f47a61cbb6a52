package tracker

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"ferry/task"
)

// Attempt directories. While a worker reports, a lease's audit records are
// appended to jobs/<job>/.inflight/<task>_<lease>/audit.log. When the
// worker completes, Prepare freezes that log (records of the lease that
// arrive later are too late, as after the completion), writes TASK, STATUS,
// error.list and DONE beside it and returns every byte of the directory as
// a Dir, which the master stores in the transaction that commits the
// completion. Seal then publishes the directory under its final name with
// one rename.
//
// None of these steps waits for the disk: the committed copy is what makes
// an accepted attempt durable. After a crash Restore writes the directory
// again from it; while the master runs, Sync makes every directory sealed
// so far durable with one syncfs, after which the master drops the copies.

// Attempt describes a finished attempt for its TASK file.
type Attempt struct {
	Job     string
	Task    uint64
	Lease   uint64
	Attempt int
	Worker  string
	Failed  []string // keys that failed, for error.list
	Files   int
	Started time.Time
}

// AttemptRef names the attempt directory of one lease.
type AttemptRef struct {
	Job         string
	Task, Lease uint64
}

// attemptState is what the tracker knows of one lease's directory while it
// is in flight.
type attemptState struct {
	mu     sync.Mutex // held by Append, Prepare and Discard of the lease
	frozen bool       // prepared (or discarded): the log takes no more records
	name   string     // the final name Prepare reserved
}

// finalName is a reserved attempt directory name within a job.
type finalName struct{ job, name string }

const inflightDir = ".inflight"

func (t *Tracker) jobDir(job string) string { return filepath.Join(t.dir, job) }

func (t *Tracker) inflight(job string, task, lease uint64) string {
	return filepath.Join(t.jobDir(job), inflightDir, fmt.Sprintf("%d_%d", task, lease))
}

// attempt returns the state of ref's directory, creating it if needed.
func (t *Tracker) attempt(ref AttemptRef) *attemptState {
	t.amu.Lock()
	defer t.amu.Unlock()
	st := t.attempts[ref]
	if st == nil {
		st = &attemptState{}
		t.attempts[ref] = st
	}
	return st
}

// settle forgets ref's in-flight state, its reserved name and its progress.
func (t *Tracker) settle(ref AttemptRef) {
	t.amu.Lock()
	if st := t.attempts[ref]; st != nil {
		delete(t.names, finalName{ref.Job, st.name})
		delete(t.attempts, ref)
	}
	t.amu.Unlock()
	t.forget(ref.Job, ref.Task, ref.Lease)
}

// lineBufs holds the buffers Append formats a batch of records into.
var lineBufs = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// Append adds audit records to a lease's in-flight audit log. Records of a
// lease whose completion has been prepared are dropped.
func (t *Tracker) Append(job string, task, lease uint64, recs []Record) error {
	_, err := t.append(job, task, lease, recs)
	return err
}

// AppendAll appends the records of several leases, all or none: when one
// append fails (the disk is full), the logs appended to before it are cut
// back to their size before the call, so that the sender may send the same
// records again without any of them counting twice.
func (t *Tracker) AppendAll(audits map[task.LeaseRef][]Record) error {
	type done struct {
		ref  task.LeaseRef
		size int64
	}
	var undo []done
	for ref, recs := range audits {
		size, err := t.append(ref.Job, ref.TaskID, ref.LeaseID, recs)
		if err != nil {
			for _, d := range undo {
				t.cut(d.ref, d.size)
			}
			return err
		}
		if size >= 0 {
			undo = append(undo, done{ref, size})
		}
	}
	return nil
}

// append is Append; it returns the audit log's size before the records
// were appended, -1 when none was.
func (t *Tracker) append(job string, task, lease uint64, recs []Record) (int64, error) {
	if len(recs) == 0 {
		return -1, nil
	}
	st := t.attempt(AttemptRef{job, task, lease})
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.frozen {
		return -1, nil
	}
	dir := t.inflight(job, task, lease)
	if err := t.mkdir(dir); err != nil {
		return -1, fmt.Errorf("audit %s task %d: %w", job, task, err)
	}
	bp := lineBufs.Get().(*[]byte)
	b := (*bp)[:0]
	for _, r := range recs {
		b = r.AppendLine(b)
	}
	size, err := t.appendFile(filepath.Join(dir, "audit.log"), b)
	if cap(b) <= 4<<20 { // keep buffers of up to ~40,000 lines
		*bp = b
		lineBufs.Put(bp)
	}
	if err != nil {
		return -1, fmt.Errorf("audit %s task %d: %w", job, task, err)
	}
	return size, nil
}

// cut undoes an append to ref's audit log, unless the log has been frozen
// since (its completion is being prepared: the records stand).
func (t *Tracker) cut(ref task.LeaseRef, size int64) {
	st := t.attempt(AttemptRef{ref.Job, ref.TaskID, ref.LeaseID})
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.frozen {
		cutFile(filepath.Join(t.inflight(ref.Job, ref.TaskID, ref.LeaseID), "audit.log"), size)
	}
}

// Prepare completes a lease's in-flight directory: it freezes the audit
// log and writes TASK, STATUS, error.list and (on success) DONE beside it.
// It returns the whole directory under the name Seal will publish it as,
// relative to the job's directory: succeed_tasks/<task>_<epochms>@<worker>
// or failed_tasks/... Nothing is synced: the caller keeps the Dir where a
// crash cannot lose it before it reports the attempt accepted.
func (t *Tracker) Prepare(a Attempt) (Dir, error) {
	ref := AttemptRef{a.Job, a.Task, a.Lease}
	st := t.attempt(ref)
	st.mu.Lock()
	defer st.mu.Unlock()
	d, err := t.prepare(a, st)
	if err != nil {
		st.frozen = false
		return Dir{}, fmt.Errorf("prepare audit %s task %d: %w", a.Job, a.Task, err)
	}
	return d, nil
}

func (t *Tracker) prepare(a Attempt, st *attemptState) (Dir, error) {
	dir := t.inflight(a.Job, a.Task, a.Lease)
	if err := t.mkdir(dir); err != nil {
		return Dir{}, err
	}
	st.frozen = true
	logPath := filepath.Join(dir, "audit.log")
	log, err := t.readFile(logPath)
	if err == nil && log == nil {
		// audit.log exists even for a task whose records were all lost.
		log, err = []byte{}, t.writeFile(logPath, nil)
	}
	if err != nil {
		return Dir{}, err
	}
	now := t.now()
	status, parent := "Completed", "succeed_tasks"
	if len(a.Failed) > 0 {
		status, parent = "Failed", "failed_tasks"
	}
	task := fmt.Sprintf("job=%s\ntask=%d\nattempt=%d\nlease=%d\nworker=%s\nentries=%d\nfailed=%d\nstarted=%s\nfinished=%s\n",
		a.Job, a.Task, a.Attempt, a.Lease, a.Worker, a.Files, len(a.Failed),
		a.Started.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	var el strings.Builder
	for _, k := range a.Failed {
		el.WriteString(Escape(k))
		el.WriteByte('\n')
	}
	files := []File{{"audit.log", log}, {"TASK", []byte(task)}, {"STATUS", []byte(status + "\n")}, {"error.list", []byte(el.String())}}
	if status == "Completed" {
		files = append(files, File{"DONE", []byte{}})
	} else if err := os.Remove(filepath.Join(dir, "DONE")); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// An earlier Prepare of this lease had it succeed.
		return Dir{}, err
	}
	for _, f := range files[1:] {
		if err := t.writeFile(filepath.Join(dir, f.Name), f.Data); err != nil {
			return Dir{}, err
		}
	}
	worker := strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, a.Worker)
	t.release(a.Job, st)
	name, err := t.reserve(a.Job, parent, fmt.Sprintf("%d_", a.Task), "@"+worker, now.UnixMilli())
	if err != nil {
		return Dir{}, err
	}
	st.name = name
	return Dir{Name: name, Files: files}, nil
}

// reserve returns parent/<prefix><ms><suffix> for the first millisecond
// from ms that names neither a directory nor a name reserved by another
// prepared attempt: two attempts of one task by one worker in the same
// millisecond would share a name.
func (t *Tracker) reserve(job, parent, prefix, suffix string, ms int64) (string, error) {
	t.amu.Lock()
	defer t.amu.Unlock()
	for ; ; ms++ {
		name := filepath.Join(parent, fmt.Sprintf("%s%d%s", prefix, ms, suffix))
		if t.names[finalName{job, name}] {
			continue
		}
		_, err := os.Lstat(filepath.Join(t.jobDir(job), name))
		if errors.Is(err, fs.ErrNotExist) {
			t.names[finalName{job, name}] = true
			return name, nil
		}
		if err != nil {
			return "", err
		}
	}
}

// release gives back the name st reserved, if any.
func (t *Tracker) release(job string, st *attemptState) {
	t.amu.Lock()
	delete(t.names, finalName{job, st.name})
	t.amu.Unlock()
	st.name = ""
}

// Seal publishes a prepared in-flight directory under its final name. It
// is idempotent: a restart may call it again for the same attempt. The
// rename is made durable by the next Sync.
func (t *Tracker) Seal(job string, task, lease uint64, final string) error {
	ref := AttemptRef{job, task, lease}
	src := t.inflight(job, task, lease)
	dst := filepath.Join(t.jobDir(job), final)
	err := os.Rename(src, dst)
	if errors.Is(err, fs.ErrNotExist) {
		// The job's first attempt to end this way: make succeed_tasks or
		// failed_tasks and try again. Always: another Seal may have made it
		// between this rename and a look at it.
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		err = os.Rename(src, dst)
	}
	if err != nil {
		if _, serr := os.Stat(dst); serr != nil {
			return fmt.Errorf("publish audit %s: %w", final, err)
		}
		// Published already; what is in flight now came too late.
		os.RemoveAll(src)
	}
	t.settle(ref)
	t.amu.Lock()
	t.unsynced = append(t.unsynced, sealed{ref, dst})
	t.amu.Unlock()
	return nil
}

// Discard drops an in-flight directory whose lease was refused.
func (t *Tracker) Discard(job string, task, lease uint64) {
	ref := AttemptRef{job, task, lease}
	st := t.attempt(ref)
	st.mu.Lock()
	st.frozen = true // an Append waiting for the lock writes nothing
	os.RemoveAll(t.inflight(job, task, lease))
	st.mu.Unlock()
	t.settle(ref)
}

// Restore writes an attempt directory again from its copy and publishes it
// under d.Name, replacing whatever a crash left: a directory still in
// flight because its rename did not reach the disk, or a published one
// that lost some of its writes.
func (t *Tracker) Restore(job string, task, lease uint64, d Dir) error {
	if err := d.check(); err != nil {
		return fmt.Errorf("restore audit %s task %d: %w", job, task, err)
	}
	src := t.inflight(job, task, lease)
	if err := os.RemoveAll(src); err != nil {
		return err
	}
	if err := t.mkdir(src); err != nil {
		return err
	}
	for _, f := range d.Files {
		if err := t.writeFile(filepath.Join(src, f.Name), f.Data); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(filepath.Join(t.jobDir(job), d.Name)); err != nil {
		return err
	}
	return t.Seal(job, task, lease, d.Name)
}

// Recover settles in-flight directories left by a crash (after the master
// has restored those it holds copies of): decide says, for a task and
// lease, the final directory to publish it under (a completion committed
// by an older ferry, which synced the directory before committing), or
// keep (the lease is still out), or neither (drop it).
func (t *Tracker) Recover(job string, decide func(task, lease uint64) (final string, keep bool)) error {
	base := filepath.Join(t.jobDir(job), inflightDir)
	des, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, de := range des {
		var task, lease uint64
		if _, err := fmt.Sscanf(de.Name(), "%d_%d", &task, &lease); err != nil {
			os.RemoveAll(filepath.Join(base, de.Name()))
			continue
		}
		final, keep := decide(task, lease)
		switch {
		case final != "":
			if err := t.Seal(job, task, lease, final); err != nil {
				return err
			}
		case !keep:
			t.Discard(job, task, lease)
		}
	}
	return nil
}

// RemoveJob deletes a job's audit tree.
func (t *Tracker) RemoveJob(job string) error {
	t.mu.Lock()
	delete(t.jobs, job)
	t.mu.Unlock()
	t.amu.Lock()
	for ref, st := range t.attempts {
		if ref.Job == job {
			delete(t.names, finalName{job, st.name})
			delete(t.attempts, ref)
		}
	}
	t.amu.Unlock()
	return os.RemoveAll(t.jobDir(job))
}
