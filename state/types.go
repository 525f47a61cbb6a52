package state

import (
	"time"

	"ferry/task"
)

// Job states, as `stat` prints them.
const (
	StateScanning  = "Scanning"
	StateRunning   = "Running"
	StateSucceed   = "Succeed"
	StateFailed    = "Failed"
	StateCancelled = "Cancelled"
)

// Task states: the four buckets every task lives in, exactly one at a time.
type TaskState int

const (
	Pending TaskState = iota
	Dispatched
	Failed
	Succeeded
	numStates
)

var stateBuckets = [numStates][]byte{
	Pending:    []byte("pending"),
	Dispatched: []byte("dispatched"),
	Failed:     []byte("failed"),
	Succeeded:  []byte("succeeded"),
}

func (s TaskState) String() string { return string(stateBuckets[s]) }

// ErrJobExists and the lease errors the master answers with are task's
// (task.ErrStaleLease, task.ErrNoJob, ...), the same in process and over
// gRPC.

// Counters are a job's progress, changed only in the transaction that moves
// a task, so no entry is ever counted twice.
type Counters struct {
	FilesTotal, BytesTotal     int64
	FilesDone, BytesDone       int64 // copied-and-verified or skipped
	FilesFailed, BytesFailed   int64
	FilesSkipped, BytesSkipped int64
	// Decided at scan time, not part of FilesTotal: entries the filters
	// excluded, entries an update rule found unchanged at the destination,
	// and destination keys a mirror deleted.
	FilesExcluded, BytesExcluded   int64
	FilesUnchanged, BytesUnchanged int64
	FilesDeleted                   int64
	Tasks                          [numStates]int64
}

// Job is the master's record of one submitted job.
type Job struct {
	Spec         task.Spec
	State        string
	Submitted    time.Time
	Finished     time.Time `json:",omitzero"`
	ScanFinished bool
	ScanAfter    string // last key put in a task: where a restarted scan resumes
	Error        string `json:",omitempty"`
	// Round counts the passes of an incremental job (1 for the first);
	// NextRound is when the next one starts, once this one is done.
	Round     int       `json:",omitempty"`
	NextRound time.Time `json:",omitzero"`
	// Throttle, when set, overrides the configured bandwidth limit
	// (bytes/s, 0 unlimited): `console.sh throttle`.
	Throttle *int64 `json:",omitempty"`
	Counters Counters
}

// JobLimits returns a job's limits at time now: the override of `console.sh
// throttle` if set, else the rate its schedule gives for now's time of day.
func (j *Job) JobLimits(now time.Time) task.Limits {
	l := task.Limits{RequestsPerSec: int64(j.Spec.MaxRequestsPerSecond), BytesPerSec: j.Spec.Schedule.RateAt(now)}
	if j.Throttle != nil {
		l.BytesPerSec = *j.Throttle
	}
	return l
}

// Active reports whether the job still has work to hand out or scan.
func (j *Job) Active() bool { return j.State == StateScanning || j.State == StateRunning }

// Task is one task's record in its state bucket. The entries themselves live
// in the job's manifests bucket, written once per attempt set.
type Task struct {
	ID       uint64
	Attempt  int
	LeaseID  uint64 `json:",omitempty"`
	Deadline int64  `json:",omitempty"` // unix ms, while dispatched
	Worker   string `json:",omitempty"`
	Files    int64
	Bytes    int64
	// Failed lists, while the task is in the failed bucket, the manifest
	// positions that failed.
	Failed []uint32 `json:",omitempty"`
	// LastLease and AttemptDir name the latest accepted completion, so a
	// restart can finish publishing its audit directory.
	LastLease  uint64 `json:",omitempty"`
	AttemptDir string `json:",omitempty"`
	// Part is set on the tasks of a file split into part tasks (see
	// task.Part and parts.go).
	Part *task.Part `json:",omitempty"`
}
