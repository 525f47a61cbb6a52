package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/task"
)

// A database that is missing or empty while jobs' audit directories remain
// is refused, naming the jobs; with no audit directories it is a new one.
func TestCheckNotLost(t *testing.T) {
	for _, tc := range []struct {
		name  string
		db    string // "": missing
		audit bool   // a job has a succeed_tasks directory
		lost  bool
	}{
		{"new workdir", "", false, false},
		{"missing, audits", "", true, true},
		{"empty, audits", "empty", true, true},
		{"empty, no audits", "empty", false, false},
		{"present, audits", "full", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, jobs := filepath.Join(dir, "ferry.db"), filepath.Join(dir, "jobs")
			switch tc.db {
			case "empty":
				os.WriteFile(path, nil, 0o600)
			case "full":
				d, err := OpenDB(path, time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				d.Close()
			}
			os.MkdirAll(filepath.Join(jobs, "other"), 0o755) // a job dir without audits
			if tc.audit {
				os.MkdirAll(filepath.Join(jobs, "j1", "succeed_tasks", "1_1@w"), 0o755)
			}
			err := CheckNotLost(path, jobs)
			if got := errors.Is(err, ErrLost); got != tc.lost {
				t.Fatalf("lost %v (%v), want %v", got, err, tc.lost)
			}
			if tc.lost && (!strings.Contains(err.Error(), "(j1)") || strings.Contains(err.Error(), "other")) {
				t.Errorf("the message does not name exactly the job with audits: %v", err)
			}
		})
	}
}

// A damaged database file gives ErrCorrupt at open, not a panic.
func TestOpenDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	d, err := OpenDB(path, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		if err := d.CreateJob(task.Spec{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 8192)
	for i := range junk {
		junk[i] = byte(i*7 + 3)
	}
	if _, err := f.WriteAt(junk, 8192); err != nil { // pages 2 and 3: past the meta pages
		t.Fatal(err)
	}
	f.Close()
	d, err = OpenDB(path, time.Minute)
	if err == nil {
		_, err = d.Jobs()
		d.Close()
	}
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("open of a damaged file: %v; want ErrCorrupt naming %s", err, path)
	}
}
