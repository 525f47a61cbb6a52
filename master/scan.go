package master

import (
	"context"
	"fmt"

	"ferry/store"
)

// scan lists a job's source in key order from its checkpoint and closes a
// task whenever it reaches the job's count or size limit. Each task is
// stored with the scan position after it in one transaction, so a master
// killed at any moment resumes exactly where the last stored task ended:
// no entry is lost or put in two tasks. Memory is bounded by one task.
func (m *Master) scan(ctx context.Context, spec Spec) error {
	job, err := m.db.Job(spec.Name)
	if err != nil {
		return err
	}
	src, err := m.cfg.OpenSource(spec)
	if err != nil {
		return fmt.Errorf("open source %s: %w", spec.SrcPrefix, err)
	}
	countLimit, sizeLimit := spec.CountLimit, spec.SizeLimit
	if countLimit <= 0 {
		countLimit = 10000
	}
	if sizeLimit <= 0 {
		sizeLimit = 1 << 30
	}
	var batch []store.Entry
	var bytes int64
	flush := func(final bool) error {
		if err := m.db.AddTask(spec.Name, batch, final); err != nil {
			return err
		}
		if len(batch) > 0 {
			m.notify()
		}
		batch, bytes = batch[:0], 0
		return nil
	}
	m.log.Info("scan", "job", spec.Name, "after", job.ScanAfter)
	err = src.List(ctx, "", job.ScanAfter, func(e store.Entry) error {
		if e.Kind != store.File {
			e.Size = 0
		}
		batch = append(batch, e)
		bytes += e.Size
		if len(batch) >= countLimit || bytes >= sizeLimit {
			return flush(false)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("list source %s: %w", spec.SrcPrefix, err)
	}
	if err := flush(true); err != nil {
		return err
	}
	m.log.Info("scan finished", "job", spec.Name)
	return nil
}
