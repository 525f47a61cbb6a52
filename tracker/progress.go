package tracker

import (
	"sort"
	"time"
)

// Progress: workers report, for each lease they hold, how many files and
// bytes of it are done so far. The tracker turns the increments into a
// per-job and per-worker byte rate over a sliding window, which `stat`
// shows as throughput and uses for the ETA.

const window = 10 * time.Second

type sample struct {
	at    time.Time
	bytes int64
}

// meter is a cumulative byte counter with a short history.
type meter struct {
	total   int64
	samples []sample
}

func (m *meter) add(now time.Time, n int64) {
	m.total += n
	if k := len(m.samples); k > 0 && m.samples[k-1].at.Equal(now) {
		// Several leases in one report are one sample: else the window
		// would start between them and the rate would count bytes from
		// before its start.
		m.samples[k-1].bytes = m.total
		return
	}
	m.samples = append(m.samples, sample{now, m.total})
	cut := 0
	for cut < len(m.samples)-1 && now.Sub(m.samples[cut].at) > window {
		cut++
	}
	m.samples = m.samples[cut:]
}

func (m *meter) rate(now time.Time) float64 {
	if len(m.samples) == 0 {
		return 0
	}
	first := m.samples[0]
	last := m.samples[len(m.samples)-1]
	if now.Sub(last.at) > window {
		return 0
	}
	dt := now.Sub(first.at).Seconds()
	if dt < 1 {
		dt = 1
	}
	return float64(last.bytes-first.bytes) / dt
}

// recent is the rate between the last sample and the latest one at least
// a second before it: what the workers did in their last report or two,
// so that a change (a new throttle) shows within about two reports. 0 when
// the last sample is more than two seconds old.
func (m *meter) recent(now time.Time) float64 {
	k := len(m.samples)
	if k < 2 || now.Sub(m.samples[k-1].at) > 2*time.Second {
		return 0
	}
	last := m.samples[k-1]
	i := k - 2
	for i > 0 && last.at.Sub(m.samples[i].at) < time.Second {
		i--
	}
	dt := last.at.Sub(m.samples[i].at).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(last.bytes-m.samples[i].bytes) / dt
}

type leaseKey struct {
	job         string
	task, lease uint64
}

type leaseProgress struct {
	worker       string
	files, bytes int64
	lastReport   time.Time
}

type jobProgress struct {
	meter meter
}

type workerProgress struct {
	meter    meter
	copied   int64
	lastSeen time.Time
}

// TaskProgress is one lease's progress as a worker reports it.
type TaskProgress struct {
	Job         string
	Task, Lease uint64
	Files       int64
	Bytes       int64
}

// Report records a worker's progress.
func (t *Tracker) Report(worker string, copied int64, tasks []TaskProgress) {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.workers[worker]
	if w == nil {
		w = &workerProgress{copied: copied}
		t.workers[worker] = w
	}
	if d := copied - w.copied; d > 0 {
		w.meter.add(now, d)
	}
	w.copied = copied
	w.lastSeen = now
	for _, p := range tasks {
		k := leaseKey{p.Job, p.Task, p.Lease}
		lp := t.leases[k]
		if lp == nil {
			lp = &leaseProgress{worker: worker}
			t.leases[k] = lp
		}
		if d := p.Bytes - lp.bytes; d > 0 {
			j := t.jobs[p.Job]
			if j == nil {
				j = &jobProgress{}
				t.jobs[p.Job] = j
			}
			j.meter.add(now, d)
		}
		lp.files, lp.bytes, lp.lastReport = p.Files, p.Bytes, now
	}
}

func (t *Tracker) forget(job string, task, lease uint64) {
	t.mu.Lock()
	delete(t.leases, leaseKey{job, task, lease})
	t.mu.Unlock()
}

// JobView is a job's live progress.
type JobView struct {
	Rate          float64 // bytes per second over the last few seconds
	Recent        float64 // bytes per second over the last report or two
	Running       int     // leases reported on recently
	InFlightFiles int64   // files done in leases not yet completed
	InFlightBytes int64
}

// Job returns a job's live progress.
func (t *Tracker) Job(job string) JobView {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var v JobView
	if j := t.jobs[job]; j != nil {
		v.Rate = j.meter.rate(now)
		v.Recent = j.meter.recent(now)
	}
	for k, lp := range t.leases {
		if k.job != job || now.Sub(lp.lastReport) > window {
			continue
		}
		v.Running++
		v.InFlightFiles += lp.files
		v.InFlightBytes += lp.bytes
	}
	return v
}

// WorkerView is one worker's live progress.
type WorkerView struct {
	Rate     float64
	Running  int
	LastSeen time.Time
	Copied   int64 // bytes copied since the worker started, as it says
}

// Worker returns a worker's live progress.
func (t *Tracker) Worker(id string) WorkerView {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var v WorkerView
	if w := t.workers[id]; w != nil {
		v.Rate = w.meter.rate(now)
		v.LastSeen = w.lastSeen
		v.Copied = w.copied
	}
	for _, lp := range t.leases {
		if lp.worker == id && now.Sub(lp.lastReport) <= window {
			v.Running++
		}
	}
	return v
}

// LeaseView is one lease a worker reported progress on recently.
type LeaseView struct {
	Job          string
	Task, Lease  uint64
	Worker       string
	Files, Bytes int64 // done so far
}

// Leases returns the leases workers reported progress on in the last few
// seconds, by job, task and lease.
func (t *Tracker) Leases() []LeaseView {
	now := t.now()
	t.mu.Lock()
	out := make([]LeaseView, 0, len(t.leases))
	for k, lp := range t.leases {
		if now.Sub(lp.lastReport) <= window {
			out = append(out, LeaseView{Job: k.job, Task: k.task, Lease: k.lease, Worker: lp.worker, Files: lp.files, Bytes: lp.bytes})
		}
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Job != b.Job {
			return a.Job < b.Job
		}
		if a.Task != b.Task {
			return a.Task < b.Task
		}
		return a.Lease < b.Lease
	})
	return out
}
