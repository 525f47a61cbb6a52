// Package observe measures a process's store operations for /metrics: Wrap
// puts a store behind a wrapper that counts every call by operation and
// status class and times it into a histogram, in a Stats shared by every
// store the process opens. A worker sends Stats' Snapshot with its
// reports; the master adds up the workers' snapshots and its own.
//
// Labels are fixed words (the store's type, the operation, the class of
// the outcome): never a key, a path or a secret, so the number of series
// stays bounded whatever the job.
package observe

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"ferry/store"
	"ferry/task"
)

// The operations counted, one per Store method or feature.
const (
	OpList = iota
	OpStat
	OpOpen
	OpPut
	OpOpenStat
	OpSync
	OpDelete
	OpCleanTemps
	OpPartDigests
	OpPutMultipart
	OpAbortUpload
	OpListUploads
	numOps
)

var opNames = [numOps]string{"list", "stat", "open", "put", "open_stat", "sync", "delete", "clean_temps",
	"part_digests", "put_multipart", "abort_upload", "list_uploads"}

// The status classes of an operation's outcome.
const (
	ClassOK = iota
	ClassNotFound
	ClassDenied
	ClassInvalid
	ClassTransient
	ClassCanceled
	ClassError
	numClasses
)

var classNames = [numClasses]string{"ok", "not_found", "denied", "invalid", "transient", "canceled", "error"}

// Class returns the status class of an operation that ended with err, by
// the store's sentinels and its retry classification.
func Class(err error) int {
	switch {
	case err == nil:
		return ClassOK
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded) && !store.IsRetryable(err):
		return ClassCanceled
	case errors.Is(err, store.ErrNotExist):
		return ClassNotFound
	case errors.Is(err, store.ErrPermission):
		return ClassDenied
	case errors.Is(err, store.ErrInvalidKey):
		return ClassInvalid
	case store.IsRetryable(err):
		return ClassTransient
	}
	return ClassError
}

// acc accumulates one (store type, operation, class), lock-free: copying
// threads record at once.
type acc struct {
	count   atomic.Uint64
	nanos   atomic.Int64
	buckets [len(task.LatencyBounds)]atomic.Uint64 // not cumulative; Snapshot sums them
}

// table holds the accumulators of one store type.
type table [numOps][numClasses]acc

// Stats is a process's store measurements, safe for concurrent use. The
// zero value is not usable: call New.
type Stats struct {
	mu      sync.Mutex
	types   map[string]*table
	retries atomic.Int64
}

// New returns empty Stats.
func New() *Stats { return &Stats{types: make(map[string]*table)} }

// tableFor returns the accumulators of a store type, made on first use.
func (s *Stats) tableFor(typ string) *table {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.types[typ]
	if t == nil {
		t = new(table)
		s.types[typ] = t
	}
	return t
}

// Observe records one operation op (OpList, ...) on a store of type typ
// that ended with err after d.
func (s *Stats) Observe(typ string, op int, err error, d time.Duration) {
	s.tableFor(typ).observe(op, err, d)
}

func (t *table) observe(op int, err error, d time.Duration) {
	a := &t[op][Class(err)]
	a.count.Add(1)
	a.nanos.Add(int64(d))
	if b := task.BucketOf(d); b < len(a.buckets) {
		a.buckets[b].Add(1)
	}
}

// AddRetries counts n retries a store made (store.RetryCounter).
func (s *Stats) AddRetries(n int64) { s.retries.Add(n) }

// Snapshot returns what has been measured so far: every (store type,
// operation, class) that happened at least once, with cumulative buckets.
func (s *Stats) Snapshot() task.WorkerStats {
	s.mu.Lock()
	types := make(map[string]*table, len(s.types))
	for k, v := range s.types {
		types[k] = v
	}
	s.mu.Unlock()
	out := task.WorkerStats{Retries: s.retries.Load()}
	for typ, t := range types {
		for op := range t {
			for class := range t[op] {
				a := &t[op][class]
				n := a.count.Load()
				if n == 0 {
					continue
				}
				o := task.StoreOps{Store: typ, Op: opNames[op], Class: classNames[class], Count: n,
					Seconds: time.Duration(a.nanos.Load()).Seconds(), Buckets: make([]uint64, len(a.buckets))}
				var sum uint64
				for i := range a.buckets {
					sum += a.buckets[i].Load()
					o.Buckets[i] = min(sum, n) // loads race with adds: never above the count
				}
				out.StoreOps = append(out.StoreOps, o)
			}
		}
	}
	return out
}
