package master_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"ferry/master"
	"ferry/store"
	"ferry/task"
	"ferry/tracker"
	"ferry/tracker/trackertest"
)

// These tests crash the master by hand between the steps of a completion
// (tracker.Prepare, DB.Complete, tracker.Seal) and check what Open makes
// of the audit directories left behind.

func openMaster(t *testing.T, dir string) *master.Master {
	t.Helper()
	m, err := master.Open(master.Config{Dir: dir, LeaseDur: time.Minute})
	if err != nil {
		t.Fatalf("open master: %v", err)
	}
	return m
}

// newJob makes job "j" with one task per key group, scan finished.
func newJob(t *testing.T, m *master.Master, groups ...[]string) {
	t.Helper()
	db := m.DB()
	if err := db.CreateJob(task.Spec{Name: "j"}); err != nil {
		t.Fatal(err)
	}
	for i, g := range groups {
		var es []store.Entry
		for _, k := range g {
			es = append(es, store.Entry{Key: k, Size: int64(len(k))})
		}
		if err := db.AddTask("j", es, i == len(groups)-1); err != nil {
			t.Fatal(err)
		}
	}
}

func leaseOne(t *testing.T, m *master.Master, worker string) task.LeaseRef {
	t.Helper()
	ls, err := m.DB().LeaseTasks(worker, 1, "")
	if err != nil || len(ls) != 1 {
		t.Fatalf("lease: %v, %v", ls, err)
	}
	return task.LeaseRef{Job: ls[0].Job, TaskID: ls[0].TaskID, LeaseID: ls[0].LeaseID}
}

func records(keys ...string) []tracker.Record {
	var out []tracker.Record
	for _, k := range keys {
		out = append(out, tracker.Record{Time: time.Unix(1_700_000_000, 0).UTC(), Size: int64(len(k)), Key: k})
	}
	return out
}

func inflightDir(dir string, r task.LeaseRef) string {
	return filepath.Join(dir, "jobs", r.Job, ".inflight", fmt.Sprintf("%d_%d", r.TaskID, r.LeaseID))
}

