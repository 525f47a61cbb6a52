package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"ferry/internal/fspath"
	"ferry/state"
	"ferry/task"

	"ferry/store"
)

// ErrOwnDir refuses a job whose local paths overlap the master's directory.
var ErrOwnDir = errors.New("it holds the master's database and keys; copy somewhere else")

// Submit stores a new job and starts scanning it. A job whose local paths
// are the master's directory, lie in it or contain it is refused with
// ErrOwnDir, whichever console sent it: the master checks on its own what
// conf checks in job.cfg.
func (m *Master) Submit(ctx context.Context, spec task.Spec) error {
	if spec.Name == "" {
		return errors.New("submit: job has no name")
	}
	if err := m.checkOwnDir(spec); err != nil {
		return err
	}
	if err := m.db.CreateJob(spec); err != nil {
		return err
	}
	m.log.Info("job submitted", "job", spec.Name, "src", spec.Src.Prefix, "dest", spec.Dest.Prefix)
	m.startScan(spec)
	return nil
}

// checkOwnDir returns ErrOwnDir, wrapped with the path, when a local path of
// spec overlaps the master's directory, as written or after following
// symbolic links.
func (m *Master) checkOwnDir(spec task.Spec) error {
	dir, err := filepath.Abs(m.cfg.Dir)
	if err != nil {
		return fmt.Errorf("submit %s: %w", spec.Name, err)
	}
	var paths [][2]string // what, path
	if spec.Src.Type == "local" {
		paths = append(paths, [2]string{"source", spec.Src.Prefix})
	}
	if spec.Src.Type == "http" && spec.HTTPList.File != "" {
		paths = append(paths, [2]string{"URL list", spec.HTTPList.File})
	}
	if spec.SrcList != "" {
		paths = append(paths, [2]string{"key list", spec.SrcList})
	}
	if spec.Dest.Type == "local" {
		paths = append(paths, [2]string{"destination", spec.Dest.Prefix})
	}
	for _, p := range paths {
		abs, err := filepath.Abs(p[1])
		if err != nil {
			return fmt.Errorf("submit %s: %s %q: %w", spec.Name, p[0], p[1], err)
		}
		if fspath.Overlap(dir, abs) || fspath.Overlap(fspath.Real(dir), fspath.Real(abs)) {
			return fmt.Errorf("submit %s: %s %q overlaps the master's directory %q: %w", spec.Name, p[0], p[1], dir, ErrOwnDir)
		}
	}
	return nil
}

// JobStat is one job's state as `stat` shows it.
type JobStat struct {
	state.Job
	Running    int
	Throughput float64 // bytes/s
	ETA        time.Duration
	HasETA     bool
	// InFlight counts what leases not yet completed have done so far; it
	// is not part of the durable counters.
	InFlightFiles, InFlightBytes int64
	// MasterError is the master's problem (a full working directory) that
	// holds this active job back, if any.
	MasterError Problem
}

