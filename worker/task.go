package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"ferry/plan"
	"ferry/store"
	"ferry/store/observe"
	"ferry/task"
	"ferry/tracker"
)

// jobStores are a job's source and destination, with the optional powers
// of each, gathered once when they are opened.
type jobStores struct {
	src, dst   store.Store
	srcF, dstF store.Features
}

// storesFor returns a job's stores, opened once per job.
func (w *Worker) storesFor(spec task.Spec) (*jobStores, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.stores[spec.Name]; ok {
		return s, nil
	}
	src, err := w.cfg.OpenSource(spec)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", spec.Src.Prefix, err)
	}
	dst, err := w.cfg.OpenDest(spec)
	if err != nil {
		store.Close(src)
		return nil, fmt.Errorf("open destination %s: %w", spec.Dest.Prefix, err)
	}
	// Every store call is counted and timed for the master's /metrics.
	src, dst = observe.Wrap(src, spec.Src.Type, w.stats), observe.Wrap(dst, spec.Dest.Type, w.stats)
	s := &jobStores{src: src, dst: dst, srcF: store.FeaturesOf(src), dstF: store.FeaturesOf(dst)}
	w.stores[spec.Name] = s
	return s, nil
}

// runTask copies a leased task's entries, makes them durable, reports them
// and completes the task. Every entry yields exactly one audit record.
// copied, when set, is called once the entries are copied (or the task is
// abandoned), before the sync and the completion: the worker leases its
// next task meanwhile, so its copying threads do not wait for this one's
// round trips. A continuous stream task calls it when it starts.
func (w *Worker) runTask(parent context.Context, l task.Lease, copied func()) {
	if copied == nil {
		copied = func() {}
	}
	ref := task.LeaseRef{Job: l.Job, TaskID: l.TaskID, LeaseID: l.LeaseID}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	// Room for every record: the task's records are all queued before
	// the next report when its files are small.
	t := &running{lease: l, cancel: cancel, audit: make([]tracker.Record, 0, len(l.Entries))}
	t.opt, t.optErr = plan.OptionsOf(l.Spec)
	t.x = optionsOf(l.Spec)
	t.put = store.PutOptions{TempTag: tempTag(l.Job, l.TaskID)}
	t.deadline.Store(l.Deadline.UnixMilli())
	w.mu.Lock()
	w.tasks[ref] = t
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.tasks, ref)
		w.mu.Unlock()
	}()
	started := time.Now()
	w.limits.set(map[string]task.Limits{l.Job: l.Limits})
	w.limits.countEntries(l.Job, t.x.perEntry)
	log := w.log.With("job", l.Job, "task", l.TaskID, "lease", l.LeaseID, "attempt", l.Attempt)
	log.Info("task started", "entries", len(l.Entries))

	results := make([]task.Outcome, 0)
	var resMu sync.Mutex
	record := func(i int, rec tracker.Record) {
		t.mu.Lock()
		t.audit = append(t.audit, rec)
		t.mu.Unlock()
		t.files.Add(1)
		if rec.Result != tracker.OK {
			resMu.Lock()
			results = append(results, outcomeOf(i, rec))
			resMu.Unlock()
		}
	}

	if l.Spec.IsStream() {
		if l.Spec.Stream.Continuous {
			// A continuous job's tasks run until the job is stopped:
			// holding a slot each, a job with more partitions than the
			// worker has slots would leave the rest pending for ever.
			// They wait on the network, not on the copying threads.
			copied()
		}
		if !w.runStream(ctx, t, log, record) && ctx.Err() == nil {
			log.Warn("stream task given up: its lease is no longer current")
			w.taskDone()
			return
		}
		copied()
	} else if l.Spec.IsTable() {
		w.runTable(ctx, t, log, record)
		copied()
	} else if st, err := w.storesFor(l.Spec); err != nil {
		for i, e := range l.Entries {
			record(i, failRecord(e, task.ReadError, err))
		}
	} else {
		if l.Attempt > 1 && l.Part == nil { // a part task's file is its group's
			w.cleanTemps(ctx, st, l)
		}
		// A pool of copiers per task (their stacks, once grown, are reused
		// from entry to entry); the worker-wide semaphore bounds how many
		// copy at once across tasks.
		// Each copier takes the next entry from a shared counter: no
		// goroutine hands entries out, so an entry costs an atomic add
		// rather than a channel handoff and a goroutine switch.
		// The stores keep what the task's Puts share (a local
		// destination: its directories, open) until the task ends.
		tctx, scope := store.WithTask(ctx)
		defer scope.End(false)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range min(w.cfg.Threads, len(l.Entries)) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, retries := store.WithRetryCounter(tctx)
				ctx, notes := store.WithNotes(ctx)
				x := &transfer{w: w, retries: retries, notes: notes}
				for {
					i := int(next.Add(1) - 1)
					if i >= len(l.Entries) || ctx.Err() != nil {
						return
					}
					select {
					case w.sem <- struct{}{}: // a free slot: no need to watch ctx
					default:
						select {
						case w.sem <- struct{}{}:
						case <-ctx.Done():
							return
						}
					}
					rec := w.copyEntry(ctx, x, st, t, l.Entries[i])
					<-w.sem
					if ctx.Err() == nil {
						record(i, rec)
					}
				}
			}()
		}
		wg.Wait()
		copied()
		if ctx.Err() == nil {
			// What landed must still be at its keys (scope.End), and
			// durable (Sync); else nothing of this attempt is known good:
			// fail it all, for the next attempt to copy again.
			err := scope.End(true)
			if err != nil {
				log.Error("destination changed under the task", "err", err)
			} else if sync := st.dstF.Sync; sync != nil {
				if err = sync(ctx); err != nil {
					log.Error("sync destination failed", "err", err)
					err = fmt.Errorf("sync: %w", err)
				}
			}
			if err != nil {
				t.mu.Lock()
				t.audit = t.audit[:0]
				t.mu.Unlock()
				results = results[:0]
				for i, e := range l.Entries {
					record(i, failRecord(e, task.WriteError, err))
				}
			}
		}
	}
	if ctx.Err() != nil {
		log.Warn("task abandoned", "why", context.Cause(ctx))
		return
	}
	// Audit records first, then the completion, both under the lease. A
	// completion the master fails (its disk is full, it is unreachable) is
	// retried until it is accepted or the lease is lost, after a pause
	// that doubles up to completeRetryMax; the worker's log says so now
	// and then, not at every retry.
	wait := completeRetryFirst
	stuck := false // counted in w.stuck: no new leases meanwhile
	defer func() {
		if stuck {
			w.stuck.Add(-1)
		}
	}()
	for {
		wake := w.retryWake()
		err := w.report(ctx)
		if err == nil || errors.Is(err, ErrStopping) { // records delivered either way
			err = w.client.Complete(ctx, w.cfg.ID, ref, results, started)
		}
		switch {
		case err == nil:
			if w.completeLog.ok(w.log, "completing tasks again") {
				w.wakeRetries() // the others may complete now too
			}
			log.Info("task completed", "entries", len(l.Entries), "not_ok", len(results), "took", time.Since(started).Round(time.Millisecond))
			w.taskDone()
			return
		case errors.Is(err, ErrStale):
			log.Warn("completion refused: lease is no longer current; abandoning task")
			w.taskDone()
			return
		case w.refused(err):
			return
		}
		if !stuck {
			stuck = true
			w.stuck.Add(1)
		}
		w.completeLog.fail(log, "complete failed; retrying", "err", err, "next_retry", wait)
		if !pause(ctx, wait, wake) {
			log.Warn("task abandoned while completing", "why", context.Cause(ctx))
			return
		}
		wait = min(2*wait, completeRetryMax)
	}
}

