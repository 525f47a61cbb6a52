package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// Errors are classified once, by the backend that sees them: an error that
// carries a Retryable() bool method anywhere in its chain says for itself
// (see Transient and Permanent); otherwise IsRetryable falls back on the
// transport-level failures every network backend shares.

// classified marks an error as worth retrying or not.
type classified struct {
	err   error
	retry bool
}

func (c *classified) Error() string   { return c.err.Error() }
func (c *classified) Unwrap() error   { return c.err }
func (c *classified) Retryable() bool { return c.retry }

// Transient marks err as worth retrying: throttling (429, 503 SlowDown),
// server errors (500, 502, 504), a connection cut or reset, a body that
// arrived corrupted. Transient(nil) is nil.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return &classified{err: err, retry: true}
}

// Permanent marks err as not worth retrying, whatever it wraps (a missing
// key, refused credentials, an invalid key). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &classified{err: err, retry: false}
}

// IsRetryable reports whether the operation that failed with err may
// succeed if tried again. Context cancellation and deadlines are never
// retryable; an error classified by Transient or Permanent says for
// itself; otherwise connection resets, broken pipes, truncated bodies and
// network timeouts are retryable, and everything else is not.
//
// A network timeout (connect, TLS handshake, response headers: see
// Timeouts) says errors.Is(err, context.DeadlineExceeded) too, but it is
// the server's silence, not the caller's deadline: it is told apart by the
// error at the end of the chain, which is context.DeadlineExceeded itself
// only when a context ended. (Callers check their context as well.)
func IsRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) && !netTimeout(err) {
		return false
	}
	var c interface{ Retryable() bool }
	if errors.As(err, &c) {
		return c.Retryable()
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// netTimeout reports whether err is a timeout of the network rather than
// a context's deadline: its chain ends in an error, other than
// context.DeadlineExceeded, whose Timeout method says true (net's and
// net/http's timeout errors).
func netTimeout(err error) bool {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			break
		}
		err = next
	}
	var ne interface{ Timeout() bool }
	return err != context.DeadlineExceeded && errors.As(err, &ne) && ne.Timeout()
}

// AttemptsError is the error of an operation tried Attempts times; the
// last attempt failed with Err.
type AttemptsError struct {
	Err      error
	Attempts int
}

func (e *AttemptsError) Error() string {
	if e.Attempts <= 1 {
		return e.Err.Error()
	}
	return fmt.Sprintf("%v (after %d attempts)", e.Err, e.Attempts)
}

func (e *AttemptsError) Unwrap() error { return e.Err }

// Attempts returns how many times the operation that failed with err was
// tried: the count of the outermost AttemptsError in its chain, 1 for any
// other non-nil error, 0 for nil. Successful operations that needed
// retries are counted by a RetryCounter.
func Attempts(err error) int {
	var a *AttemptsError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &a):
		return a.Attempts
	}
	return 1
}

// RetryCounter counts the retries stores make on behalf of the operations
// run under a context from WithRetryCounter, successful or not, so that an
// audit line can say "3 attempts" for a copy that succeeded.
type RetryCounter struct{ n atomic.Int64 }

// Retries returns the number of retries counted so far.
func (c *RetryCounter) Retries() int64 { return c.n.Load() }

// Reset starts the count again from zero, for a counter reused from one
// operation to the next.
func (c *RetryCounter) Reset() { c.n.Store(0) }

type retryCounterKey struct{}

// WithRetryCounter returns a context under which Retry counts retries in
// the returned counter (and in any counter of an enclosing context).
func WithRetryCounter(ctx context.Context) (context.Context, *RetryCounter) {
	c := &RetryCounter{}
	return context.WithValue(ctx, retryCounterKey{}, c), c
}

// RetryPolicy says how often and how patiently an operation is retried.
type RetryPolicy struct {
	Attempts int           // total tries, at least 1
	Base     time.Duration // delay before the first retry, doubled each time
	Max      time.Duration // cap of the delay
}

// DefaultRetry is the policy of the network stores: 10 attempts, waiting
// about 0.2 s, 0.4 s, ... up to 10 s between them (about 45 s in all).
var DefaultRetry = RetryPolicy{Attempts: 10, Base: 200 * time.Millisecond, Max: 10 * time.Second}

// Delay returns the wait before retry number n (1 for the first retry):
// exponential backoff with "equal jitter", a random point in the upper
// half of Base*2^(n-1) capped at Max, so that many threads throttled at
// once do not come back in step.
func (p RetryPolicy) Delay(n int) time.Duration {
	d := p.Base
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

// Do calls fn until it succeeds, fails with an error that is not
// retryable, the attempts are used up or ctx ends, waiting Delay between
// tries. fn gets the attempt number, from 1. The error returned is an
// *AttemptsError wrapping fn's last error (or the context's error, when ctx
// ended during a wait).
func (p RetryPolicy) Do(ctx context.Context, fn func(attempt int) error) error {
	for attempt := 1; ; attempt++ {
		err := fn(attempt)
		if err == nil {
			return nil
		}
		if !IsRetryable(err) || attempt >= p.Attempts || ctx.Err() != nil {
			return &AttemptsError{Err: err, Attempts: attempt}
		}
		if c, ok := ctx.Value(retryCounterKey{}).(*RetryCounter); ok {
			c.n.Add(1)
		}
		t := time.NewTimer(p.Delay(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return &AttemptsError{Err: fmt.Errorf("%w (while waiting to retry: %v)", ctx.Err(), err), Attempts: attempt}
		case <-t.C:
		}
	}
}
