package master

import (
	"sync"

	"ferry/task"
)

// events counts, per job, what happened to leases since the master
// started, for /metrics: leases that expired (their worker stopped
// renewing: dead, cut off or stalled) and completions refused because
// their lease was no longer current. The zero value is ready.
type events struct {
	mu      sync.Mutex
	expired map[string]int64
	stale   map[string]int64
}

func (e *events) add(m *map[string]int64, job string) {
	e.mu.Lock()
	if *m == nil {
		*m = make(map[string]int64)
	}
	(*m)[job]++
	e.mu.Unlock()
}

// LeaseEvents is what happened to a job's leases since the master started.
type LeaseEvents struct {
	Expired, StaleRefused int64
}

// LeaseEvents returns, by job, the leases that expired and the stale
// completions refused since the master started.
func (m *Master) LeaseEvents() map[string]LeaseEvents {
	e := &m.events
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]LeaseEvents, len(e.expired)+len(e.stale))
	for j, n := range e.expired {
		v := out[j]
		v.Expired = n
		out[j] = v
	}
	for j, n := range e.stale {
		v := out[j]
		v.StaleRefused = n
		out[j] = v
	}
	return out
}

// NoteStats records what a worker measured of itself (its store
// operations and retries), sent with its reports.
func (m *Master) NoteStats(worker string, s task.WorkerStats) { m.tr.NoteStats(worker, s) }
