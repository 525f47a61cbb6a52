package state

import (
	"bytes"

	bolt "go.etcd.io/bbolt"

	"ferry/store"
)

// StreamUnit is one task of a stream job as stat sees it: the unit its
// manifest holds, the state it is in, and the cursor its worker saved
// with it (nil before the first; dropped when it completes).
type StreamUnit struct {
	Entry  store.Entry
	State  TaskState
	Cursor []byte
}

// StreamUnits calls fn for every task of a stream job that is not done
// (a succeeded task's manifest is gone).
func (d *DB) StreamUnits(name string, fn func(StreamUnit)) error {
	return d.view(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, name)
		if err != nil {
			return err
		}
		ups, err := jt.uploads(false)
		if err != nil {
			return err
		}
		for _, s := range []TaskState{Pending, Dispatched, Failed} {
			c := jt.bucket(s).Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				id := be64(k)
				es, err := jt.manifest(id)
				if err != nil {
					return err
				}
				for _, e := range es {
					u := StreamUnit{Entry: e, State: s}
					if ups != nil {
						u.Cursor = bytes.Clone(ups.Get(uploadKey(id, e.Key)))
					}
					fn(u)
				}
			}
		}
		return nil
	})
}

// PlanRunning marks a job that is Scanning as Running while its scan goes
// on: a stream job whose partitions are planned and copying, whose
// consumer groups are added when they are copied. ScanFinished stays
// false until then.
func (d *DB) PlanRunning(name string) error {
	return d.update(name, func(jt *jobTx) error {
		if jt.job.State == StateScanning {
			jt.job.State = StateRunning
		}
		return nil
	})
}
