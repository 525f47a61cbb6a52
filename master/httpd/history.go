package httpd

import (
	"context"
	"sync"
	"time"
)

// history keeps, for each job, its measured rate once a second over the
// last historyLen seconds: the dashboard's throughput chart. It lives in
// memory: a restarted master starts a new chart.

const (
	sampleEvery = time.Second
	historyLen  = 900 // 15 minutes
)

type point struct {
	T    int64   `json:"t"`    // unix ms
	Rate float64 `json:"rate"` // bytes/s over the workers' last report or two
}

type history struct {
	mu   sync.Mutex
	jobs map[string][]point
}

func (h *history) add(job string, p point) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.jobs == nil {
		h.jobs = make(map[string][]point)
	}
	ps := append(h.jobs[job], p)
	if len(ps) > historyLen {
		ps = append(ps[:0], ps[len(ps)-historyLen:]...)
	}
	h.jobs[job] = ps
}

func (h *history) get(job string) []point {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]point(nil), h.jobs[job]...)
}

// keep forgets the jobs not in names (cleaned).
func (h *history) keep(names map[string]bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for j := range h.jobs {
		if !names[j] {
			delete(h.jobs, j)
		}
	}
}

// sample records every active job's rate each second until ctx is done.
func (s *Server) sample(ctx context.Context) {
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			jobs, err := s.cfg.Master.DB().Jobs()
			if err != nil {
				continue
			}
			names := make(map[string]bool, len(jobs))
			for _, j := range jobs {
				names[j.Spec.Name] = true
				if j.Active() {
					s.hist.add(j.Spec.Name, point{T: now.UnixMilli(), Rate: s.cfg.Master.Tracker().Job(j.Spec.Name).Recent})
				}
			}
			s.hist.keep(names)
		}
	}
}
