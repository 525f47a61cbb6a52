package master

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ferry/state"
	"ferry/task"

	"ferry/tracker"
)

// Register records a worker that has just started. It holds no lease yet,
// so any lease still recorded under its ID (from before a crash) goes back
// to pending at once instead of waiting for the deadline.
func (m *Master) Register(ctx context.Context, id, host string, threads int) error {
	now := time.Now()
	m.mu.Lock()
	m.workers[id] = &workerInfo{host: host, registered: now, lastSeen: now, threads: threads}
	m.mu.Unlock()
	refs, err := m.db.ReleaseWorker(id)
	if err != nil {
		return m.noteWrite("register workers", err)
	}
	m.dropLeases(refs, "worker restarted; its old lease is pending again")
	m.log.Info("worker registered", "worker", id, "host", host, "threads", threads)
	return nil
}

func (m *Master) seen(id string) {
	m.mu.Lock()
	if w := m.workers[id]; w != nil {
		w.lastSeen = time.Now()
	}
	m.mu.Unlock()
}

// Leave records that a worker is exiting; its leases go back to pending
// at once.
func (m *Master) Leave(ctx context.Context, id string) error {
	m.mu.Lock()
	if w := m.workers[id]; w != nil {
		w.left = true
	}
	m.mu.Unlock()
	refs, err := m.db.ReleaseWorker(id)
	if err != nil {
		return err
	}
	m.dropLeases(refs, "worker left; its lease is pending again")
	m.log.Info("worker left", "worker", id)
	return nil
}

// LeaseDuration is how long a lease lasts without renewal, in whole
// seconds (as workers are told).
func (m *Master) LeaseDuration() time.Duration { return m.cfg.LeaseDur.Truncate(time.Second) }

// How a Lease call with no task to give is answered: the master waits
// leaseWait for one, then tells the worker to ask again after
// leaseRetryAfter.
const (
	leaseWait       = 2 * time.Second
	leaseRetryAfter = 200 * time.Millisecond
)

// Grant answers a worker's Lease call for at most max tasks, waiting a
// little for one when none is pending: the leases, their jobs' limits for
// this worker, whether the master is stopping, and, when there is no
// lease, how long to wait before asking again.
func (m *Master) Grant(ctx context.Context, worker string, max int) (task.Grant, error) {
	leases, err := m.Lease(ctx, worker, max, leaseWait)
	if err != nil {
		return task.Grant{}, err
	}
	r := task.Grant{Leases: leases, Stop: m.Stopping()}
	if len(leases) == 0 {
		r.RetryAfter = leaseRetryAfter
		return r, nil
	}
	jobs := make([]string, len(leases))
	for i, l := range leases {
		jobs[i] = l.Job
	}
	r.Limits = m.WorkerLimits(worker, jobs)
	return r, nil
}

// ReportFor answers a worker's Report call: it passes the records and
// progress on (Report), then returns the worker's limits in the jobs it
// reported progress in and whether the master is stopping.
func (m *Master) ReportFor(ctx context.Context, worker string, copied int64, audits map[task.LeaseRef][]tracker.Record, progress []tracker.TaskProgress) (map[string]task.Limits, bool, error) {
	if err := m.Report(ctx, worker, copied, audits, progress); err != nil {
		return nil, false, err
	}
	jobs := make([]string, 0, len(progress))
	for _, p := range progress {
		jobs = append(jobs, p.Job)
	}
	return m.WorkerLimits(worker, jobs), m.Stopping(), nil
}

// SaveUpload keeps an unfinished multipart upload of the task under ref,
// so that a later attempt resumes it. task.ErrStaleLease when ref is not the
// task's current lease.
func (m *Master) SaveUpload(worker string, ref task.LeaseRef, u task.UploadState) error {
	m.seen(worker)
	return m.db.SaveUpload(ref, u)
}

// Stopping reports whether the master is draining its workers.
func (m *Master) Stopping() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopping
}

// Drain tells every worker to leave (through its next lease, renewal or
// report) and waits until the live ones have, or ctx ends. It returns the
// IDs of the workers that did not leave, alive or lost, for the caller to
// stop another way (SSH).
func (m *Master) Drain(ctx context.Context) []string {
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	m.notify()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		var alive, remaining []string
		for _, w := range m.Workers() {
			if !w.Left {
				remaining = append(remaining, w.ID)
				if w.Alive {
					alive = append(alive, w.ID)
				}
			}
		}
		if len(alive) == 0 {
			return remaining // lost workers too: they may still run, cut off
		}
		select {
		case <-ctx.Done():
			return remaining
		case <-tick.C:
		}
	}
}

// aliveWorkers counts the workers heard from within a lease period that
// have not left and are not revoked: those a continuous stream job's
// tasks are spread across.
func (m *Master) aliveWorkers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	now, n := time.Now(), 0
	for _, w := range m.workers {
		if !w.left && !w.revoked && now.Sub(w.lastSeen) < m.cfg.LeaseDur {
			n++
		}
	}
	return n
}

