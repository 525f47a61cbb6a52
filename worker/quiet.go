package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// quietEvery is how often a repeating failure is logged again.
const quietEvery = 30 * time.Second

// A quietLog logs a failure that repeats (the master's disk is full, the
// master is unreachable) once when it starts, then at most once every
// quietEvery with how often it repeated, and once when it stops: a worker
// retrying for hours writes a few lines, not one a second, to a disk that
// may be the full one.
type quietLog struct {
	mu      sync.Mutex
	failing bool
	since   time.Time // of the first failure
	last    time.Time // the last line logged
	n       int       // failures not logged since last
}

// fail logs msg and args (and how many failures were not logged) unless a
// line was logged less than quietEvery ago. It reports whether this
// failure is the first of a run.
func (q *quietLog) fail(log *slog.Logger, msg string, args ...any) bool {
	q.mu.Lock()
	now := time.Now()
	first := !q.failing
	if first {
		q.failing, q.since, q.n = true, now, 0
	}
	if !first && now.Sub(q.last) < quietEvery {
		q.n++
		q.mu.Unlock()
		return false
	}
	if q.n > 0 {
		args = append(args, "repeated", q.n, "failing_for", now.Sub(q.since).Round(time.Second))
	}
	q.last, q.n = now, 0
	q.mu.Unlock()
	log.Warn(msg, args...)
	return first
}

// ok ends a run of failures, logging msg when there was one. It reports
// whether there was.
func (q *quietLog) ok(log *slog.Logger, msg string, args ...any) bool {
	q.mu.Lock()
	was, since := q.failing, q.since
	q.failing, q.n = false, 0
	q.mu.Unlock()
	if was && msg != "" {
		log.Info(msg, append(args, "failed_for", time.Since(since).Round(time.Second))...)
	}
	return was
}

// How a completion the master refuses or fails is retried: after a pause
// that doubles from the first to the last.
const (
	completeRetryFirst = time.Second
	completeRetryMax   = 30 * time.Second
)

// retryWake returns a channel closed when the master accepts writes again
// (a report failed, then one succeeded), so that completions waiting out
// a long pause retry at once.
func (w *Worker) retryWake() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wakeRetry == nil {
		w.wakeRetry = make(chan struct{})
	}
	return w.wakeRetry
}

// wakeRetries wakes the completions waiting to retry.
func (w *Worker) wakeRetries() {
	w.mu.Lock()
	if w.wakeRetry != nil {
		close(w.wakeRetry)
		w.wakeRetry = nil
	}
	w.mu.Unlock()
}

// pause waits d, or until wake is closed; false when ctx ends first.
func pause(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-wake:
		return true
	case <-ctx.Done():
		return false
	}
}
