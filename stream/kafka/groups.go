package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"ferry/task"
	"ferry/tracker"
	"ferry/worker"
)

// retranslateEvery is how often a continuous job translates a group again.
const retranslateEvery = 5 * time.Second

// ErrGroupActive says a group has members on the destination: its
// offsets are not moved while it does.
var ErrGroupActive = errors.New("has active members on the destination; its offsets were not moved")

// translateGroup commits, on the destination, each offset the group has
// committed on the source for a partition the job copies, translated to
// the destination offset of the same record (Mapping.Translate). A group
// with active members on the destination is left alone and reported. A
// continuous job translates again every few seconds until stopped.
func (r Runner) translateGroup(ctx context.Context, t worker.StreamTask) (tracker.Record, bool) {
	g := t.Unit.Group
	rec := func(res tracker.Result, k task.Kind, detail string) tracker.Record {
		return tracker.Record{Time: time.Now(), Result: res, Kind: k, Key: t.Unit.Key(), Detail: detail}
	}
	mr := &mapReader{job: t.Lease.Spec.Name}
	for {
		n, err := translate(ctx, t.Lease.Spec, g, t.Lease.Spec.Stream.Continuous, mr)
		switch {
		case ctx.Err() != nil:
			return tracker.Record{}, false
		case errors.Is(err, ErrGroupActive):
			if !t.Lease.Spec.Stream.Continuous {
				return rec(tracker.Skip, task.Skipped, err.Error()), true
			}
			t.Log.Info("group not translated", "group", g, "why", err)
		case err != nil:
			if !t.Lease.Spec.Stream.Continuous {
				return rec(tracker.Fail, task.WriteError, task.WriteError.String()+": "+err.Error()), true
			}
			t.Log.Warn("group translation failed", "group", g, "err", err)
		case !t.Lease.Spec.Stream.Continuous:
			return rec(tracker.OK, task.OK, fmt.Sprintf("%d partition offsets translated", n)), true
		}
		// A continuous job's group task keeps its lease: the cursor save
		// doubles as the check that it still holds it.
		if err := t.SaveCursor(ctx, []byte(strconv.FormatInt(time.Now().UnixMilli(), 10))); errors.Is(err, worker.ErrStale) {
			return tracker.Record{}, false
		}
		select {
		case <-ctx.Done():
			return tracker.Record{}, false
		case <-time.After(retranslateEvery):
		}
	}
}

// Translate translates group g's committed source offsets for the
// partitions the job copied and commits them on the destination, unless
// the group has members there (ErrGroupActive). continuous leaves out a
// partition whose committed offset is past what is copied yet (it is
// translated in a later round); once translates it to the end of the copy.
// It returns how many partition offsets it committed.
func Translate(ctx context.Context, spec task.Spec, g string, continuous bool) (int, error) {
	return translate(ctx, spec, g, continuous, &mapReader{job: spec.Name})
}

// translate is Translate with the job's mappings read by mr: a continuous
// job's group task reads only the checkpoints written since its last
// round.
func translate(ctx context.Context, spec task.Spec, g string, continuous bool, mr *mapReader) (int, error) {
	src, dst := sidesOf(spec)
	sadm, err := src.admin(ctx)
	if err != nil {
		return 0, err
	}
	defer sadm.Close()
	dadm, err := dst.admin(ctx)
	if err != nil {
		return 0, err
	}
	defer dadm.Close()
	if err := checkIdle(ctx, dadm, g); err != nil {
		return 0, err
	}
	offs, err := sadm.FetchOffsets(ctx, g)
	if err == nil {
		err = offs.Error()
	}
	if err != nil {
		return 0, src.wrap(fmt.Errorf("group %q: fetch offsets: %w", g, err))
	}
	maps, err := mr.read(ctx, dst)
	if err != nil {
		return 0, err
	}
	out := kadm.Offsets{}
	n := 0
	for topic, ps := range offs {
		for p, o := range ps {
			m := maps[topic+"/"+strconv.Itoa(int(p))]
			if m == nil || o.At < 0 {
				continue
			}
			d, covered := m.Translate(o.At)
			if !covered && continuous {
				continue
			}
			out.Add(kadm.Offset{Topic: topic, Partition: p, At: d, LeaderEpoch: -1, Metadata: o.Metadata})
			n++
		}
	}
	if n == 0 {
		return 0, nil
	}
	resp, err := dadm.CommitOffsets(ctx, g, out)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		// A member that joined since the check makes the broker refuse
		// a commit from outside the group.
		if again := checkIdle(ctx, dadm, g); again != nil {
			return 0, again
		}
		return 0, dst.wrap(fmt.Errorf("group %q: commit offsets: %w", g, err))
	}
	return n, nil
}

// checkIdle returns ErrGroupActive when group g has members on the
// destination.
func checkIdle(ctx context.Context, dadm *kadm.Client, g string) error {
	ds, err := dadm.DescribeGroups(ctx, g)
	if err != nil {
		return fmt.Errorf("destination: describe group %q: %w", g, err)
	}
	d, ok := ds[g]
	if !ok || len(d.Members) == 0 {
		return nil
	}
	var ids []string
	for _, m := range d.Members {
		ids = append(ids, m.ClientID+"@"+m.ClientHost)
	}
	sort.Strings(ids)
	return fmt.Errorf("group %q %w (%d members, state %s: %s)", g, ErrGroupActive, len(d.Members), d.State, strings.Join(ids, ", "))
}
