package master

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"ferry/state"
	"ferry/tracker"
)

// FailedEntry is one entry of a job that failed its latest attempt, with
// the reason its audit line gives.
type FailedEntry struct {
	Task   uint64
	Key    string
	Detail string // "CODE: cause"
}

// FailedEntries returns up to max entries of the job's failed tasks, read
// from the audit logs of their latest attempts, and how many entries are
// failed in all.
func (m *Master) FailedEntries(job string, max int) ([]FailedEntry, int64, error) {
	var out []FailedEntry
	var total int64
	jobDir := filepath.Join(m.cfg.Dir, "jobs", job)
	err := m.db.Tasks(job, state.Failed, func(t *state.Task) error {
		total += int64(len(t.Failed))
		if len(out) >= max || t.AttemptDir == "" || !filepath.IsLocal(t.AttemptDir) {
			return nil
		}
		f, err := os.Open(filepath.Join(jobDir, t.AttemptDir, "audit.log"))
		if errors.Is(err, fs.ErrNotExist) {
			return nil // not published yet, or cleaned
		}
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() && len(out) < max {
			r, err := tracker.ParseLine(sc.Text())
			if err != nil || r.Result != tracker.Fail {
				continue
			}
			out = append(out, FailedEntry{Task: t.ID, Key: r.Key, Detail: r.Detail})
		}
		return sc.Err()
	})
	return out, total, err
}
