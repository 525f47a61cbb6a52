package master

import (
	"context"
	"errors"

	"ferry/state"
	"ferry/store"
	"ferry/task"
)

// TablePlanner plans table jobs (DESIGN.md §10): it prepares the
// destination (creating the tables it lacks, refusing tables ferry cannot
// move) and cuts the tables into chunks, primary-key ranges, in order.
// ferry/table implements it.
type TablePlanner interface {
	// PlanTables calls add with the name of each chunk after the chunk
	// named after ("" from the first).
	PlanTables(ctx context.Context, spec task.Spec, after string, add func(chunk string) error) error
}

// scanTables is the scan of a table job: one task per chunk, each stored
// with the scan position (the chunk's name) in one transaction, so a
// restarted master resumes planning after the last chunk it stored.
func (m *Master) scanTables(ctx context.Context, spec task.Spec) error {
	if m.cfg.Tables == nil {
		return errors.New("this master cannot plan table jobs (no table planner)")
	}
	job, err := m.db.Job(spec.Name)
	if err != nil {
		return err
	}
	round, chunks := job.Round, 0
	err = m.cfg.Tables.PlanTables(ctx, spec, job.ScanAfter, func(chunk string) error {
		if err := m.db.AddScanned(spec.Name, round, []store.Entry{{Key: chunk}}, state.ScanCounts{}, false); err != nil {
			return err
		}
		chunks++
		m.notify()
		return nil
	})
	if err != nil {
		return err
	}
	m.log.Info("tables planned", "job", spec.Name, "round", round, "chunks", chunks, "after", job.ScanAfter)
	return m.db.AddScanned(spec.Name, round, nil, state.ScanCounts{}, true)
}
