package worker

import (
	"context"
	"io"
	"math"
	"sync"
	"sync/atomic"

	"ferry/task"

	"golang.org/x/time/rate"
)

// Bandwidth and request limits. Each job a worker copies for has a byte
// limiter and a request limiter set to the worker's share of the job's
// limits (the master sends shares with leases and with every report reply,
// so `throttle` takes effect within a second); the worker also has its own
// byte limit (workerMaxThroughput). Reads from a source wait on both.

// limiters holds a worker's limiters.
type limiters struct {
	own *rate.Limiter // workerMaxThroughput; nil: unlimited

	mu   sync.Mutex
	jobs map[string]*jobLimiter
	// limited is false while no limit at all is set, so the waits, made
	// several times per copied file, cost one atomic load.
	limited atomic.Bool
}

type jobLimiter struct {
	bytes, reqs *rate.Limiter
	// entries: reqs counts entries, one wait per entry (waitEntry), not
	// store requests (task.Spec.ThrottlesEntries).
	entries bool
}

func newLimiters(bytesPerSec int64) *limiters {
	l := &limiters{jobs: make(map[string]*jobLimiter)}
	if bytesPerSec > 0 {
		l.own = newLimiter(bytesPerSec)
		l.limited.Store(true)
	}
	return l
}

// newLimiter allows n per second, in bursts of a tenth of a second (at
// least 64 KiB, so one read is never refused outright).
func newLimiter(n int64) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(n), burst(n))
}

func burst(n int64) int {
	return int(min(max(n/10, 64<<10), math.MaxInt32))
}

func setLimit(l *rate.Limiter, n int64) {
	if n <= 0 {
		l.SetLimit(rate.Inf)
		return
	}
	l.SetLimit(rate.Limit(n))
	l.SetBurst(burst(n))
}

// set applies the shares the master sent; jobs not named keep theirs.
func (l *limiters) set(shares map[string]task.Limits) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for job, s := range shares {
		jl := l.jobs[job]
		if jl == nil {
			jl = &jobLimiter{bytes: rate.NewLimiter(rate.Inf, 1<<20), reqs: rate.NewLimiter(rate.Inf, 1)}
			l.jobs[job] = jl
		}
		setLimit(jl.bytes, s.BytesPerSec)
		setLimit(jl.reqs, s.RequestsPerSec)
		if s.RequestsPerSec > 0 {
			jl.reqs.SetBurst(int(max(1, s.RequestsPerSec/10)))
		}
		if s.BytesPerSec > 0 || s.RequestsPerSec > 0 {
			l.limited.Store(true) // stays set: a limit lifted later costs the slow path only
		}
	}
}

// countEntries makes job's request limit count entries (on) or store
// requests.
func (l *limiters) countEntries(job string, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if jl := l.jobs[job]; jl != nil {
		jl.entries = on
	}
}

func (l *limiters) job(job string) *jobLimiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.jobs[job]
}

// waitBytes blocks until n bytes of job may be read.
func (l *limiters) waitBytes(ctx context.Context, job string, n int) error {
	if !l.limited.Load() {
		return nil
	}
	for _, lim := range []*rate.Limiter{l.own, l.jobBytes(job)} {
		if lim == nil || lim.Limit() == rate.Inf {
			continue
		}
		for left := n; left > 0; {
			step := min(left, lim.Burst())
			if err := lim.WaitN(ctx, step); err != nil {
				return err
			}
			left -= step
		}
	}
	return nil
}

func (l *limiters) jobBytes(job string) *rate.Limiter {
	if jl := l.job(job); jl != nil {
		return jl.bytes
	}
	return nil
}

// waitRequest blocks until one more store request of job may be made
// (unless job's limit counts entries).
func (l *limiters) waitRequest(ctx context.Context, job string) error {
	return l.wait(ctx, job, false)
}

// waitEntry blocks until one more entry of job may be copied or audited,
// when job's limit counts entries.
func (l *limiters) waitEntry(ctx context.Context, job string) error {
	return l.wait(ctx, job, true)
}

func (l *limiters) wait(ctx context.Context, job string, entry bool) error {
	if !l.limited.Load() {
		return nil
	}
	if jl := l.job(job); jl != nil && jl.entries == entry && jl.reqs.Limit() != rate.Inf {
		return jl.reqs.Wait(ctx)
	}
	return nil
}

// limited returns what verify.DeepThrough passes the reads of checksum
// comparisons through: each read counts against the job's request and
// bandwidth limits, as a copy's would.
func (w *Worker) limited(ctx context.Context, job string) func(io.Reader) (io.Reader, error) {
	return func(r io.Reader) (io.Reader, error) {
		if err := w.limits.waitRequest(ctx, job); err != nil {
			return nil, err
		}
		return &limitedReader{ctx: ctx, r: r, l: w.limits, job: job}, nil
	}
}

// limitedReader waits on the limiters before handing out what it read.
type limitedReader struct {
	ctx context.Context
	r   io.Reader
	l   *limiters
	job string
}

func (r *limitedReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		if werr := r.l.waitBytes(r.ctx, r.job, n); werr != nil {
			return n, werr
		}
	}
	return n, err
}
