package kafka

import (
	"context"

	"ferry/task"
	"ferry/tracker"
	"ferry/worker"
)

// Runner plans stream jobs for the master and runs their tasks for the
// workers. It holds no state: each task opens its own clients.
type Runner struct{}

var _ worker.StreamRunner = Runner{}

// PlanStream finds what a job moves, prepares the destination (topics,
// CheckpointTopic) and returns its tasks' units: one per source partition,
// in key order, then one per consumer group.
func (Runner) PlanStream(ctx context.Context, spec task.Spec) (parts, groups []task.Unit, err error) {
	p, err := Discover(ctx, spec)
	if err != nil {
		return nil, nil, err
	}
	if err := Prepare(ctx, spec, p); err != nil {
		return nil, nil, err
	}
	parts, groups = p.Units(spec.Stream.Continuous)
	return parts, groups, nil
}

// RunStream runs one task: a partition's copy or a group's translation.
func (r Runner) RunStream(ctx context.Context, t worker.StreamTask) (tracker.Record, bool) {
	if t.Unit.IsGroup() {
		return r.translateGroup(ctx, t)
	}
	return r.copyPartition(ctx, t)
}
