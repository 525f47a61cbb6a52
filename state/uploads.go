package state

import (
	"bytes"
	"fmt"

	"ferry/task"

	bolt "go.etcd.io/bbolt"
)

// Multipart uploads in progress are kept with their task, in the job's
// uploads bucket under <task id><key>, so that a task re-leased after a
// crash resumes them and uploads only the missing parts. The state is the
// store's (opaque here). A completed task's uploads are finished and
// forgotten; those of a cleaned job are handed back to be aborted.

var bktUploads = []byte("uploads")

func uploadKey(id uint64, key string) []byte {
	return append(taskKey(id), key...)
}

func (jt *jobTx) uploads(create bool) (*bolt.Bucket, error) {
	if b := jt.b.Bucket(bktUploads); b != nil || !create {
		return b, nil
	}
	return jt.b.CreateBucket(bktUploads)
}

// taskUploads returns the saved uploads of a task.
func (jt *jobTx) taskUploads(id uint64) ([]task.UploadState, error) {
	b, err := jt.uploads(false)
	if b == nil || err != nil {
		return nil, err
	}
	var out []task.UploadState
	prefix := taskKey(id)
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		out = append(out, task.UploadState{Key: string(k[len(prefix):]), State: bytes.Clone(v), Task: id})
	}
	return out, nil
}

// dropUploads forgets a task's uploads.
func (jt *jobTx) dropUploads(id uint64) error {
	b, err := jt.uploads(false)
	if b == nil || err != nil {
		return err
	}
	prefix := taskKey(id)
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// SaveUpload records an entry's multipart progress under a current lease.
func (d *DB) SaveUpload(r task.LeaseRef, u task.UploadState) error {
	return d.updateTx(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, r.Job)
		if err != nil {
			return err
		}
		if _, err := current(jt, r); err != nil {
			return err
		}
		b, err := jt.uploads(true)
		if err != nil {
			return err
		}
		if len(u.State) == 0 {
			return b.Delete(uploadKey(r.TaskID, u.Key))
		}
		return b.Put(uploadKey(r.TaskID, u.Key), u.State)
	})
}

// JobUploads returns every saved upload of a job (to abort them when the
// job is cleaned).
func (d *DB) JobUploads(name string) ([]task.UploadState, error) {
	var out []task.UploadState
	err := d.view(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, name)
		if err != nil {
			return err
		}
		b, err := jt.uploads(false)
		if b == nil || err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			if len(k) < 8 {
				return fmt.Errorf("job %s: bad upload key %q", name, k)
			}
			out = append(out, task.UploadState{Key: string(k[8:]), State: bytes.Clone(v)})
			return nil
		})
	})
	return out, err
}
