package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/task"
	"ferry/tracker"
	"ferry/worker"
)

// Transaction sizes: a copier commits when its open transaction reaches
// any of these, or when the source has nothing more for now.
const (
	txnRecords = 20_000
	txnBytes   = 32 << 20
	txnAge     = time.Second
	// idlePoll is how long a poll waits for records before the copier
	// commits what it holds and looks again.
	idlePoll = 250 * time.Millisecond
	// endIdle is how long a once copier waits with nothing more to read
	// below its end before it takes the rest of the range to hold no
	// record (a compacted batch that came back empty).
	endIdle = 10 * time.Second
	// maxFailures is how many attempts in a row may fail without
	// progress before the task fails.
	maxFailures = 5
	// progressEvery is how often an idle continuous copier asks the
	// source for the partition's end, and tells the master its lag when
	// that changed.
	progressEvery = 2 * time.Second
)

var (
	// errFenced: another producer of the same partition (a newer lease,
	// or an older one that came back) took the transactional ID over.
	errFenced = errors.New("fenced by a newer producer of this partition")
	// errNewerLease: the partition's last checkpoint was written under a
	// newer lease than this one.
	errNewerLease = errors.New("a newer lease has written this partition")
)

// copier copies one source partition into the same partition number of
// the destination topic, in transactions that each also commit a
// checkpoint (checkpoint.go).
type copier struct {
	t        worker.StreamTask
	u        task.Unit
	src, dst side
	key      string // checkpoint key
	txid     string

	state   Checkpoint // as of the last commit (Offset: the checkpoint's offset)
	first   int64      // the first source offset copied by this attempt; -1 none
	records int64      // copied by this attempt
	bytes   int64
	// prog is the partition's lag as last known, saved the last
	// reported to the master.
	prog, saved task.StreamProgress
}

// cursor is what the copier saves with its lease.
func (c *copier) cursor() cursor {
	cur := cursorOf(&c.state)
	cur.StreamProgress = c.prog
	return cur
}

// transactionalID names the partition's producer on the destination: the
// same for every attempt, so that each new attempt's producer fences the
// one before it (Kafka aborts its open transaction and refuses its
// writes).
func transactionalID(job, topic string, partition int32) string {
	return "ferry-" + job + "-" + topic + "-" + strconv.Itoa(int(partition))
}

