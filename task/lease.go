package task

import (
	"errors"
	"time"

	"ferry/store"
)

// Lease is a task handed to a worker: its entries, under a lease ID that
// fences its completion, until Deadline unless renewed.
type Lease struct {
	Job      string
	Spec     Spec
	TaskID   uint64
	LeaseID  uint64
	Attempt  int
	Deadline time.Time
	// Entries is the task's manifest: a batch of keys in key order.
	Entries []store.Entry
	// Uploads are the multipart uploads earlier attempts left unfinished.
	Uploads []UploadState
	// Limits are the worker's share of the job's limits when granted.
	Limits Limits
	// Part is set when the task is one of a file's part tasks (part.go):
	// Entries then holds that file alone, and Uploads the states the
	// group's tasks saved (prepare's and, for the final task, the
	// ranges').
	Part *Part
}

// Ref names the lease.
func (l *Lease) Ref() LeaseRef { return LeaseRef{Job: l.Job, TaskID: l.TaskID, LeaseID: l.LeaseID} }

// LeaseRef names one lease of one task.
type LeaseRef struct {
	Job     string
	TaskID  uint64
	LeaseID uint64
}

// UploadState is an unfinished multipart upload an attempt saved under its
// lease, so that a later attempt of the task resumes it. State is JSON of
// worker's savedUpload: a store.MultipartState and the source's size and
// mtime (the master reads the MultipartState part to abort it on clean).
type UploadState struct {
	Key   string
	State []byte
	// Task is the task that saved it (the task leased, or one of its
	// part group's).
	Task uint64
}

// Grant is the master's answer to a worker asking for tasks.
type Grant struct {
	Leases []Lease
	// RetryAfter is how long to wait before asking again, when nothing
	// was granted.
	RetryAfter time.Duration
	// Stop says the master is stopping: the worker should leave.
	Stop bool
	// Limits are the worker's shares of its jobs' limits, by job.
	Limits map[string]Limits
}

// Errors the master answers with, the same in process and over gRPC (the
// adapter maps them to status codes and back).
var (
	ErrStaleLease = errors.New("lease is not current")
	ErrNoJob      = errors.New("no such job")
	ErrJobActive  = errors.New("job is still running")
	ErrJobExists  = errors.New("job already exists")
	ErrBusy       = errors.New("the master is busy, try again")
	ErrStopping   = errors.New("the master is stopping")
	ErrRefused    = errors.New("the master refused this worker's credential")
)
