// Package master is ferry's coordinator: it scans sources into tasks
// (scan.go), waits for and grants leases fairly across jobs and answers
// the workers' calls (workers.go), shares each job's limits among the
// workers holding it (throttle.go), and answers the console (control.go).
// Its durable state is package state's (bbolt); the tracker's journal
// publishes each accepted attempt's audit directory; rpc/ adapts it to
// gRPC, and InProcess hands it to a worker in the same process.
package master

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"ferry/state"
	"ferry/task"

	"ferry/store"
	"ferry/tracker"
)

// Config is what a master needs to run.
type Config struct {
	Dir      string        // workdir/master: ferry.db, jobs/, token
	LeaseDur time.Duration // default 60s
	Log      *slog.Logger
	// TrackerLog receives one line per finished task attempt.
	TrackerLog *slog.Logger
	// OpenSource opens a job's source for scanning.
	OpenSource func(task.Spec) (store.Store, error)
	// OpenDest opens a job's destination (to abort its unfinished uploads
	// when it is cleaned).
	OpenDest func(task.Spec) (store.Store, error)
	// Streams plans stream jobs (srcType=kafka); nil: they fail.
	Streams StreamPlanner
	// Tables plans table jobs (srcType mysql or postgres); nil: they fail.
	Tables TablePlanner
	// FreshState starts with a new database even when the old one is
	// missing or empty while jobs' audit directories remain (state.ErrLost
	// otherwise).
	FreshState bool
}

// Master owns the database, the tracker, the scanners and the reaper.
type Master struct {
	cfg Config
	db  *state.DB
	tr  *tracker.Tracker
	log *slog.Logger

	journal *tracker.Journal // publishes attempts' audit directories
	creds   *creds           // the worker hosts' credentials (creds.go)

	mu        sync.Mutex
	scanners  map[string]context.CancelFunc
	workers   map[string]*workerInfo
	completes map[task.LeaseRef]bool
	lastJob   string
	wake      chan struct{} // closed when tasks may have become pending
	stopping  bool          // draining: workers are told to leave
	problem   Problem       // the working directory is full (diskfull.go)
	events    events        // lease expiries, stale completions (events.go)
	runCtx    context.Context
	wg        sync.WaitGroup
}

type workerInfo struct {
	host       string
	registered time.Time
	lastSeen   time.Time
	threads    int
	left       bool // said Leave
	revoked    bool // its credential was revoked since it registered
}

// Open opens the master's state in cfg.Dir, settling what a crash left
// behind: audit directories (written again from the database's copies,
// published, or dropped), and leases, which get one lease period for their
// workers to come back.
func Open(cfg Config) (*Master, error) {
	if cfg.LeaseDur <= 0 {
		cfg.LeaseDur = 60 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.TrackerLog == nil {
		cfg.TrackerLog = cfg.Log
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "jobs"), 0o755); err != nil {
		return nil, err
	}
	dbPath := filepath.Join(cfg.Dir, "ferry.db")
	if !cfg.FreshState {
		if err := state.CheckNotLost(dbPath, filepath.Join(cfg.Dir, "jobs")); err != nil {
			return nil, err
		}
	}
	db, err := state.OpenDB(dbPath, cfg.LeaseDur)
	if err != nil {
		return nil, err
	}
	m := &Master{cfg: cfg, db: db, tr: tracker.New(filepath.Join(cfg.Dir, "jobs")), log: cfg.Log,
		scanners: make(map[string]context.CancelFunc), workers: make(map[string]*workerInfo),
		completes: make(map[task.LeaseRef]bool), wake: make(chan struct{})}
	m.journal = tracker.NewJournal(m.tr, db, cfg.TrackerLog)
	db.SetWorkers(m.aliveWorkers)
	if m.creds, err = loadCreds(db); err != nil {
		m.tr.Close()
		db.Close()
		return nil, err
	}
	if err := db.ExtendLeases(); err != nil {
		m.tr.Close()
		db.Close()
		return nil, err
	}
	if err := m.recover(); err != nil {
		m.tr.Close()
		db.Close()
		return nil, err
	}
	return m, nil
}

