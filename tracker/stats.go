package tracker

import (
	"sort"
	"sync"

	"ferry/task"
)

// Workers send what they measured of themselves (task.WorkerStats,
// cumulative since each started) with their reports; the tracker keeps the
// latest of each and adds them up for /metrics, so that one scrape of the
// master sees the whole cluster. A worker that restarts starts again from
// zero: what it had sent before is kept as a base, so the cluster's totals
// never go backwards.

type opKey struct{ store, op, class string }

type opAcc struct {
	count   uint64
	seconds float64
	buckets [len(task.LatencyBounds)]uint64
}

func (a *opAcc) add(b opAcc) {
	a.count += b.count
	a.seconds += b.seconds
	for i := range a.buckets {
		a.buckets[i] += b.buckets[i]
	}
}

type workerStats struct {
	last, base             map[opKey]opAcc
	retries, retriesBefore int64
}

// statsTable holds every worker's stats; the zero value is ready.
type statsTable struct {
	mu      sync.Mutex
	workers map[string]*workerStats
}

// NoteStats records a worker's latest stats.
func (t *Tracker) NoteStats(worker string, s task.WorkerStats) {
	st := &t.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.workers == nil {
		st.workers = make(map[string]*workerStats)
	}
	w := st.workers[worker]
	if w == nil {
		w = &workerStats{last: map[opKey]opAcc{}, base: map[opKey]opAcc{}}
		st.workers[worker] = w
	}
	now := make(map[opKey]opAcc, len(s.StoreOps))
	restarted := s.Retries < w.retries
	for i, o := range s.StoreOps {
		if i >= maxStoreOps || !label(o.Store) || !label(o.Op) || !label(o.Class) {
			continue // labels stay bounded, whatever a worker sends
		}
		k := opKey{o.Store, o.Op, o.Class}
		a := opAcc{count: o.Count, seconds: o.Seconds}
		copy(a.buckets[:], o.Buckets)
		now[k] = a
		if a.count < w.last[k].count {
			restarted = true
		}
	}
	if restarted {
		for k, a := range w.last {
			b := w.base[k]
			b.add(a)
			w.base[k] = b
		}
		w.retriesBefore += w.retries
	}
	w.last, w.retries = now, s.Retries
}

// ClusterStats returns the sum of every worker's stats (and of those
// they sent before restarting), with own, the master's own measurements,
// added.
func (t *Tracker) ClusterStats(own task.WorkerStats) task.WorkerStats {
	sum := make(map[opKey]opAcc)
	out := task.WorkerStats{Retries: own.Retries}
	addOp := func(k opKey, a opAcc) {
		b := sum[k]
		b.add(a)
		sum[k] = b
	}
	for _, o := range own.StoreOps {
		a := opAcc{count: o.Count, seconds: o.Seconds}
		copy(a.buckets[:], o.Buckets)
		addOp(opKey{o.Store, o.Op, o.Class}, a)
	}
	st := &t.stats
	st.mu.Lock()
	for _, w := range st.workers {
		for k, a := range w.base {
			addOp(k, a)
		}
		for k, a := range w.last {
			addOp(k, a)
		}
		out.Retries += w.retries + w.retriesBefore
	}
	st.mu.Unlock()
	for k, a := range sum {
		out.StoreOps = append(out.StoreOps, task.StoreOps{Store: k.store, Op: k.op, Class: k.class,
			Count: a.count, Seconds: a.seconds, Buckets: append([]uint64(nil), a.buckets[:]...)})
	}
	sort.Slice(out.StoreOps, func(i, j int) bool {
		a, b := out.StoreOps[i], out.StoreOps[j]
		if a.Store != b.Store {
			return a.Store < b.Store
		}
		if a.Op != b.Op {
			return a.Op < b.Op
		}
		return a.Class < b.Class
	})
	return out
}

// maxStoreOps bounds the kinds of store operations kept per worker.
const maxStoreOps = 256

// label reports whether s is a short lower-case word, as the store types,
// operations and classes of store/observe are.
func label(s string) bool {
	if s == "" || len(s) > 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
