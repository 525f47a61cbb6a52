package master

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ferry/state"
	"ferry/store"
	"ferry/task"
)

// StreamPlanner plans a stream job (DESIGN.md §10): it prepares the
// destination and returns the job's units, one task each: the source
// partitions in key order, then the consumer groups to translate.
// stream/kafka implements it.
type StreamPlanner interface {
	PlanStream(ctx context.Context, spec task.Spec) (parts, groups []task.Unit, err error)
}

// groupWait is how often a once stream job's planner looks whether its
// partitions are copied, before it adds the groups' tasks.
const groupWait = 200 * time.Millisecond

// scanStream is the scan of a stream job: one task per source partition,
// each stored with the scan position after it (so a restarted master adds
// only the ones it had not), then the groups' tasks. A once job adds the
// groups only when every partition is copied, since a group is translated
// through the offset mapping of the whole copy; when a partition failed it
// adds none (retry copies it, and the scan resumes). A continuous job adds
// them at once: they translate again every round.
func (m *Master) scanStream(ctx context.Context, spec task.Spec) error {
	if m.cfg.Streams == nil {
		return errors.New("this master cannot plan stream jobs (no stream planner)")
	}
	job, err := m.db.Job(spec.Name)
	if err != nil {
		return err
	}
	round := job.Round
	parts, groups, err := m.cfg.Streams.PlanStream(ctx, spec)
	if err != nil {
		return err
	}
	add := func(u task.Unit) error {
		if u.Key() <= job.ScanAfter {
			return nil
		}
		if err := m.db.AddScanned(spec.Name, round, []store.Entry{u.Entry()}, state.ScanCounts{}, false); err != nil {
			return err
		}
		m.notify()
		return nil
	}
	for _, u := range parts {
		if err := add(u); err != nil {
			return err
		}
	}
	m.log.Info("stream planned", "job", spec.Name, "partitions", len(parts), "groups", len(groups))
	if !spec.Stream.Continuous && len(groups) > 0 {
		// The partitions copy meanwhile: the job runs, its scan not
		// finished until the groups are added.
		if err := m.db.PlanRunning(spec.Name); err != nil {
			return err
		}
		for {
			j, err := m.db.Job(spec.Name)
			if err != nil {
				return err
			}
			c := j.Counters.Tasks
			if c[state.Pending]+c[state.Dispatched] == 0 {
				if c[state.Failed] > 0 {
					return fmt.Errorf("%d partitions failed: consumer groups not translated (retry the job)", c[state.Failed])
				}
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(groupWait):
			}
		}
	}
	for _, u := range groups {
		if err := add(u); err != nil {
			return err
		}
	}
	return m.db.AddScanned(spec.Name, round, nil, state.ScanCounts{}, true)
}