func (r *Runner) copyPartition(ctx context.Context, t worker.StreamTask) (tracker.Record, bool) {
	c := &copier{t: t, u: t.Unit, first: -1}
	c.src, c.dst = sidesOf(t.Lease.Spec)
	c.key = checkpointKey(t.Lease.Job, c.u.Topic, c.u.Partition)
	c.txid = transactionalID(t.Lease.Job, c.u.Topic, c.u.Partition)
	failures, wait := 0, time.Second
	for {
		before := c.records
		err := c.run(ctx)
		switch {
		case err == nil:
			return c.record(tracker.OK, task.OK, nil), true
		case ctx.Err() != nil:
			return tracker.Record{}, false
		case errors.Is(err, errNewerLease):
			t.Log.Warn("partition taken over", "unit", c.u.Key(), "err", err)
			return tracker.Record{}, false
		case errors.Is(err, errFenced):
			// Ours or theirs? The master says whose lease is current.
			if serr := t.SaveCursor(ctx, c.cursor().encode()); errors.Is(serr, worker.ErrStale) {
				t.Log.Warn("partition taken over by a newer lease", "unit", c.u.Key())
				return tracker.Record{}, false
			}
			t.Log.Warn("an older producer of this partition came back; fencing it again", "unit", c.u.Key())
			continue
		case errors.Is(err, worker.ErrStale):
			return tracker.Record{}, false
		}
		if c.records > before {
			failures, wait = 0, time.Second
		}
		failures++
		kind := task.WriteError
		if errors.Is(err, errRead) {
			kind = task.ReadError
		}
		if failures >= maxFailures {
			return c.record(tracker.Fail, kind, err), true
		}
		t.Log.Warn("partition copy failed; retrying from its last checkpoint", "unit", c.u.Key(), "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return tracker.Record{}, false
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// errRead marks errors of the source.
var errRead = errors.New("source")

// record is the task's audit line: key topic/partition/first-last (the
// source offsets this attempt copied), the bytes copied, and the
// destination range in the detail.
func (c *copier) record(res tracker.Result, k task.Kind, err error) tracker.Record {
	span := "-"
	if c.first >= 0 {
		span = fmt.Sprintf("%d-%d", c.first, c.state.SrcNext-1)
	}
	rec := tracker.Record{Time: time.Now(), Result: res, Kind: k, Size: c.bytes,
		Key: c.u.Key() + "/" + span,
		Detail: fmt.Sprintf("%d records; source position %d, destination next offset %d, %d records in all",
			c.records, c.state.SrcNext, c.state.DestNext, c.state.Records)}
	if err != nil {
		rec.Detail = k.String() + ": " + err.Error() + " (" + rec.Detail + ")"
	}
	return rec
}

// run is one attempt: fence older producers, resume from the last
// checkpoint, copy to the end (once) or until ctx ends (continuous).
func (c *copier) run(ctx context.Context) error {
	lease := c.t.Lease.LeaseID
	adm, err := c.dst.admin(ctx)
	if err != nil {
		return err
	}
	nck, err := checkpointPartitionsOf(ctx, adm)
	adm.Close()
	if err != nil {
		return c.dst.wrap(err)
	}
	ckPart := checkpointPartition(c.key, nck)
	prod, err := c.dst.client(ctx, kgo.TransactionalID(c.txid), kgo.TransactionTimeout(time.Minute),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.MaxBufferedRecords(2*txnRecords))
	if err != nil {
		return err
	}
	defer prod.Close()
	// Fence: the producer ID's new epoch aborts whatever transaction an
	// earlier attempt left open, and refuses its later writes.
	if _, _, err := prod.ProducerID(ctx); err != nil {
		return c.classify(fmt.Errorf("init producer %s: %w", c.txid, err))
	}
	from := int64(0)
	saved, hasCursor := decodeCursor(c.t.Cursor)
	if hasCursor {
		from = saved.Checkpoint
		if c.prog.Saved == 0 {
			c.prog = saved.StreamProgress
		}
	}
	if c.state.Seq > 0 && c.state.Offset > from {
		from = c.state.Offset
	}
	ck, err := lastCheckpoint(ctx, c.dst, nck, c.t.Lease.Job, c.u.Topic, c.u.Partition, from)
	if err != nil {
		return err
	}
	switch {
	case ck != nil && ck.Lease > lease:
		return fmt.Errorf("%w (lease %d, this one %d)", errNewerLease, ck.Lease, lease)
	case ck == nil && hasCursor && saved.Seq > 0:
		return fmt.Errorf("checkpoint %d of %s is missing from %s on the destination", saved.Seq, c.u.Key(), CheckpointTopic)
	case ck != nil:
		c.state = *ck
		c.state.Ranges = nil
		if !hasCursor || saved.Seq < ck.Seq {
			// The transaction committed just before a crash: the master
			// learns it now.
			c.prog.Done = max(c.prog.Done, ck.SrcNext)
			if err := c.t.SaveCursor(ctx, c.cursor().encode()); err != nil {
				return err
			}
		}
	default:
		c.state = Checkpoint{SrcNext: c.u.Start, Offset: 0}
	}
	pos := c.state.SrcNext
	end := c.u.End
	if end >= 0 && pos >= end {
		return nil
	}
	cons, err := c.src.client(ctx,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{c.u.Topic: {c.u.Partition: kgo.NewOffset().At(pos)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(64<<20), kgo.FetchMaxPartitionBytes(16<<20))
	if err != nil {
		return fmt.Errorf("%w: %w", errRead, err)
	}
	defer cons.Close()

	// The open transaction: its records' source offsets and the records
	// as produced (their destination offsets set by the produce).
	// srcEnd is the source's end as last seen: the planned end (once),
	// else the last stable offset that fetches and idle looks report.
	srcEnd := end
	if end < 0 {
		srcEnd = c.prog.End
	}
	var lastLook time.Time
	var (
		srcOffs   []int64
		outs      []*kgo.Record
		openBytes int64
		began     time.Time
		prodErr   error
		errCh     = make(chan error, 1)
		idle      time.Duration
		lastTime  int64
	)
	// note brings the copier's progress up to now.
	note := func(now time.Time) {
		done := pos
		if len(outs) > 0 {
			done = c.state.SrcNext
		}
		c.prog.Done, c.prog.End = done, max(srcEnd, done)
		if done >= c.prog.End {
			c.prog.CaughtUp = now.UnixMilli()
		}
		c.prog.Saved = now.UnixMilli()
	}
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			select {
			case errCh <- err:
			default:
			}
		}
	}
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		prod.AbortBufferedRecords(actx)
		prod.EndTransaction(actx, kgo.TryAbort)
	}
	commit := func() error {
		if len(outs) == 0 {
			return nil
		}
		if err := prod.Flush(ctx); err != nil {
			return err
		}
		select {
		case prodErr = <-errCh:
		default:
		}
		if prodErr != nil {
			return c.classify(fmt.Errorf("produce to %s: %w", c.u.Key(), prodErr))
		}
		next := c.state
		next.Lease, next.Seq = lease, c.state.Seq+1
		next.SrcNext = pos
		next.DestNext = outs[len(outs)-1].Offset + 1
		next.Records += int64(len(outs))
		next.Bytes += openBytes
		next.Ranges = next.Ranges[:0]
		for i, o := range outs {
			next.Ranges = appendRanges(next.Ranges, []Range{{Src: srcOffs[i], Dest: o.Offset, N: 1}})
		}
		ckRec := &kgo.Record{Topic: CheckpointTopic, Partition: ckPart, Key: []byte(c.key), Value: next.encode()}
		if err := prod.ProduceSync(ctx, ckRec).FirstErr(); err != nil {
			return c.classify(fmt.Errorf("write checkpoint: %w", err))
		}
		if err := prod.EndTransaction(ctx, kgo.TryCommit); err != nil {
			return c.classify(fmt.Errorf("commit transaction: %w", err))
		}
		next.Offset = ckRec.Offset
		if c.first < 0 {
			c.first = srcOffs[0]
		}
		c.records += int64(len(outs))
		c.bytes += openBytes
		c.t.Progress(int64(len(outs)), openBytes)
		c.state = next
		c.state.Ranges = nil
		srcOffs, outs, openBytes = srcOffs[:0], outs[:0], 0
		c.prog.LastTime = lastTime
		note(time.Now())
		if err := c.t.SaveCursor(ctx, c.cursor().encode()); err != nil {
			return err
		}
		c.saved = c.prog
		return nil
	}
	for {
		if end >= 0 && pos >= end {
			if err := commit(); err != nil {
				abort()
				return err
			}
			return nil
		}
		pctx, cancel := context.WithTimeout(ctx, idlePoll)
		fs := cons.PollRecords(pctx, txnRecords)
		cancel()
		if ctx.Err() != nil {
			abort()
			return ctx.Err()
		}
		if err := fetchErr(fs); err != nil {
			abort()
			return fmt.Errorf("%w: %w", errRead, c.src.wrap(err))
		}
		if end < 0 {
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				if p.Partition == c.u.Partition {
					srcEnd = max(srcEnd, p.LastStableOffset)
				}
			})
		}
		// Each record is throttled before it is produced, and the open
		// transaction commits as soon as it is full or old, whatever the
		// size of the poll: a slow limit never holds a transaction open
		// past its timeout.
		polled := 0
		for iter := fs.RecordIter(); !iter.Done(); {
			r := iter.Next()
			if r.Partition != c.u.Partition || r.Offset < pos {
				continue
			}
			if end >= 0 && r.Offset >= end {
				pos = end
				break
			}
			if r.Attrs.IsControl() {
				pos = r.Offset + 1
				continue
			}
			n := len(r.Key) + len(r.Value)
			if err := c.t.Throttle(ctx, n); err != nil {
				abort()
				return err
			}
			pos = r.Offset + 1
			if len(outs) == 0 {
				if err := prod.BeginTransaction(); err != nil {
					abort()
					return c.classify(fmt.Errorf("begin transaction: %w", err))
				}
				began = time.Now()
			}
			out := &kgo.Record{Topic: c.u.Topic, Partition: c.u.Partition, Key: r.Key, Value: r.Value,
				Headers: r.Headers, Timestamp: r.Timestamp}
			srcOffs = append(srcOffs, r.Offset)
			outs = append(outs, out)
			openBytes += int64(n)
			polled++
			lastTime = r.Timestamp.UnixMilli()
			prod.Produce(ctx, out, promise)
			if len(outs) >= txnRecords || openBytes >= txnBytes || time.Since(began) >= txnAge {
				if err := commit(); err != nil {
					abort()
					return err
				}
			}
		}
		if polled == 0 {
			idle += idlePoll
		} else {
			idle = 0
		}
		if len(outs) > 0 && (polled == 0 || time.Since(began) >= txnAge) {
			if err := commit(); err != nil {
				abort()
				return err
			}
		}
		if end < 0 && polled == 0 && len(outs) == 0 && time.Since(lastLook) >= progressEvery {
			// Idle: how far is the source's end?
			lastLook = time.Now()
			if lso, err := c.sourceEnd(ctx, cons); err == nil {
				srcEnd = max(srcEnd, lso)
			}
		}
		if now := time.Now(); now.Sub(time.UnixMilli(c.saved.Saved)) >= progressEvery {
			// The master hears of the lag when it changed, also while a
			// transaction is open (a slow limit), at most this often.
			note(now)
			if c.prog.Done != c.saved.Done || c.prog.End != c.saved.End {
				err := c.t.SaveCursor(ctx, c.cursor().encode())
				switch {
				case errors.Is(err, worker.ErrStale):
					abort()
					return err
				case err != nil:
					c.t.Log.Warn("save the partition's progress", "unit", c.u.Key(), "err", err)
					c.saved.Saved = c.prog.Saved // again in a while
				default:
					c.saved = c.prog
				}
			}
		}
		if end >= 0 && polled == 0 && idle >= endIdle {
			// Nothing readable is left below the end: what remains of
			// the range is empty batches of a compacted log.
			c.t.Log.Info("no record left below the end", "unit", c.u.Key(), "position", pos, "end", end)
			pos = end
		}
	}
}

// classify maps the producer errors that mean another producer took the
// transactional ID over to errFenced.
func (c *copier) classify(err error) error {
	if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) {
		return fmt.Errorf("%w: %w", errFenced, err)
	}
	return c.dst.wrap(err)
}

// sourceEnd asks the source for the partition's last stable offset.
func (c *copier) sourceEnd(ctx context.Context, cl *kgo.Client) (int64, error) {
	lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(lctx, c.u.Topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, err
	}
	o, ok := ends.Lookup(c.u.Topic, c.u.Partition)
	if !ok {
		return 0, fmt.Errorf("%s: no end offset", c.u.Key())
	}
	return o.Offset, nil
}
