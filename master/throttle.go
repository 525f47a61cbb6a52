package master

import (
	"context"
	"fmt"
	"time"

	"ferry/task"
)

// Throttling: a job may have a bandwidth limit (maxThroughput, or the rate
// throughputSchedule gives for the time of day, or what `console.sh
// throttle` set while it runs) and a request-rate limit
// (maxRequestsPerSecond). The master splits each limit evenly between the
// workers holding the job's leases and hands every worker its shares in
// the reply to its report, about once a second, so the total holds as
// workers come and go, and a change takes effect without a restart.

// Throttle sets (or with reset, clears) a job's bandwidth limit override.
func (m *Master) Throttle(ctx context.Context, name string, bytesPerSec int64, reset bool) (int64, error) {
	if bytesPerSec < 0 {
		return 0, fmt.Errorf("throttle %s: negative rate", name)
	}
	override := &bytesPerSec
	if reset {
		override = nil
	}
	j, err := m.db.SetThrottle(name, override)
	if err != nil {
		return 0, err
	}
	in := j.JobLimits(time.Now())
	m.log.Info("job throttled", "job", name, "bytes_per_sec", in.BytesPerSec)
	return in.BytesPerSec, nil
}

// WorkerLimits returns the worker's share of each named job's limits: the
// limit divided by the number of workers holding leases of the job. Jobs
// without limits cost no lease walk (the lease path stays cheap).
func (m *Master) WorkerLimits(worker string, jobs []string) map[string]task.Limits {
	if len(jobs) == 0 {
		return nil
	}
	out := make(map[string]task.Limits, len(jobs))
	now := time.Now()
	for _, name := range jobs {
		if _, done := out[name]; done {
			continue
		}
		j, err := m.db.Job(name)
		if err != nil {
			continue
		}
		l := j.JobLimits(now) // zero too: a lifted limit must reach the worker
		if l != (task.Limits{}) {
			n, err := m.db.HolderCount(name, worker)
			if err != nil {
				m.log.Error("limits: read leases", "job", name, "err", err)
			}
			n = max(n, 1)
			if l.BytesPerSec > 0 {
				l.BytesPerSec = max(1, l.BytesPerSec/n)
			}
			if l.RequestsPerSec > 0 {
				l.RequestsPerSec = max(1, l.RequestsPerSec/n)
			}
		}
		out[name] = l
	}
	return out
}