// Lease grants up to max tasks to a worker, waiting up to wait for work to
// appear when there is none.
func (m *Master) Lease(ctx context.Context, worker string, max int, wait time.Duration) ([]task.Lease, error) {
	m.seen(worker)
	// A worker that joins a running continuous stream job gets its share
	// of the partitions from the others.
	refs, err := m.db.Rebalance(worker)
	if err != nil {
		return nil, m.noteWrite("rebalance tasks", err)
	}
	m.dropLeases(refs, "lease ended: its continuous stream task goes to worker "+worker+", which holds less than its share")
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		after, wake, stopping := m.lastJob, m.wake, m.stopping
		m.mu.Unlock()
		if stopping {
			return nil, nil
		}
		leases, err := m.db.LeaseTasks(worker, max, after)
		if err != nil {
			return nil, m.noteWrite("lease tasks", err)
		}
		if len(leases) > 0 {
			m.mu.Lock()
			m.lastJob = leases[len(leases)-1].Job
			m.mu.Unlock()
			return leases, nil
		}
		select {
		case <-wake:
		case <-deadline.C:
			return nil, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Renew extends a worker's leases and names those it has lost.
func (m *Master) Renew(ctx context.Context, worker string, refs []task.LeaseRef) ([]task.LeaseRef, time.Time, error) {
	m.seen(worker)
	lost, deadline, err := m.db.Renew(worker, refs)
	return lost, deadline, m.noteWrite("renew leases", err)
}

// ErrBusy means the same completion is already being recorded.
var ErrBusy = errors.New("completion already in progress")

// Complete records a task attempt's outcome if ref is still the task's
// current lease, and publishes its audit directory. It returns that
// directory, relative to the job's. A stale lease gets task.ErrStaleLease and
// the attempt's audit records are dropped, so nothing counts twice.
func (m *Master) Complete(ctx context.Context, worker string, ref task.LeaseRef, results []task.Outcome, started time.Time) (string, error) {
	m.seen(worker)
	if started.IsZero() || started.Unix() <= 0 {
		started = time.Now()
	}
	m.mu.Lock()
	if m.completes[ref] {
		m.mu.Unlock()
		return "", ErrBusy
	}
	m.completes[ref] = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.completes, ref)
		m.mu.Unlock()
	}()

	var want []uint32
	for _, r := range results {
		if !r.Skip() {
			want = append(want, r.Index)
		}
	}
	files, failed, attempt, err := m.db.CheckLease(ref, want)
	if err != nil {
		if errors.Is(err, task.ErrStaleLease) {
			m.tr.Discard(ref.Job, ref.TaskID, ref.LeaseID)
			m.events.add(&m.events.stale, ref.Job)
			m.log.Warn("stale completion refused", "worker", worker, "job", ref.Job, "task", ref.TaskID, "lease", ref.LeaseID)
		}
		return "", err
	}
	for _, r := range results {
		if int(r.Index) >= files {
			return "", fmt.Errorf("job %s task %d: result for entry %d of %d", ref.Job, ref.TaskID, r.Index, files)
		}
	}
	var freed bool
	name, err := m.journal.Commit(tracker.Attempt{Job: ref.Job, Task: ref.TaskID, Lease: ref.LeaseID,
		Attempt: attempt, Worker: worker, Failed: failed, Files: files, Started: started},
		func(name string, dir []byte) (err error) {
			freed, err = m.db.CompleteFreeing(ref, results, name, dir)
			return err
		})
	if err != nil {
		return "", m.noteWrite("record completions", err)
	}
	if freed {
		// A part task's prepare or range: the tasks of its group that
		// waited for it are leasable now, and idle workers are waiting
		// in Lease, which a completion does not otherwise wake.
		m.notify()
	}
	m.spaceBack()
	m.cfg.TrackerLog.Info("attempt recorded", "job", ref.Job, "task", ref.TaskID, "lease", ref.LeaseID,
		"worker", worker, "entries", files, "failed", len(failed), "dir", name)
	return name, nil
}

// Report passes a worker's audit records and progress to the tracker. Audit
// records of a lease that is no longer current are dropped.
func (m *Master) Report(ctx context.Context, worker string, copied int64, audits map[task.LeaseRef][]tracker.Record, progress []tracker.TaskProgress) error {
	m.seen(worker)
	refs := make([]task.LeaseRef, 0, len(audits)+len(progress))
	for ref := range audits {
		refs = append(refs, ref)
	}
	for _, p := range progress {
		refs = append(refs, task.LeaseRef{Job: p.Job, TaskID: p.Task, LeaseID: p.Lease})
	}
	current := m.db.Current(refs)
	// A report that fails is sent again whole: the copied index first (the
	// same again is no change), then every audit log or none, so that no
	// record is written twice.
	live := make(map[task.LeaseRef][]tracker.Record, len(audits))
	for ref, recs := range audits {
		if !current[ref] {
			continue
		}
		if err := m.db.NoteCopied(ref.Job, copiesOf(recs)); err != nil {
			return m.noteWrite("record copies", err)
		}
		live[ref] = recs
	}
	if err := m.tr.AppendAll(live); err != nil {
		return m.noteWrite("write audit logs", err)
	}
	// Progress of a lease that is no longer current (completed, expired)
	// would count its files twice in the in-flight figures.
	inflight := progress[:0]
	for _, p := range progress {
		if current[task.LeaseRef{Job: p.Job, TaskID: p.Task, LeaseID: p.Lease}] {
			inflight = append(inflight, p)
		}
	}
	m.tr.Report(worker, copied, inflight)
	return nil
}

// copiesOf returns, for the OKs and SKIPs of recs that carry a destination
// ETag, what the destination object of each key is a copy of: the copied
// index of incremental jobs (state/copied.go).
func copiesOf(recs []tracker.Record) map[string]state.Copied {
	var out map[string]state.Copied
	for _, r := range recs {
		if r.DestETag == "" || r.Result == tracker.Fail {
			continue
		}
		if out == nil {
			out = make(map[string]state.Copied)
		}
		out[r.Key] = state.Copied{Size: r.Size, MTime: r.SourceMTime, DestETag: r.DestETag}
	}
	return out
}
