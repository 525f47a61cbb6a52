// Package worker is ferry's copier: it registers with the master, leases
// tasks, copies their entries with a bounded number of threads, verifies
// each one (CRC64-ECMA while streaming, compared with what landed), makes
// the task durable, reports audit records and progress to the tracker, and
// completes the task under its lease. A lease it loses (expired, taken
// back) stops its task at once: the master has already given it to
// someone else.
package worker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"ferry/plan"
	"ferry/store"
	"ferry/store/observe"
	"ferry/task"
	"ferry/tracker"
	"ferry/verify"
)

// Client is the worker's view of the master and tracker: rpc.Client
// implements it over gRPC, master.InProcess in the master's process.
type Client interface {
	Register(ctx context.Context, id, host string, threads int) (leaseDur time.Duration, err error)
	Lease(ctx context.Context, id string, max int) ([]task.Lease, error)
	Renew(ctx context.Context, id string, refs []task.LeaseRef) (lost []task.LeaseRef, err error)
	Complete(ctx context.Context, id string, ref task.LeaseRef, results []task.Outcome, started time.Time) error
	// Report also returns the worker's shares of its jobs' limits.
	// stats is what the worker measured of itself so far (cumulative).
	Report(ctx context.Context, id string, copied int64, stats task.WorkerStats, audits map[task.LeaseRef][]tracker.Record, progress []tracker.TaskProgress) (map[string]task.Limits, error)
	Leave(ctx context.Context, id string) error
	SaveUpload(ctx context.Context, id string, ref task.LeaseRef, u task.UploadState) error
}

// The errors a Client answers with, the same in process and over gRPC.
var (
	// ErrStale is what Complete and SaveUpload return (wrapped) when the
	// lease is not current.
	ErrStale = task.ErrStaleLease
	// ErrStopping is what Lease, Renew and Report return when the master
	// asks its workers to leave. (Renew and Report have done their work.)
	ErrStopping = task.ErrStopping
	// ErrRefused is what any call returns when the master refuses this
	// worker's credential (wrong, revoked, or another worker's): the
	// worker stops, as that will not get better by itself.
	ErrRefused = task.ErrRefused
)

// Config is a worker's configuration.
type Config struct {
	ID       string
	Host     string
	Threads  int // entries copied at once (workerTaskThreadNum)
	MaxTasks int // tasks held at once (workerMaxTaskNum)
	// RecordMD5 also computes each file's MD5 for the audit log
	// (workerRecordMd5).
	RecordMD5 bool
	// MaxThroughput limits the bytes this worker reads per second, over
	// all its jobs (workerMaxThroughput); 0 is unlimited.
	MaxThroughput int64
	Log           *slog.Logger
	// OpenSource and OpenDest open a job's stores.
	OpenSource func(task.Spec) (store.Store, error)
	OpenDest   func(task.Spec) (store.Store, error)
	// Streams runs the tasks of stream jobs (srcType=kafka); nil: such
	// tasks fail.
	Streams StreamRunner
	// Tables runs the tasks of table jobs (srcType mysql or postgres);
	// nil: such tasks fail.
	Tables TableRunner
	// TaskDone, when set, is called after each task's completion was
	// accepted (or refused as stale): `run` looks at its job then, instead
	// of waiting for its next look. It must not block.
	TaskDone func()
}

// Worker runs tasks for one master.
type Worker struct {
	cfg    Config
	client Client
	log    *slog.Logger
	sem    chan struct{} // one slot per copying thread
	pace   *pacer        // parks slots of sem while the destination pushes back
	limits *limiters
	copied atomic.Int64
	stats  *observe.Stats // its store operations and retries, sent with each report

	mu       sync.Mutex
	tasks    map[task.LeaseRef]*running
	stores   map[string]*jobStores // by job
	leaseDur time.Duration

	sendMu sync.Mutex // one Report in flight, so audit records arrive before Complete

	// Failures that may repeat for long (a full disk at the master) are
	// logged now and then (quiet.go); completions waiting to retry wake
	// when the master accepts a report again.
	registerLog, leaseLog, renewLog, reportLog, completeLog quietLog
	wakeRetry                                               chan struct{}
	stuck                                                   atomic.Int64 // tasks whose last Complete failed

	stop context.CancelCauseFunc // ends Run when the master says to leave
}

