package master

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"ferry/state"
	"ferry/task"

	"ferry/plan"
	"ferry/store"
	"ferry/tracker"
)

// scan lists a job's source in key order from its checkpoint and closes a
// task whenever it reaches the job's count or size limit. Each task is
// stored with the scan position after it in one transaction, so a master
// killed at any moment resumes exactly where the last stored task ended:
// no entry is lost or put in two tasks. Memory is bounded by one task.
//
// Entries the filters exclude are counted, not queued. The first pass
// queues every other entry: the worker applies the update rule
// (isSkipExistFile, updateMode) against the destination as it is when it
// copies, and records each skip as a SKIP audit line with its reason. Each
// later round of an incremental job merges the source listing with the
// destination's and queues only what is new or changed, counting the rest
// as unchanged. A mirror then deletes, within maxDelete, the destination
// keys the source no longer has.
func (m *Master) scan(ctx context.Context, spec task.Spec) error {
	if spec.IsStream() {
		return m.scanStream(ctx, spec)
	}
	if spec.IsTable() {
		return m.scanTables(ctx, spec)
	}
	job, err := m.db.Job(spec.Name)
	if err != nil {
		return err
	}
	opt, err := plan.OptionsOf(spec)
	if err != nil {
		return fmt.Errorf("job rules: %w", err)
	}
	src, err := m.cfg.OpenSource(spec)
	if err != nil {
		return fmt.Errorf("open source %s: %w", spec.Src.Prefix, err)
	}
	defer store.Close(src)
	countLimit, sizeLimit := spec.CountLimit, spec.SizeLimit
	if countLimit <= 0 || sizeLimit <= 0 {
		return fmt.Errorf("task size limits %d entries, %d bytes: both must be positive", countLimit, sizeLimit)
	}
	round := job.Round
	if round > 1 {
		opt.Since = time.Time{} // importSince limits the first round only
	}
	batch := make([]store.Entry, 0, min(countLimit, 1<<16))
	var bytes int64
	var counts state.ScanCounts
	// The first tasks of a pass are small (rampStart entries, doubling up
	// to the limit): workers start copying a few milliseconds into the scan
	// instead of after a whole task is listed, and their task slots fill at
	// once. Later tasks have the job's size.
	limit := min(countLimit, rampStart)
	// Each excluded key is a line of excluded.log, which a pass from the
	// first key writes anew (the report lists them).
	excluded, err := m.keyLog(spec.Name, tracker.ExcludedLog, job.ScanAfter == "")
	if err != nil {
		return err
	}
	defer excluded.close()
	flush := func(final bool) error {
		if err := excluded.flush(); err != nil {
			return err
		}
		if err := m.db.AddScanned(spec.Name, round, batch, counts, final); err != nil {
			return err
		}
		if len(batch) > 0 {
			m.notify()
		}
		batch, bytes, counts = batch[:0], 0, state.ScanCounts{}
		return nil
	}
	take := func(it plan.Item) error {
		e := it.Entry
		switch it.Action {
		case plan.Exclude:
			counts.Excluded++
			counts.ExcludedBytes += e.Size
			return excluded.add(tracker.KeyEvent{Time: time.Now(), Action: tracker.ActionExclude, Size: e.Size,
				Key: e.Key, Reason: it.Reason, MTime: e.MTime})
		case plan.Skip: // rounds after the first only
			counts.Unchanged++
			counts.UnchangedBytes += e.Size
			return nil
		case plan.Delete:
			return nil
		}
		if e.Kind != store.File {
			e.Size = 0
		}
		if splits(spec, e) {
			// A file of its own group of part tasks, after the entries
			// before it, so that the scan position stays in key order.
			if len(batch) > 0 {
				if err := flush(false); err != nil {
					return err
				}
			}
			if err := m.db.AddGroup(spec.Name, round, e, spec.Multipart.PartSize); err != nil {
				return err
			}
			m.notify()
			return nil
		}
		batch = append(batch, e)
		bytes += e.Size
		if len(batch) >= limit || bytes >= sizeLimit {
			limit = min(limit*2, countLimit)
			return flush(false)
		}
		return nil
	}
	m.log.Info("scan", "job", spec.Name, "round", round, "after", job.ScanAfter)
	// The first pass does not list the destination: its update rule is
	// the worker's, so that every skip is an audit line.
	needDest := round > 1
	if (needDest || opt.Mirror) && m.cfg.OpenDest == nil {
		return errors.New("this master cannot open destinations (no OpenDest)")
	}
	if needDest {
		dst, err := m.cfg.OpenDest(spec)
		if err != nil {
			return fmt.Errorf("open destination %s: %w", spec.Dest.Prefix, err)
		}
		defer store.Close(dst)
		noMirror := opt
		noMirror.Mirror = false
		noMirror.Known = func(key string) (plan.Known, bool) {
			c, ok := m.db.CopiedEntry(spec.Name, key)
			return plan.Known{Size: c.Size, MTime: c.MTime, DestETag: c.DestETag}, ok
		}
		err = plan.Diff(ctx, src, dst, noMirror, job.ScanAfter, take)
		if err != nil {
			return fmt.Errorf("compare source and destination: %w", err)
		}
	} else {
		// A task's manifest keeps no CRC64 nor Meta: the store need not
		// read them (store.Shallow).
		err = src.List(store.Shallow(ctx), "", job.ScanAfter, func(e store.Entry) error { return take(plan.Filter(opt, e)) })
		if err != nil {
			return fmt.Errorf("list source %s: %w", spec.Src.Prefix, err)
		}
	}
	if opt.Mirror {
		if err := m.mirror(ctx, spec, opt, src); err != nil {
			return err
		}
	}
	// The last tasks are small too, halving down to rampStart: the job
	// ends with the completion of whichever task finishes last, and a
	// small one completes at once (and leaves no one worker with the
	// bulk of the end).
	if err := excluded.flush(); err != nil {
		return err
	}
	for len(batch) > 2*rampStart {
		n := len(batch) / 2
		if err := m.db.AddScanned(spec.Name, round, batch[:n], counts, false); err != nil {
			return err
		}
		m.notify()
		batch, counts = batch[n:], state.ScanCounts{}
	}
	if err := flush(true); err != nil {
		return err
	}
	m.log.Info("scan finished", "job", spec.Name, "round", round)
	return nil
}

