package httpd

import (
	"time"

	"ferry/master"
	"ferry/state"
	"ferry/task"
	"ferry/tracker"
)

// The dashboard's data, as the pages render it and /api/ sends it.

type jobView struct {
	Name           string  `json:"name"`
	State          string  `json:"state"`
	FilesDone      int64   `json:"files_done"`
	FilesTotal     int64   `json:"files_total"`
	BytesDone      int64   `json:"bytes_done"`
	BytesTotal     int64   `json:"bytes_total"`
	FilesCopied    int64   `json:"files_copied"`
	FilesFailed    int64   `json:"files_failed"`
	FilesSkipped   int64   `json:"files_skipped"`
	FilesExcluded  int64   `json:"files_excluded"`
	FilesUnchanged int64   `json:"files_unchanged"`
	FilesDeleted   int64   `json:"files_deleted"`
	Progress       float64 `json:"progress"`   // 0 to 1
	Throughput     float64 `json:"throughput"` // bytes/s, as stat
	RateNow        float64 `json:"rate_now"`   // bytes/s, the last report or two
	ETASeconds     int64   `json:"eta_seconds"`
	ScanFinished   bool    `json:"scan_finished"`
	Tasks          tasks   `json:"tasks"`
	Round          int     `json:"round"`
	NextRound      string  `json:"next_round,omitempty"`
	Limit          int64   `json:"limit_bytes_per_sec"` // 0: unlimited
	Error          string  `json:"error,omitempty"`
	MasterError    string  `json:"master_error,omitempty"`
}

type tasks struct {
	Pending    int64 `json:"pending"`
	Dispatched int64 `json:"dispatched"`
	Running    int64 `json:"running"`
	Failed     int64 `json:"failed"`
	Succeeded  int64 `json:"succeeded"`
}

type jobDetail struct {
	jobView
	Workers     []workerView  `json:"workers"`
	Failed      []failedEntry `json:"failed"`
	FailedShown int           `json:"failed_shown"`
	History     []point       `json:"history"`
}

type workerView struct {
	ID       string     `json:"id"`
	Host     string     `json:"host"`
	State    string     `json:"state"` // alive, lost, left
	Rate     float64    `json:"rate"`
	Running  int        `json:"running"`
	LastSeen string     `json:"last_seen"`
	Holds    []holdView `json:"holds"` // leases of this job it reported on
}

type holdView struct {
	Task  uint64 `json:"task"`
	Files int64  `json:"files"`
	Bytes int64  `json:"bytes"`
}

type failedEntry struct {
	Task   uint64 `json:"task"`
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// maxFailedShown bounds the failed entries a job page lists.
const maxFailedShown = 100

func (s *Server) view(j master.JobStat) jobView {
	c := j.Counters
	v := jobView{Name: j.Spec.Name, State: j.State, FilesDone: c.FilesDone, FilesTotal: c.FilesTotal,
		BytesDone: c.BytesDone, BytesTotal: c.BytesTotal, FilesCopied: c.FilesDone - c.FilesSkipped,
		FilesFailed: c.FilesFailed, FilesSkipped: c.FilesSkipped, FilesExcluded: c.FilesExcluded,
		FilesUnchanged: c.FilesUnchanged, FilesDeleted: c.FilesDeleted,
		Throughput: j.Throughput, ETASeconds: -1, ScanFinished: j.ScanFinished, Round: max(1, j.Round),
		Limit: j.JobLimits(time.Now()).BytesPerSec, Error: j.Error,
		Tasks: tasks{Pending: c.Tasks[state.Pending], Dispatched: c.Tasks[state.Dispatched], Running: int64(j.Running),
			Failed: c.Tasks[state.Failed], Succeeded: c.Tasks[state.Succeeded]}}
	if j.Active() {
		v.RateNow = s.cfg.Master.Tracker().Job(v.Name).Recent
		if j.HasETA {
			v.ETASeconds = int64(j.ETA.Seconds())
		}
		v.MasterError = j.MasterError.Message
	} else {
		v.ETASeconds = 0
	}
	if !j.NextRound.IsZero() {
		v.NextRound = j.NextRound.Format(time.RFC3339)
	}
	switch done := c.BytesDone + c.BytesFailed + j.InFlightBytes; {
	case c.BytesTotal > 0:
		v.Progress = float64(done) / float64(c.BytesTotal)
	case c.FilesTotal > 0:
		v.Progress = float64(c.FilesDone+c.FilesFailed+j.InFlightFiles) / float64(c.FilesTotal)
	case !j.Active():
		v.Progress = 1
	}
	v.Progress = min(1, max(0, v.Progress))
	return v
}

func (s *Server) workers(job string) []workerView {
	m := s.cfg.Master
	// The leases workers reported on, less those taken back since
	// (expired, released): what each worker holds now.
	var leases []tracker.LeaseView
	var refs []task.LeaseRef
	for _, l := range m.Tracker().Leases() {
		if l.Job == job {
			leases = append(leases, l)
			refs = append(refs, task.LeaseRef{Job: l.Job, TaskID: l.Task, LeaseID: l.Lease})
		}
	}
	current := m.DB().Current(refs)
	holds := make(map[string][]holdView)
	for i, l := range leases {
		if current[refs[i]] {
			holds[l.Worker] = append(holds[l.Worker], holdView{Task: l.Task, Files: l.Files, Bytes: l.Bytes})
		}
	}
	var out []workerView
	for _, w := range m.Workers() {
		wv := workerView{ID: w.ID, Host: w.Host, State: workerState(w), Rate: w.Throughput, Running: w.Running,
			Holds: holds[w.ID]}
		if !w.LastSeen.IsZero() {
			wv.LastSeen = w.LastSeen.UTC().Format(time.RFC3339)
		}
		if wv.Holds == nil {
			wv.Holds = []holdView{}
		}
		out = append(out, wv)
	}
	return out
}
