package master

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

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
	// named after ("" from the first). With marks (an incremental round
	// after the first; table name to a high-water mark of TableMarks),
	// each chunk's detail tells its worker to copy only the rows changed
	// since its table's mark (less the job's margin): "since <value>".
	PlanTables(ctx context.Context, spec task.Spec, after string, marks map[string]string, add func(chunk, detail string) error) error
	// TableMarks returns the high-water mark of updatedColumn in each of
	// the job's tables now.
	TableMarks(ctx context.Context, spec task.Spec) (map[string]string, error)
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
	var marks map[string]string
	if spec.Incremental && spec.Table.UpdatedColumn != "" {
		if marks, err = m.roundMarks(ctx, spec, job.Submitted, round); err != nil {
			return err
		}
	}
	err = m.cfg.Tables.PlanTables(ctx, spec, job.ScanAfter, marks, func(chunk, detail string) error {
		if err := m.db.AddScanned(spec.Name, round, []store.Entry{{Key: chunk, Detail: detail}}, state.ScanCounts{}, false); err != nil {
			return err
		}
		chunks++
		m.notify()
		return nil
	})
	if err != nil {
		return err
	}
	m.log.Info("tables planned", "job", spec.Name, "round", round, "chunks", chunks, "after", job.ScanAfter, "incremental", marks != nil)
	return m.db.AddScanned(spec.Name, round, nil, state.ScanCounts{}, true)
}

// tableMarks is what an incremental table job keeps between rounds, in
// jobs/<job>/table-marks.json: the high-water marks of updatedColumn
// sampled at the start of each round (before any of its chunks reads a
// row), and the marks the current round reads from.
//
// A round reads the rows at or after the marks of the latest sample taken
// at least updatedMargin before it starts (and, for a timestamp, a margin
// earlier still: Since): a row committed after a sample by a transaction
// that began before it, or stamped by a writer whose clock lags, carries a
// value below that sample's mark, but not below one taken a margin before.
// Without such a sample (the first rounds within the margin) a round
// copies every row. A chunk that fails keeps its bounds in its task, and
// retry runs it as planned.
type tableMarks struct {
	Submitted time.Time         // the job's: a file of an earlier job of the name is not its
	Round     int               // the round Since is for
	Since     map[string]string `json:",omitempty"` // nil: every row
	Samples   []markSample
}

type markSample struct {
	Round int
	Time  time.Time
	Marks map[string]string
}

const tableMarksFile = "table-marks.json"

// roundMarks returns the marks round reads from (nil: every row),
// sampling the source's marks at the start of a round and keeping them
// (a master restarted during the round's planning finds them). The
// first round copies every row.
func (m *Master) roundMarks(ctx context.Context, spec task.Spec, submitted time.Time, round int) (map[string]string, error) {
	path := filepath.Join(m.cfg.Dir, "jobs", spec.Name, tableMarksFile)
	var tm tableMarks
	switch b, err := os.ReadFile(path); {
	case err == nil:
		if err := json.Unmarshal(b, &tm); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if !tm.Submitted.Equal(submitted) {
		tm = tableMarks{Submitted: submitted}
	}
	if tm.Round == round && len(tm.Samples) > 0 {
		return tm.Since, nil
	}
	now := time.Now()
	tm.Round, tm.Since = round, nil
	if round > 1 {
		keep := 0
		for i, s := range tm.Samples {
			if !s.Time.After(now.Add(-spec.Table.UpdatedMargin)) {
				tm.Since, keep = s.Marks, i
			}
		}
		tm.Samples = tm.Samples[keep:]
	}
	marks, err := m.cfg.Tables.TableMarks(ctx, spec)
	if err != nil {
		return nil, err
	}
	tm.Samples = append(tm.Samples, markSample{Round: round, Time: now, Marks: marks})
	b, err := json.MarshalIndent(tm, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeDurable(path, b); err != nil {
		return nil, err
	}
	if round == 1 || tm.Since == nil {
		return nil, nil
	}
	return tm.Since, nil
}

// writeDurable writes path through a synced temporary file renamed over
// it, and syncs the directory.
func writeDurable(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