// splits reports whether e is copied by part tasks (task.Part): a file of
// at least splitFileThreshold, copied, unless the job copies between
// buckets of one server under one access key, where the server copies
// it and no byte passes through a worker.
func splits(spec task.Spec, e store.Entry) bool {
	return spec.SplitThreshold > 0 && e.Kind == store.File && e.Size >= spec.SplitThreshold &&
		spec.Type != task.Audit && !sameServer(spec.Src, spec.Dest)
}

// sameServer reports whether two object-store endpoints are one server
// under one access key, as far as the job's settings tell.
func sameServer(a, b task.Endpoint) bool {
	host := func(d string) string {
		if _, rest, ok := strings.Cut(d, "://"); ok {
			d = rest
		}
		return strings.ToLower(strings.TrimSuffix(d, "/"))
	}
	local := func(t string) bool { return t == "local" || t == "http" }
	return !local(a.Type) && !local(b.Type) && a.Domain != "" && host(a.Domain) == host(b.Domain) && a.AccessKey == b.AccessKey
}

// rampStart is the most entries in the first task of a scan pass.
const rampStart = 100

// ErrTooManyDeletes stops a mirror that would delete more than maxDelete.
var ErrTooManyDeletes = errors.New("mirror would delete more than maxDelete")

// mirror deletes the destination keys the source lacks, after counting
// them: over maxDelete, it deletes nothing and fails the job. Each deleted
// key is a line of jobs/<job>/deleted.log.
func (m *Master) mirror(ctx context.Context, spec task.Spec, opt plan.Options, src store.Store) error {
	maxDelete := spec.MaxDelete
	dst, err := m.cfg.OpenDest(spec)
	if err != nil {
		return fmt.Errorf("open destination %s: %w", spec.Dest.Prefix, err)
	}
	defer store.Close(dst)
	feat := store.FeaturesOf(dst)
	del := feat.Delete
	if feat.DeleteTree != nil { // a key the source lacks has nothing below it there either
		del = feat.DeleteTree
	}
	if del == nil {
		return fmt.Errorf("mirror: destination %s cannot delete", spec.Dest.Type)
	}
	var n int64
	err = plan.Diff(ctx, src, dst, opt, "", func(it plan.Item) error {
		if it.Action == plan.Delete {
			n++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	if n > maxDelete {
		return fmt.Errorf("%w: %d destination keys are not in the source, maxDelete=%d; nothing was deleted (raise maxDelete or check srcPrefix)",
			ErrTooManyDeletes, n, maxDelete)
	}
	if n == 0 {
		return nil
	}
	log, err := m.keyLog(spec.Name, tracker.DeletedLog, false)
	if err != nil {
		return err
	}
	var deleted int64
	err = plan.Diff(ctx, src, dst, opt, "", func(it plan.Item) error {
		if it.Action != plan.Delete {
			return nil
		}
		if deleted >= maxDelete {
			return nil // the destination changed since the count; stay within the limit
		}
		if err := del(ctx, it.Entry.Key); err != nil && !errors.Is(err, store.ErrNotExist) {
			return fmt.Errorf("mirror: delete %q: %w", it.Entry.Key, err)
		}
		deleted++
		return log.add(tracker.KeyEvent{Time: time.Now(), Action: tracker.ActionDelete, Size: it.Entry.Size, Key: it.Entry.Key})
	})
	if cerr := log.close(); err == nil {
		err = cerr
	}
	if cerr := m.db.AddDeleted(spec.Name, deleted); err == nil {
		err = cerr
	}
	m.log.Info("mirror deleted destination keys", "job", spec.Name, "deleted", deleted)
	return err
}