// recover has the journal write again the audit directories of
// completions the database holds copies of, settle the in-flight
// directories a crash left, and make all of it durable.
func (m *Master) recover() error {
	names, err := m.db.JobNames()
	if err != nil {
		return err
	}
	return m.journal.Recover(names)
}

// DB returns the master's database (for tests and offline tools).
func (m *Master) DB() *state.DB { return m.db }

// Tracker returns the master's tracker.
func (m *Master) Tracker() *tracker.Tracker { return m.tr }

// Close makes the audit directories published so far durable and closes
// the database. Call it after Run has returned.
func (m *Master) Close() error {
	err := m.journal.Flush()
	return errors.Join(err, m.tr.Close(), m.db.Close())
}

// Run scans active jobs, reaps expired leases and makes published audit
// directories durable until ctx is done, then waits for its scanners.
func (m *Master) Run(ctx context.Context) error {
	m.mu.Lock()
	m.runCtx = ctx
	m.mu.Unlock()
	jobs, err := m.db.Jobs()
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Active() && !j.ScanFinished {
			m.startScan(j.Spec)
		}
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.journal.FlushLoop(ctx)
	}()
	tick := time.NewTicker(m.reapEvery())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			m.mu.Lock()
			for _, cancel := range m.scanners {
				cancel()
			}
			m.mu.Unlock()
			m.wg.Wait()
			return nil
		case <-tick.C:
			specs, err := m.db.StartDueRounds()
			if err != nil {
				m.logWrite("start incremental rounds", err)
			}
			for _, s := range specs {
				m.log.Info("incremental round starts", "job", s.Name)
				m.startScan(s)
			}
			refs, err := m.db.Reap()
			if err != nil {
				m.logWrite("reap leases", err)
			}
			for _, r := range refs {
				m.events.add(&m.events.expired, r.Job)
			}
			m.dropLeases(refs, "lease expired; task back to pending")
		}
	}
}

func (m *Master) reapEvery() time.Duration {
	d := m.cfg.LeaseDur / 10
	if d > time.Second {
		d = time.Second
	}
	if d < 50*time.Millisecond {
		d = 50 * time.Millisecond
	}
	return d
}

// notify wakes workers waiting in Lease.
func (m *Master) notify() {
	m.mu.Lock()
	close(m.wake)
	m.wake = make(chan struct{})
	m.mu.Unlock()
}

// startScan runs a job's scanner in the background unless one runs.
func (m *Master) startScan(spec task.Spec) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.runCtx == nil || m.scanners[spec.Name] != nil {
		return
	}
	ctx, cancel := context.WithCancel(m.runCtx)
	m.scanners[spec.Name] = cancel
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := m.scan(ctx, spec)
		m.mu.Lock()
		delete(m.scanners, spec.Name)
		m.mu.Unlock()
		cancel()
		switch {
		case err == nil, errors.Is(err, context.Canceled):
		case errors.Is(err, task.ErrNoJob), errors.Is(err, task.ErrJobActive):
			m.log.Info("scan stopped", "job", spec.Name, "why", err)
		default:
			m.log.Error("scan failed", "job", spec.Name, "err", err)
			if ferr := m.db.FailJob(spec.Name, err); ferr != nil {
				m.log.Error("mark job failed", "job", spec.Name, "err", ferr)
			}
		}
		m.notify()
	}()
}

// stopScan cancels a job's scanner and waits until it has stopped, so that
// a job submitted again under the same name gets a scanner of its own.
func (m *Master) stopScan(ctx context.Context, job string) error {
	for {
		m.mu.Lock()
		cancel, wake := m.scanners[job], m.wake
		m.mu.Unlock()
		if cancel == nil {
			return nil
		}
		cancel()
		select { // a scanner notifies when it has stopped
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// dropLeases forgets the in-flight audit records of leases taken back.
func (m *Master) dropLeases(refs []task.LeaseRef, why string) {
	for _, r := range refs {
		m.tr.Discard(r.Job, r.TaskID, r.LeaseID)
		m.log.Warn(why, "job", r.Job, "task", r.TaskID, "lease", r.LeaseID)
	}
	if len(refs) > 0 {
		m.notify()
	}
}
