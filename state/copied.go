package state

import (
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The copied index of an incremental job whose destination has ETags (an
// object store). Its listing gives each object's size and ETag but not the
// source mtime ferry keeps in the object's metadata, so a rescan could not
// tell an unchanged file from a changed one and queued every object again,
// for the worker to ask the destination (a HEAD each) and skip it. Instead,
// each OK or SKIP a worker reports (under a current lease) records, by key,
// the source's size and mtime and the destination's ETag: "the object with
// this ETag is a copy of the source at this size and mtime". A rescan skips
// an entry when both listings still say exactly that (plan.Options.Known).
// Anything else (a changed source, an object written by someone else, an
// entry never recorded) goes to a worker as before. A stale record only
// costs that request; it can never make a changed entry look unchanged.

var bktCopied = []byte("copied")

// Copied is what the index holds of one key.
type Copied struct {
	Size     int64
	MTime    time.Time // the source's
	DestETag string
}

func encodeCopied(c Copied) []byte {
	v := make([]byte, 16, 16+len(c.DestETag))
	binary.BigEndian.PutUint64(v, uint64(c.Size))
	binary.BigEndian.PutUint64(v[8:], uint64(c.MTime.UnixNano()))
	return append(v, c.DestETag...)
}

func decodeCopied(v []byte) (Copied, bool) {
	if len(v) < 16 {
		return Copied{}, false
	}
	return Copied{Size: int64(binary.BigEndian.Uint64(v)), MTime: time.Unix(0, int64(binary.BigEndian.Uint64(v[8:]))),
		DestETag: string(v[16:])}, true
}

// NoteCopied records in job's copied index what each key's destination
// object is a copy of. An empty map writes nothing.
func (d *DB) NoteCopied(job string, copies map[string]Copied) error {
	if len(copies) == 0 {
		return nil
	}
	return d.write(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, job)
		if err != nil {
			return err
		}
		b, err := jt.b.CreateBucketIfNotExists(bktCopied)
		if err != nil {
			return err
		}
		for k, c := range copies {
			if err := b.Put([]byte(k), encodeCopied(c)); err != nil {
				return err
			}
		}
		return nil
	})
}

// CopiedEntry returns what job's copied index holds of key.
func (d *DB) CopiedEntry(job, key string) (Copied, bool) {
	var c Copied
	var ok bool
	d.view(func(tx *bolt.Tx) error {
		jt, err := d.openTasks(tx, job)
		if err != nil {
			return err
		}
		if b := jt.b.Bucket(bktCopied); b != nil {
			c, ok = decodeCopied(b.Get([]byte(key)))
		}
		return nil
	})
	return c, ok
}
