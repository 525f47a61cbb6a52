package tracker

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// Sync is the step that makes published directories durable: it hands
// them back (for the master to drop its copies) only after a syncfs of
// their file system succeeded, and on failure hands them back with the
// error, to be written again.
func TestSyncIsTheDurableStep(t *testing.T) {
	tr := newTracker(t)
	var synced []int
	failing := errors.New("EIO")
	var fail error
	tr.syncfs = func(fd int) error {
		synced = append(synced, fd)
		return fail
	}
	if refs, err := tr.Sync(); refs != nil || err != nil || len(synced) != 0 {
		t.Fatalf("Sync of nothing: %v, %v, %d syncfs", refs, err, len(synced))
	}
	var dirs []Dir
	var want []AttemptRef
	for i, job := range []string{"j1", "j2"} {
		lease := uint64(10 + i)
		if err := tr.Append(job, 1, lease, []Record{{Key: "k"}}); err != nil {
			t.Fatal(err)
		}
		d, err := tr.Prepare(Attempt{Job: job, Task: 1, Lease: lease, Worker: "w", Files: 1, Started: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Seal(job, 1, lease, d.Name); err != nil {
			t.Fatal(err)
		}
		dirs, want = append(dirs, d), append(want, AttemptRef{job, 1, lease})
	}

	fail = failing
	refs, err := tr.Sync()
	if !errors.Is(err, failing) || !slices.Equal(refs, want) || len(synced) != 1 {
		t.Fatalf("failing Sync: %v, %v after %d syncfs; want %v and the error after 1", refs, err, len(synced), want)
	}
	if refs, err := tr.Sync(); refs != nil || err != nil {
		t.Fatalf("Sync after a failure: %v, %v; the caller restores them", refs, err)
	}
	for i, r := range want {
		if err := tr.Restore(r.Job, r.Task, r.Lease, dirs[i]); err != nil {
			t.Fatal(err)
		}
	}
	fail, synced = nil, nil
	refs, err = tr.Sync()
	if err != nil || !slices.Equal(refs, want) || len(synced) != 1 {
		t.Fatalf("Sync: %v, %v after %d syncfs; want %v after 1 (both jobs on one file system)", refs, err, len(synced), want)
	}

	// The real syncfs, and a job cleaned before its directories are synced.
	tr.syncfs = syncfs
	if err := tr.Seal("j1", 2, 20, filepath.Join("succeed_tasks", "x")); err == nil {
		t.Fatal("Seal of a lease with nothing in flight succeeded")
	}
	if err := tr.Restore("j1", 2, 20, dirs[0]); err != nil {
		t.Fatal(err)
	}
	if err := tr.RemoveJob("j2"); err != nil {
		t.Fatal(err)
	}
	if err := tr.Restore("j2", 2, 21, dirs[1]); err != nil {
		t.Fatal(err)
	}
	if err := tr.RemoveJob("j2"); err != nil {
		t.Fatal(err)
	}
	if refs, err := tr.Sync(); err != nil || len(refs) != 2 {
		t.Fatalf("real Sync: %v, %v", refs, err)
	}
}
