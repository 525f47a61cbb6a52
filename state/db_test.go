package state

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"ferry/task"

	bolt "go.etcd.io/bbolt"

	"ferry/store"
)

// The scan checkpoint, the paths and the error keep their bytes exactly,
// and a record written before the Raw fields existed still reads back.
func TestScanCheckpointBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ferry.db")
	d, err := OpenDB(path, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"new", "legacy"} {
		if err := d.CreateJob(task.Spec{Name: name, Src: task.Endpoint{Prefix: "/src/\xff" + name}, Dest: task.Endpoint{Prefix: "/dst/\xfe"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.AddTask("new", []store.Entry{{Key: "k\x80\xff"}}, false); err != nil {
		t.Fatal(err)
	}
	if err := d.FailJob("new", errors.New("list /src/\xffnew: boom")); err != nil {
		t.Fatal(err)
	}
	legacy := `{"Spec":{"Name":"legacy"},"State":"Scanning","Submitted":"2025-01-01T00:00:00Z","ScanAfter":"dir/é"}`
	err = d.bolt.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktJobs).Bucket([]byte("legacy")).Bucket(bktMeta)
		if err := errors.Join(meta.Delete(keySpec), meta.Delete(keyState)); err != nil {
			return err
		}
		return meta.Put(keyJob, []byte(legacy))
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if d, err = OpenDB(path, time.Minute); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	j, err := d.Job("new")
	if err != nil || j.ScanAfter != "k\x80\xff" || j.Spec.Src.Prefix != "/src/\xffnew" || j.Spec.Dest.Prefix != "/dst/\xfe" ||
		j.Error != "list /src/\xffnew: boom" || j.State != StateFailed {
		t.Errorf("job new: %+v, %v", j, err)
	}
	if j, err := d.Job("legacy"); err != nil || j.ScanAfter != "dir/é" || j.State != StateScanning {
		t.Errorf("legacy job: %+v, %v; want ScanAfter %q", j, err, "dir/é")
	}
}

// Every commit reaches the disk before it returns: the database is what
// makes an accepted completion durable.
func TestCommitsAreSynced(t *testing.T) {
	d, err := OpenDB(filepath.Join(t.TempDir(), "ferry.db"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.bolt.NoSync {
		t.Fatal("the master's commits are not synced")
	}
}
