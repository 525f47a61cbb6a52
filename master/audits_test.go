package master

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/state"
	"ferry/task"

	"ferry/store"
	"ferry/tracker"
)

// readTree reads every file below dir: relative path -> content.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.WalkDir(dir, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// Once Complete has returned, the attempt survives the loss of everything
// that was not in its commit: the database file as committed is enough to
// publish its audit directory again, byte for byte, whatever a power loss
// did to the files (nothing of them is fsynced before the reply).
func TestCompleteHoldsAuditDirectory(t *testing.T) {
	for _, crash := range []struct {
		name   string
		damage func(t *testing.T, jobDir, final string)
	}{
		{"no file reached the disk", func(t *testing.T, jobDir, _ string) {
			if err := os.RemoveAll(jobDir); err != nil {
				t.Fatal(err)
			}
		}},
		{"some writes lost", func(t *testing.T, jobDir, final string) {
			if err := os.Truncate(filepath.Join(jobDir, final, "audit.log"), 10); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(jobDir, final, "STATUS")); err != nil {
				t.Fatal(err)
			}
		}},
		{"rename lost", func(t *testing.T, jobDir, final string) {
			inflight := filepath.Join(jobDir, ".inflight")
			if err := os.MkdirAll(inflight, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(jobDir, final), filepath.Join(inflight, "1_1")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(crash.name, func(t *testing.T) {
			dir, crashed := t.TempDir(), t.TempDir()
			m, err := Open(Config{Dir: dir, LeaseDur: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.db.CreateJob(task.Spec{Name: "j"}); err != nil {
				t.Fatal(err)
			}
			keys := []string{"a", "b\xff\tc"}
			if err := m.db.AddTask("j", []store.Entry{{Key: keys[0], Size: 1}, {Key: keys[1], Size: 2}}, true); err != nil {
				t.Fatal(err)
			}
			ls, err := m.db.LeaseTasks("w1", 1, "")
			if err != nil || len(ls) != 1 {
				t.Fatalf("lease: %v, %v", ls, err)
			}
			ref := task.LeaseRef{Job: "j", TaskID: ls[0].TaskID, LeaseID: ls[0].LeaseID}
			at := time.Unix(1_700_000_000, 0).UTC()
			recs := []tracker.Record{{Time: at, Size: 1, Key: keys[0]}, {Time: at, Result: tracker.Fail, Key: keys[1], Detail: "READ_ERROR: x"}}
			if err := m.tr.Append("j", ref.TaskID, ref.LeaseID, recs); err != nil {
				t.Fatal(err)
			}
			final, err := m.Complete(context.Background(), "w1", ref, []task.Outcome{{Index: 1, Kind: task.ReadError, Detail: "READ_ERROR: x"}}, at)
			if err != nil {
				t.Fatal(err)
			}
			jobDir := filepath.Join(dir, "jobs", "j")
			published := readTree(t, filepath.Join(jobDir, final))
			if !strings.Contains(published["audit.log"], tracker.Escape(keys[1])) || published["STATUS"] != "Failed\n" {
				t.Fatalf("published %q", published)
			}

			// The power goes: the disk holds the database as committed
			// and, of the files, what crash.damage leaves.
			if err := m.db.Snapshot(filepath.Join(crashed, "ferry.db")); err != nil {
				t.Fatal(err)
			}
			if err := os.CopyFS(filepath.Join(crashed, "jobs"), os.DirFS(filepath.Join(dir, "jobs"))); err != nil {
				t.Fatal(err)
			}
			crash.damage(t, filepath.Join(crashed, "jobs", "j"), final)
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}

			for i := 0; i < 2; i++ {
				m, err := Open(Config{Dir: crashed, LeaseDur: time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				got := readTree(t, filepath.Join(crashed, "jobs", "j"))
				want := make(map[string]string)
				for k, v := range published {
					want[filepath.Join(final, k)] = v
				}
				if len(got) != len(want) {
					t.Errorf("restart %d: files %q, want %q", i, slices.Sorted(maps.Keys(got)), want)
				}
				for k, v := range want {
					if got[k] != v {
						t.Errorf("restart %d: %s = %q, want %q", i, k, got[k], v)
					}
				}
				held, err := heldDirs(m.db, "j")
				if err != nil || len(held) != 0 {
					t.Errorf("restart %d: %d audit directories still held, %v", i, len(held), err)
				}
				j, err := m.db.Job("j")
				if err != nil || j.State != state.StateFailed || j.Counters.FilesDone != 1 || j.Counters.FilesFailed != 1 {
					t.Errorf("restart %d: job %+v, %v", i, j, err)
				}
				if err := m.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// The database holds an accepted attempt's audit directory until the
// tracker has made the published directory durable, then drops it.
func TestFlushDropsHeldAudits(t *testing.T) {
	m, err := Open(Config{Dir: t.TempDir(), LeaseDur: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.db.CreateJob(task.Spec{Name: "j"}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := m.db.AddTask("j", []store.Entry{{Key: string(rune('a' + i))}}, i == 2); err != nil {
			t.Fatal(err)
		}
	}
	ls, err := m.db.LeaseTasks("w", 3, "")
	if err != nil || len(ls) != 3 {
		t.Fatalf("lease: %v, %v", ls, err)
	}
	for i, l := range ls {
		ref := task.LeaseRef{Job: l.Job, TaskID: l.TaskID, LeaseID: l.LeaseID}
		if _, err := m.Complete(context.Background(), "w", ref, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		if held, err := heldDirs(m.db, "j"); err != nil || len(held) != i+1 {
			t.Fatalf("after %d completions: %d held, %v", i+1, len(held), err)
		}
	}
	if err := m.journal.Flush(); err != nil {
		t.Fatal(err)
	}
	if held, err := heldDirs(m.db, "j"); err != nil || len(held) != 0 {
		t.Fatalf("after flush: %d held, %v", len(held), err)
	}
}

// heldDirs returns the audit directories db holds for job.
func heldDirs(db *state.DB, job string) ([][]byte, error) {
	var out [][]byte
	err := db.EachHeldDir(job, func(_ task.LeaseRef, dir []byte) error {
		out = append(out, dir)
		return nil
	})
	return out, err
}