// report sends every queued audit record and the progress of every task.
// When it returns nil, all records queued before the call were delivered.
// It sends them in reports of at most tracker.ReportBytes each (and at
// least one record): a task of small files can queue a million records
// between two reports, more than the master takes in one.
func (w *Worker) report(ctx context.Context) error {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	// owed is how many records each task had queued at the call: the
	// reports end with those, however fast the copiers queue more.
	owed := make(map[*running]int)
	w.mu.Lock()
	for _, t := range w.tasks {
		t.mu.Lock()
		owed[t] = len(t.audit)
		t.mu.Unlock()
	}
	w.mu.Unlock()
	var stopping error
	for {
		more, err := w.reportSome(ctx, owed)
		switch {
		case errors.Is(err, ErrStopping): // delivered; the rest too
			stopping = err
		case err != nil:
			return err
		}
		if !more {
			return stopping
		}
	}
}

// reportSome sends one report: the progress of every task, and as many of
// the records owed as tracker.ReportBytes allows. It says whether records
// are still owed.
func (w *Worker) reportSome(ctx context.Context, owed map[*running]int) (more bool, err error) {
	type pending struct {
		t *running
		n int
	}
	var batch []pending
	audits := make(map[task.LeaseRef][]tracker.Record)
	var progress []tracker.TaskProgress
	budget := tracker.ReportBytes
	w.mu.Lock()
	for ref, t := range w.tasks {
		t.mu.Lock()
		// The first record always fits: a report carries at least one.
		// (A failed sync empties the queue: owed may be more than is left.)
		n, m := 0, min(owed[t], len(t.audit))
		for n < m && budget > 0 {
			budget -= t.audit[n].ReportSize()
			n++
		}
		if n > 0 {
			// No copy: copiers append only past n meanwhile (a growing
			// append reads the first n, as the sender does), and the
			// first n are moved over only after the send, under t.mu.
			audits[ref] = t.audit[:n:n]
			batch = append(batch, pending{t, n})
		}
		more = more || n < m
		t.mu.Unlock()
		progress = append(progress, tracker.TaskProgress{Job: ref.Job, Task: ref.TaskID, Lease: ref.LeaseID,
			Files: t.files.Load(), Bytes: t.bytes.Load()})
	}
	w.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	limits, err := w.client.Report(rctx, w.cfg.ID, w.copied.Load(), w.stats.Snapshot(), audits, progress)
	w.limits.set(limits)
	if err != nil && !errors.Is(err, ErrStopping) {
		return false, err
	}
	for _, p := range batch {
		p.t.mu.Lock()
		p.t.audit = append(p.t.audit[:0], p.t.audit[p.n:]...)
		p.t.mu.Unlock()
		owed[p.t] -= p.n
	}
	return more, err
}

