package state

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Worker credentials are kept in the root creds bucket under the worker
// ID (its host as conf/workers writes it): the SHA-256 of the secret and
// when it was issued, never the secret itself. The file is mode 0600.

var bktCreds = []byte("creds")

// Cred is a worker host's credential as stored.
type Cred struct {
	Worker string
	Hash   [32]byte // SHA-256 of the secret
	Issued time.Time
}

const credLen = 32 + 8

// PutCred stores c, replacing the worker's previous credential.
func (d *DB) PutCred(c Cred) error {
	v := make([]byte, credLen)
	copy(v, c.Hash[:])
	binary.BigEndian.PutUint64(v[32:], uint64(c.Issued.UnixMilli()))
	return d.updateTx(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktCreds)
		if err != nil {
			return err
		}
		return b.Put([]byte(c.Worker), v)
	})
}

// DeleteCred forgets a worker's credential; false when it had none.
func (d *DB) DeleteCred(worker string) (bool, error) {
	found := false
	err := d.updateTx(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktCreds)
		if b == nil || b.Get([]byte(worker)) == nil {
			return nil
		}
		found = true
		return b.Delete([]byte(worker))
	})
	return found, err
}

// Creds returns every stored credential, by worker ID.
func (d *DB) Creds() ([]Cred, error) {
	var out []Cred
	err := d.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktCreds)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if len(v) != credLen {
				return fmt.Errorf("credential of worker %q: %d bytes, want %d: %w", k, len(v), credLen, ErrCorrupt)
			}
			c := Cred{Worker: string(k), Issued: time.UnixMilli(int64(binary.BigEndian.Uint64(v[32:])))}
			copy(c.Hash[:], v)
			out = append(out, c)
			return nil
		})
	})
	return out, err
}
