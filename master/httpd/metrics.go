package httpd

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"ferry/master"
	"ferry/state"
	"ferry/task"
)

// The metrics are read from the master's state at each scrape (jobs and
// their counters from bbolt, workers and rates from the tracker, the
// workers' store measurements as they last reported them), not kept as a
// second set of counters that could drift from what `stat` says. Every
// label is bounded: a job's name, a worker's ID, a state, a store type,
// an operation, a status class. Never a key, a path or a secret.

var (
	jobLabels = []string{"job"}

	descBuild        = desc("ferry_build_info", "ferry's version, as a label; always 1.", "version")
	descJobState     = desc("ferry_job_state", "1 for the job's current state (Scanning, Running, Succeed, Failed, Cancelled), 0 for the others.", "job", "state")
	descEntries      = desc("ferry_job_entries", "Entries of the job by result: copied (and verified), skipped, failed, excluded by filters, unchanged at the destination, deleted by mirror.", "job", "result")
	descBytes        = desc("ferry_job_bytes", "Bytes of the job's entries by result (as ferry_job_entries; deleted has none).", "job", "result")
	descScanned      = desc("ferry_job_scanned_entries", "Entries the scan queued for copying so far.", jobLabels...)
	descScannedBytes = desc("ferry_job_scanned_bytes", "Bytes of the entries the scan queued for copying so far.", jobLabels...)
	descPending      = desc("ferry_job_pending_entries", "Entries queued whose outcome is not recorded yet (waiting, or in a task being copied).", jobLabels...)
	descTasks        = desc("ferry_job_tasks", "Tasks of the job by state: pending, dispatched (leased), running (leased and reporting), failed, succeeded.", "job", "state")
	descScanDone     = desc("ferry_job_scan_finished", "1 when the scan of the job's source (of its current round) is finished.", jobLabels...)
	descETA          = desc("ferry_job_eta_seconds", "Estimated seconds until the job is done; absent while unknown (scan running, no rate yet).", jobLabels...)
	descThroughput   = desc("ferry_job_throughput_bytes_per_second", "Bytes copied per second over the last 10 seconds (the average for a finished job), as stat shows.", jobLabels...)
	descThrottle     = desc("ferry_job_throttle_bytes_per_second", "The job's bandwidth limit in force, shared by its workers; 0 is unlimited.", jobLabels...)
	descRound        = desc("ferry_job_round", "The incremental round the job is in (1 for the first).", jobLabels...)
	descExpired      = desc("ferry_lease_expiries_total", "Leases of the job that expired since the master started: their worker stopped renewing (dead, cut off, stalled) and the task went back to pending.", jobLabels...)
	descStale        = desc("ferry_stale_completions_refused_total", "Completions refused since the master started because their lease was no longer current (fencing).", jobLabels...)
	descWorkers      = desc("ferry_workers", "Workers that registered since the master started, by state: alive, lost (no word for a lease period), left.", "state")
	descWorkerState  = desc("ferry_worker_state", "1 for the worker's current state (alive, lost, left), 0 for the others.", "worker", "state")
	descWorkerRate   = desc("ferry_worker_throughput_bytes_per_second", "Bytes the worker copied per second over the last 10 seconds.", "worker")
	descWorkerTasks  = desc("ferry_worker_tasks_running", "Tasks the worker reported progress on in the last 10 seconds.", "worker")
	descWorkerBytes  = desc("ferry_worker_copied_bytes_total", "Bytes the worker says it copied since it started.", "worker")
	descStoreOps     = desc("ferry_store_request_duration_seconds", "Store operations made by the workers and the master (its scans), by store type, operation and status class, and how long they took; _count is the number of requests.", "store", "op", "class")
	descRetries      = desc("ferry_store_retries_total", "Retries the stores made (throttling, server errors, cut connections), over all workers.")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var allDescs = []*prometheus.Desc{descBuild, descJobState, descEntries, descBytes, descScanned, descScannedBytes, descPending,
	descTasks, descScanDone, descETA, descThroughput, descThrottle, descRound, descExpired, descStale,
	descWorkers, descWorkerState, descWorkerRate, descWorkerTasks, descWorkerBytes, descStoreOps, descRetries}

var jobStates = []string{state.StateScanning, state.StateRunning, state.StateSucceed, state.StateFailed, state.StateCancelled}

// collector reads the master at scrape time.
type collector struct{ s *Server }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	m := c.s.cfg.Master
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	ctr := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	g(descBuild, 1, task.Version)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	jobs, err := m.Stat(ctx, "")
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descJobState, err)
		return
	}
	events := m.LeaseEvents()
	for _, j := range jobs {
		name, c := j.Spec.Name, j.Counters
		for _, st := range jobStates {
			g(descJobState, b2f(j.State == st), name, st)
		}
		for _, r := range []struct {
			result       string
			files, bytes int64
		}{
			{"copied", c.FilesDone - c.FilesSkipped, c.BytesDone - c.BytesSkipped},
			{"skipped", c.FilesSkipped, c.BytesSkipped},
			{"failed", c.FilesFailed, c.BytesFailed},
			{"excluded", c.FilesExcluded, c.BytesExcluded},
			{"unchanged", c.FilesUnchanged, c.BytesUnchanged},
		} {
			g(descEntries, float64(r.files), name, r.result)
			g(descBytes, float64(r.bytes), name, r.result)
		}
		g(descEntries, float64(c.FilesDeleted), name, "deleted")
		g(descScanned, float64(c.FilesTotal), name)
		g(descScannedBytes, float64(c.BytesTotal), name)
		g(descPending, float64(max(0, c.FilesTotal-c.FilesDone-c.FilesFailed)), name)
		g(descTasks, float64(c.Tasks[state.Pending]), name, "pending")
		g(descTasks, float64(c.Tasks[state.Dispatched]), name, "dispatched")
		g(descTasks, float64(j.Running), name, "running")
		g(descTasks, float64(c.Tasks[state.Failed]), name, "failed")
		g(descTasks, float64(c.Tasks[state.Succeeded]), name, "succeeded")
		g(descScanDone, b2f(j.ScanFinished), name)
		switch {
		case !j.Active():
			g(descETA, 0, name)
		case j.HasETA:
			g(descETA, j.ETA.Seconds(), name)
		}
		g(descThroughput, j.Throughput, name)
		g(descThrottle, float64(j.JobLimits(time.Now()).BytesPerSec), name)
		g(descRound, float64(max(1, j.Round)), name)
		e := events[name]
		ctr(descExpired, float64(e.Expired), name)
		ctr(descStale, float64(e.StaleRefused), name)
	}
	counts := map[string]int{"alive": 0, "lost": 0, "left": 0}
	for _, w := range m.Workers() {
		st := workerState(w)
		counts[st]++
		for _, s := range []string{"alive", "lost", "left"} {
			g(descWorkerState, b2f(s == st), w.ID, s)
		}
		g(descWorkerRate, w.Throughput, w.ID)
		g(descWorkerTasks, float64(w.Running), w.ID)
		ctr(descWorkerBytes, float64(m.Tracker().Worker(w.ID).Copied), w.ID)
	}
	for s, n := range counts {
		g(descWorkers, float64(n), s)
	}
	var own task.WorkerStats
	if c.s.cfg.Own != nil {
		own = c.s.cfg.Own.Snapshot()
	}
	stats := m.Tracker().ClusterStats(own)
	for _, o := range stats.StoreOps {
		buckets := make(map[float64]uint64, len(o.Buckets))
		for i, n := range o.Buckets {
			if i < len(task.LatencyBounds) {
				buckets[task.LatencyBounds[i]] = n
			}
		}
		ch <- prometheus.MustNewConstHistogram(descStoreOps, o.Count, o.Seconds, buckets, o.Store, o.Op, o.Class)
	}
	ctr(descRetries, float64(stats.Retries))
}

// workerState names a worker's state as the metrics and the dashboard do.
func workerState(w master.WorkerStat) string {
	switch {
	case w.Left:
		return "left"
	case w.Alive:
		return "alive"
	}
	return "lost"
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