// tempTag names a task's temporary files, so a later attempt of the same
// task can remove what a crashed one left, and nothing else.
func tempTag(job string, task uint64) string {
	h := uint32(2166136261)
	for i := 0; i < len(job); i++ {
		h = (h ^ uint32(job[i])) * 16777619
	}
	return fmt.Sprintf("%08x-%d", h, task)
}

// cleanTemps removes temporary files an earlier attempt of this task left
// in the directories it writes to.
func (w *Worker) cleanTemps(ctx context.Context, st *jobStores, l task.Lease) {
	clean := st.dstF.CleanTemps
	if clean == nil {
		return
	}
	seen := make(map[string]bool)
	for _, e := range l.Entries {
		dir := parentKey(e.Key)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		if err := clean(ctx, dir, tempTag(l.Job, l.TaskID)); err != nil {
			w.log.Warn("clean temporary files", "dir", dir, "err", err)
		}
	}
}

func parentKey(key string) string {
	for i := len(key) - 1; i >= 0; i-- {
		if key[i] == '/' {
			return key[:i]
		}
	}
	return ""
}

func (w *Worker) taskDone() {
	if w.cfg.TaskDone != nil {
		w.cfg.TaskDone()
	}
}

// outcomeOf is the outcome of entry i whose record is not OK: the record's
// kind (a skip's is Skipped; a failure that says none, READ_ERROR).
func outcomeOf(i int, rec tracker.Record) task.Outcome {
	o := task.Outcome{Index: uint32(i), Kind: rec.Kind, Detail: rec.Detail}
	switch {
	case rec.Result == tracker.Skip:
		o.Kind = task.Skipped
	case !o.Kind.Failed():
		o.Kind = task.ReadError
	}
	return o
}