// Stat returns the named job, or every job when name is empty.
func (m *Master) Stat(ctx context.Context, name string) ([]JobStat, error) {
	// Read while no completion is between its commit and its audit
	// directory: stat never shows a task done whose directory is not there.
	var jobs []*state.Job
	var err error
	m.journal.Settled(func() {
		if name == "" {
			jobs, err = m.db.Jobs()
			return
		}
		var j *state.Job
		if j, err = m.db.Job(name); err == nil {
			jobs = []*state.Job{j}
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]JobStat, 0, len(jobs))
	problem := m.Problem()
	for _, j := range jobs {
		s := JobStat{Job: *j}
		if !j.Active() && j.Finished.After(j.Submitted) {
			// A finished job shows its average rate.
			s.Throughput = float64(j.Counters.BytesDone-j.Counters.BytesSkipped) / j.Finished.Sub(j.Submitted).Seconds()
		}
		if j.Active() {
			v := m.tr.Job(j.Spec.Name)
			s.Running = v.Running
			s.Throughput = v.Rate
			s.InFlightFiles, s.InFlightBytes = v.InFlightFiles, v.InFlightBytes
			c := j.Counters
			left := c.BytesTotal - c.BytesDone - c.BytesFailed - v.InFlightBytes
			if left < 0 {
				left = 0
			}
			if j.ScanFinished && v.Rate > 0 {
				s.ETA = time.Duration(float64(left) / v.Rate * float64(time.Second)).Round(time.Second)
				s.HasETA = true
			}
			if s.Running > int(c.Tasks[state.Dispatched]) {
				s.Running = int(c.Tasks[state.Dispatched])
			}
			s.MasterError = problem
		}
		out = append(out, s)
	}
	return out, nil
}

// Retry re-queues the failed entries of a job, and restarts a scan that
// failed. It reports how many tasks and entries went back to pending.
func (m *Master) Retry(ctx context.Context, name string) (int64, int64, error) {
	tasks, entries, err := m.db.Retry(name)
	if err != nil {
		return 0, 0, err
	}
	if tasks > 0 {
		j, err := m.db.Job(name)
		if err == nil && !j.ScanFinished {
			m.startScan(j.Spec)
		}
		m.notify()
	}
	return tasks, entries, nil
}

// Clean forgets a job: its tasks, counters and audit logs. The copied data
// stays. An active job is refused unless force is set.
func (m *Master) Clean(ctx context.Context, name string, force bool) error {
	j, err := m.db.Job(name)
	if err != nil {
		return err
	}
	ups, err := m.db.JobUploads(name)
	if err != nil {
		return err
	}
	if err := m.db.DeleteJob(name, force); err != nil {
		return err
	}
	stopped := m.stopScan(ctx, name)
	if err := m.tr.RemoveJob(name); err != nil {
		return fmt.Errorf("clean job %s: remove audit logs: %w", name, err)
	}
	m.abortUploads(ctx, j.Spec, j.Submitted, ups)
	if stopped != nil {
		return fmt.Errorf("clean job %s: %w", name, stopped)
	}
	m.log.Info("job cleaned", "job", name)
	return nil
}

// abortUploads abandons the unfinished multipart uploads of a cleaned job,
// so their parts stop costing storage. Failures are logged, not fatal. A
// state without an upload ID was saved just before an upload was created
// (worker/multipart.go): the worker may have died, or lost the server's
// reply, before it learnt or saved the ID, so every unfinished upload of
// that key begun since the job was submitted (less a margin for the
// server's clock) is aborted.
func (m *Master) abortUploads(ctx context.Context, spec task.Spec, submitted time.Time, ups []task.UploadState) {
	// A stream's saved states are cursors; a table job saves none.
	if len(ups) == 0 || m.cfg.OpenDest == nil || spec.IsStream() || spec.IsTable() {
		return
	}
	dst, err := m.cfg.OpenDest(spec)
	if err != nil {
		m.log.Error("abort uploads: open destination", "job", spec.Name, "err", err)
		return
	}
	defer store.Close(dst)
	f := store.FeaturesOf(dst)
	if f.AbortUpload == nil {
		return
	}
	abort := func(key, id string) {
		err := f.AbortUpload(ctx, key, id)
		if err != nil && !errors.Is(err, store.ErrNotExist) {
			m.log.Error("abort upload", "job", spec.Name, "key", key, "err", err)
			return
		}
		m.log.Info("aborted unfinished upload", "job", spec.Name, "key", key)
	}
	since := submitted.Add(-15 * time.Minute)
	for _, u := range ups {
		var st store.MultipartState
		if err := json.Unmarshal(u.State, &st); err != nil {
			continue
		}
		if st.UploadID != "" {
			abort(u.Key, st.UploadID)
			continue
		}
		if f.ListUploads == nil {
			continue
		}
		var ids []string
		err := f.ListUploads(ctx, u.Key, func(up store.Upload) error {
			if up.Key == u.Key && !up.Initiated.Before(since) {
				ids = append(ids, up.UploadID)
			}
			return nil
		})
		if err != nil {
			m.log.Error("abort uploads: list", "job", spec.Name, "key", u.Key, "err", err)
		}
		for _, id := range ids {
			abort(u.Key, id)
		}
	}
}

// WorkerStat is one worker as `stat --workers` shows it.
type WorkerStat struct {
	ID, Host   string
	Alive      bool
	Left       bool
	Revoked    bool // its credential was revoked: it is refused
	Registered time.Time
	Running    int
	Throughput float64
	LastSeen   time.Time
}

// Workers lists the workers that registered since the master started.
func (m *Master) Workers() []WorkerStat {
	m.mu.Lock()
	ids := make([]string, 0, len(m.workers))
	infos := make(map[string]workerInfo, len(m.workers))
	for id, w := range m.workers {
		ids = append(ids, id)
		infos[id] = *w
	}
	m.mu.Unlock()
	sort.Strings(ids)
	now := time.Now()
	out := make([]WorkerStat, 0, len(ids))
	for _, id := range ids {
		w := infos[id]
		v := m.tr.Worker(id)
		last := w.lastSeen
		if v.LastSeen.After(last) {
			last = v.LastSeen
		}
		out = append(out, WorkerStat{ID: id, Host: w.host, Alive: !w.left && !w.revoked && now.Sub(last) < m.cfg.LeaseDur,
			Left: w.left, Revoked: w.revoked, Registered: w.registered,
			Running: v.Running, Throughput: v.Rate, LastSeen: last})
	}
	return out
}