// published lists jobs/j/<parent>/*.
func published(t *testing.T, dir, parent string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(dir, "jobs", "j", parent))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, filepath.Join(parent, de.Name()))
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// A crash after the completion was committed and before its directory was
// published: the next Open publishes it, once.
func TestRecoverPublishesCommittedAttempt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		results []task.Outcome
		status  string
		parent  string
		failed  []string
	}{
		{"succeeded", nil, "Completed", "succeed_tasks", nil},
		{"failed", []task.Outcome{{Index: 1, Detail: "READ_ERROR: x"}}, "Failed", "failed_tasks", []string{"k\xff2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := openMaster(t, dir)
			newJob(t, m, []string{"k1", "k\xff2"})
			ref := leaseOne(t, m, "w1")
			recs := records("k1", "k\xff2")
			if err := m.Tracker().Append("j", ref.TaskID, ref.LeaseID, recs); err != nil {
				t.Fatal(err)
			}
			prepared, err := m.Tracker().Prepare(tracker.Attempt{Job: "j", Task: ref.TaskID, Lease: ref.LeaseID, Attempt: 1,
				Worker: "w1", Failed: tc.failed, Files: 2, Started: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			final := prepared.Name
			held, err := prepared.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if err := m.DB().Complete(ref, tc.results, final, held); err != nil {
				t.Fatal(err)
			}
			// Crash: no Seal.
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if !exists(inflightDir(dir, ref)) || exists(filepath.Join(dir, "jobs", "j", final)) {
				t.Fatal("test setup: the attempt should be in flight only")
			}

			for i := 0; i < 2; i++ { // a second restart changes nothing
				m = openMaster(t, dir)
				if got := published(t, dir, tc.parent); !slices.Equal(got, []string{final}) {
					t.Fatalf("restart %d: published %v, want [%s]", i, got, final)
				}
				if exists(inflightDir(dir, ref)) {
					t.Fatalf("restart %d: in-flight directory still there", i)
				}
				got := trackertest.CheckAttempt(t, filepath.Join(dir, "jobs", "j", final), tc.status, tc.failed)
				if !slices.EqualFunc(got, recs, func(a, b tracker.Record) bool { return a == b }) {
					t.Fatalf("restart %d: audit.log %v, want %v", i, got, recs)
				}
				if err := m.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// In-flight directories whose lease is gone are dropped at Open; the one
// of a lease still out is kept, and its records reach the attempt that
// completes it.
func TestRecoverDropsStaleInflight(t *testing.T) {
	dir := t.TempDir()
	m := openMaster(t, dir)
	newJob(t, m, []string{"a"}, []string{"b"}, []string{"c"})
	appended := leaseOne(t, m, "w1") // records reported, then lost
	prepared := leaseOne(t, m, "w1") // prepared, crashed before commit, then lost
	live := leaseOne(t, m, "w2")     // still out at restart
	tr := m.Tracker()
	for i, r := range []task.LeaseRef{appended, prepared, live} {
		if err := tr.Append("j", r.TaskID, r.LeaseID, records(string(rune('a'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tr.Prepare(tracker.Attempt{Job: "j", Task: prepared.TaskID, Lease: prepared.LeaseID, Worker: "w1", Files: 1}); err != nil {
		t.Fatal(err)
	}
	// w1's leases go back to pending without the master dropping their
	// records, as when it dies right after the transaction.
	if refs, err := m.DB().ReleaseWorker("w1"); err != nil || len(refs) != 2 {
		t.Fatalf("release: %v, %v", refs, err)
	}
	// The first of them is out again under a new lease.
	if again := leaseOne(t, m, "w3"); again.TaskID != appended.TaskID || again.LeaseID == appended.LeaseID {
		t.Fatalf("re-lease: %v, lost %v", again, appended)
	}
	junk := filepath.Join(dir, "jobs", "j", ".inflight", "junk")
	if err := os.MkdirAll(junk, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m = openMaster(t, dir)
	defer m.Close()
	for name, r := range map[string]task.LeaseRef{"appended": appended, "prepared": prepared} {
		if exists(inflightDir(dir, r)) {
			t.Errorf("in-flight directory of the lost %s lease survived Open", name)
		}
	}
	if exists(junk) {
		t.Error("a junk in-flight directory survived Open")
	}
	if !exists(inflightDir(dir, live)) {
		t.Fatal("the in-flight directory of a live lease was dropped")
	}
	if got := append(published(t, dir, "succeed_tasks"), published(t, dir, "failed_tasks")...); len(got) != 0 {
		t.Fatalf("uncommitted attempts were published: %v", got)
	}

	final, err := m.Complete(context.Background(), "w2", live, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := trackertest.CheckAttempt(t, filepath.Join(dir, "jobs", "j", final), "Completed", nil); len(got) != 1 || got[0].Key != "c" {
		t.Fatalf("audit.log of the live lease: %v", got)
	}
}

// Audit records that arrive for a lease after its completion was published
// (a Report that passed the lease check just before the Complete) must not
// leave an in-flight directory behind forever, nor change what was
// published.
func TestRecoverLateAppend(t *testing.T) {
	dir := t.TempDir()
	m := openMaster(t, dir)
	newJob(t, m, []string{"a"})
	ref := leaseOne(t, m, "w1")
	if err := m.Tracker().Append("j", ref.TaskID, ref.LeaseID, records("a")); err != nil {
		t.Fatal(err)
	}
	final, err := m.Complete(context.Background(), "w1", ref, nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Tracker().Append("j", ref.TaskID, ref.LeaseID, records("late")); err != nil {
		t.Fatal(err)
	}
	m.Close()

	m = openMaster(t, dir)
	defer m.Close()
	if exists(inflightDir(dir, ref)) {
		t.Error("in-flight directory of a published attempt survived Open")
	}
	if got := published(t, dir, "succeed_tasks"); !slices.Equal(got, []string{final}) {
		t.Fatalf("published %v, want [%s]", got, final)
	}
	if got := trackertest.CheckAttempt(t, filepath.Join(dir, "jobs", "j", final), "Completed", nil); len(got) != 1 || got[0].Key != "a" {
		t.Fatalf("published audit.log changed: %v", got)
	}
}