// running is one task in progress.
type running struct {
	lease    task.Lease
	opt      plan.Options // the job's update rules and filters
	optErr   error
	cancel   context.CancelFunc
	deadline atomic.Int64 // unix ms; past it the lease is surely gone
	files    atomic.Int64
	bytes    atomic.Int64

	x   taskOptions      // the spec's per-entry switches, parsed once
	put store.PutOptions // how its Puts write: their temporary files' tag

	mu    sync.Mutex
	audit []tracker.Record // not yet reported
}

// taskOptions are the switches of a lease's spec that every entry consults,
// looked up and parsed once per task rather than once per entry.
type taskOptions struct {
	audit       bool        // jobType=audit: compare, copy nothing
	auditAfter  bool        // isAuditAfterImport: check each copy once landed
	mode        verify.Mode // auditMode
	preserve    bool        // preserveMetadata: the copy keeps mtime and mode
	mpThreshold int64       // multipartUploadThreshold
	incremental bool        // isIncremental
	perEntry    bool        // maxRequestsPerSecond counts entries (task.Spec.ThrottlesEntries)
}

func optionsOf(spec task.Spec) taskOptions {
	mode := verify.Mode(spec.AuditMode)
	if mode == "" {
		mode = verify.General
	}
	return taskOptions{
		incremental: spec.Incremental,
		audit:       spec.Type == task.Audit,
		auditAfter:  spec.AuditAfterImport,
		mode:        mode,
		preserve:    spec.PreserveMetadata,
		mpThreshold: spec.Multipart.Threshold,
		perEntry:    spec.ThrottlesEntries(),
	}
}

// New returns a worker that talks to the master through c.
func New(cfg Config, c Client) *Worker {
	if cfg.Threads <= 0 {
		cfg.Threads = 16
	}
	if cfg.MaxTasks <= 0 {
		cfg.MaxTasks = 2
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	w := &Worker{cfg: cfg, client: c, log: cfg.Log, sem: make(chan struct{}, cfg.Threads),
		limits: newLimiters(cfg.MaxThroughput), stats: observe.New(),
		tasks: make(map[task.LeaseRef]*running), stores: make(map[string]*jobStores)}
	w.pace = &pacer{sem: w.sem, max: cfg.Threads, log: cfg.Log}
	return w
}

// Run registers and works until ctx is done. In-flight entries are
// abandoned cleanly on the way out (atomic writes leave no partial file);
// their leases expire and the tasks go to other workers.
func (w *Worker) Run(ctx context.Context) error {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	w.mu.Lock()
	w.stop = stop
	w.mu.Unlock()
	var leaseDur time.Duration
	for {
		var err error
		leaseDur, err = w.client.Register(ctx, w.cfg.ID, w.cfg.Host, w.cfg.Threads)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrRefused) {
			return err // a wrong token or certificate will not get better
		}
		w.registerLog.fail(w.log, "register with master failed; retrying", "err", err)
		if !sleep(ctx, time.Second) {
			return ctx.Err()
		}
	}
	w.mu.Lock()
	w.leaseDur = leaseDur
	w.mu.Unlock()
	w.log.Info("worker registered", "id", w.cfg.ID, "threads", w.cfg.Threads, "lease", leaseDur)

	var wg sync.WaitGroup
	hbCtx, stopHB := context.WithCancel(context.WithoutCancel(ctx))
	wg.Add(1)
	go func() { defer wg.Done(); w.heartbeat(hbCtx, leaseDur) }()

	slots := make(chan struct{}, w.cfg.MaxTasks) // one per task held
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if w.stuck.Load() > 0 {
			// The master fails completions (its disk is full): take no
			// new work until it accepts one again.
			pause(ctx, time.Second, w.retryWake())
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		free := 1
	grab:
		for free < w.cfg.MaxTasks {
			select {
			case slots <- struct{}{}:
				free++
			default:
				break grab
			}
		}
		leases, err := w.client.Lease(ctx, w.cfg.ID, free)
		for i := len(leases); i < free; i++ {
			<-slots
		}
		if w.stopping(err) || w.refused(err) {
			continue
		}
		if err != nil {
			if ctx.Err() == nil {
				w.leaseLog.fail(w.log, "lease failed; retrying", "err", err)
				sleep(ctx, backoff)
				backoff = min(backoff*2, 5*time.Second)
			}
			continue
		}
		backoff = 100 * time.Millisecond
		w.leaseLog.ok(w.log, "leasing again")
		for _, l := range leases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// The slot is free once the entries are copied (or the task
				// ends some other way), whichever comes first.
				var free sync.Once
				release := func() { free.Do(func() { <-slots }) }
				defer release()
				w.runTask(ctx, l, release)
			}()
		}
	}
	stopHB()
	wg.Wait()
	w.closeStores()
	if err := context.Cause(ctx); errors.Is(err, ErrRefused) {
		return err // no Leave: it would be refused too
	}
	// Tell the master our leases are free, rather than letting them expire.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := w.client.Leave(lctx, w.cfg.ID); err != nil {
		w.log.Warn("leave", "err", err)
	}
	w.log.Info("worker stopped", "why", context.Cause(ctx))
	return nil
}

