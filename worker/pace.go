package worker

import (
	"log/slog"
	"sync"
	"sync/atomic"
)

// pacer adapts how many entries a worker copies at once to how the
// destination copes, like rclone's pacer: each time a request had to be
// retried (429, 503 SlowDown, a cut connection) it parks one more copying
// slot, down to one; after a run of entries without retries it gives one
// back. Parking is holding a token of the worker's semaphore, so the
// copying threads simply find fewer free slots.
type pacer struct {
	sem chan struct{}
	max int
	log *slog.Logger

	mu      sync.Mutex
	parked  int
	streak  int          // entries without retries since the last change
	nparked atomic.Int32 // parked, read without the lock
}

// recoverAfter is how many clean entries give one slot back.
const recoverAfter = 32

// observe records an entry that needed retries more requests.
func (p *pacer) observe(retries int64) {
	if retries == 0 && p.nparked.Load() == 0 {
		return // the usual case: nothing parked, nothing to give back
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if retries == 0 {
		p.streak++
		if p.streak >= recoverAfter && p.parked > 0 {
			p.parked--
			p.nparked.Store(int32(p.parked))
			p.streak = 0
			go func() { <-p.sem }()
			p.log.Info("destination recovered; copying threads up", "threads", p.max-p.parked)
		}
		return
	}
	p.streak = 0
	if p.parked < p.max-1 {
		p.parked++
		p.nparked.Store(int32(p.parked))
		go func() { p.sem <- struct{}{} }()
		p.log.Warn("destination pushes back; copying threads down", "threads", p.max-p.parked, "retries", retries)
	}
}