// stopping ends Run when err says the master is stopping.
func (w *Worker) stopping(err error) bool {
	if !errors.Is(err, ErrStopping) {
		return false
	}
	w.mu.Lock()
	stop := w.stop
	w.mu.Unlock()
	w.log.Info("the master asked this worker to leave")
	stop(ErrStopping)
	return true
}

// refused ends Run when err says the master refuses this worker's
// credential: it was revoked, or replaced by a new deploy.
func (w *Worker) refused(err error) bool {
	if !errors.Is(err, ErrRefused) {
		return false
	}
	w.mu.Lock()
	stop := w.stop
	w.mu.Unlock()
	w.log.Error("the master refuses this worker; stopping", "err", err)
	stop(err)
	return true
}

// Holds reports whether the worker holds a task of job: one being copied,
// or whose completion is still on its way to the master.
func (w *Worker) Holds(job string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ref := range w.tasks {
		if ref.Job == job {
			return true
		}
	}
	return false
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// heartbeat renews leases every third of a lease and reports progress and
// audit records every second. A lease the master says is lost, or whose
// deadline has passed without a successful renewal, is cancelled.
func (w *Worker) heartbeat(ctx context.Context, leaseDur time.Duration) {
	renewEvery := leaseDur / 3
	if renewEvery <= 0 {
		renewEvery = time.Second
	}
	report := time.NewTicker(min(time.Second, renewEvery))
	defer report.Stop()
	lastRenew := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-report.C:
		}
		if err := w.report(ctx); err != nil && !w.stopping(err) && !w.refused(err) {
			w.reportLog.fail(w.log, "report to tracker failed", "err", err)
		} else if err == nil && w.reportLog.ok(w.log, "reporting to tracker again") {
			w.wakeRetries() // the master writes again: so may completions
		}
		if time.Since(lastRenew) >= renewEvery {
			w.renew(ctx)
			lastRenew = time.Now()
		}
		now := time.Now().UnixMilli()
		w.mu.Lock()
		for ref, t := range w.tasks {
			if now > t.deadline.Load() {
				w.log.Warn("lease deadline passed without renewal; abandoning task", "job", ref.Job, "task", ref.TaskID)
				t.cancel()
			}
		}
		w.mu.Unlock()
	}
}

func (w *Worker) renew(ctx context.Context) {
	w.mu.Lock()
	refs := make([]task.LeaseRef, 0, len(w.tasks))
	for ref := range w.tasks {
		refs = append(refs, ref)
	}
	leaseDur := w.leaseDur
	w.mu.Unlock()
	if len(refs) == 0 {
		return
	}
	sent := time.Now()
	rctx, cancel := context.WithTimeout(ctx, leaseDur/3+time.Second)
	lost, err := w.client.Renew(rctx, w.cfg.ID, refs)
	cancel()
	if w.stopping(err) || w.refused(err) {
		return
	}
	if err != nil {
		w.renewLog.fail(w.log, "renew leases failed", "err", err)
		return
	}
	w.renewLog.ok(w.log, "renewing leases again")
	gone := make(map[task.LeaseRef]bool, len(lost))
	for _, r := range lost {
		gone[r] = true
	}
	deadline := sent.Add(leaseDur).UnixMilli()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, ref := range refs {
		t := w.tasks[ref]
		if t == nil {
			continue
		}
		if gone[ref] {
			w.log.Warn("lease lost; abandoning task", "job", ref.Job, "task", ref.TaskID, "lease", ref.LeaseID)
			t.cancel()
			continue
		}
		t.deadline.Store(deadline)
	}
}

// closeStores closes every job's stores, once no task uses them.
func (w *Worker) closeStores() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for job, s := range w.stores {
		for _, st := range []store.Store{s.src, s.dst} {
			if err := store.Close(st); err != nil {
				w.log.Warn("close store", "job", job, "err", err)
			}
		}
		delete(w.stores, job)
	}
}
