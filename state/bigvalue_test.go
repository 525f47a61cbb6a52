package state

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestBigValues checks the big-value layout on a real bbolt file: values
// put, read, replaced, listed and dropped, in both the bucket-per-value
// form and the older value-in-parent form a database may still hold; and
// that dropping one value writes no copy of the others (what the layout is
// for).
func TestBigValues(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "big.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	val := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, 30<<10) }
	parent := []byte("p")
	err = db.Update(func(tx *bolt.Tx) error {
		p, err := tx.CreateBucket(parent)
		if err != nil {
			return err
		}
		for i := range 4 {
			if err := putBig(p, taskKey(uint64(i)), val(i)); err != nil {
				return err
			}
		}
		// Key 9 the older way: a plain value.
		return p.Put(taskKey(9), []byte("old"))
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(want map[uint64][]byte) {
		t.Helper()
		err := db.View(func(tx *bolt.Tx) error {
			p := tx.Bucket(parent)
			got := map[uint64][]byte{}
			if err := forEachBig(p, func(k, v []byte) error {
				got[be64(k)] = append([]byte(nil), v...)
				return nil
			}); err != nil {
				return err
			}
			if len(got) != len(want) {
				return fmt.Errorf("listed %d values, want %d", len(got), len(want))
			}
			for k, w := range want {
				if !bytes.Equal(got[k], w) {
					return fmt.Errorf("key %d listed %.10q..., want %.10q...", k, got[k], w)
				}
				if v := getBig(p, taskKey(k)); !bytes.Equal(v, w) {
					return fmt.Errorf("key %d reads %.10q..., want %.10q...", k, v, w)
				}
			}
			if v := getBig(p, taskKey(77)); v != nil {
				return fmt.Errorf("missing key reads %q", v)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check(map[uint64][]byte{0: val(0), 1: val(1), 2: val(2), 3: val(3), 9: []byte("old")})

	// Dropping a big value frees its pages without writing the others:
	// the commit allocates and writes a few small pages, not another 30 KiB
	// value.
	st := db.Stats()
	before := st.TxStats.GetPageAlloc()
	if err := db.Update(func(tx *bolt.Tx) error { return dropBig(tx.Bucket(parent), taskKey(1)) }); err != nil {
		t.Fatal(err)
	}
	st = db.Stats()
	if n := st.TxStats.GetPageAlloc() - before; n > 4*4096 {
		t.Errorf("dropping one value allocated %d bytes of pages; want only the parent's few (the others are 30 KiB each)", n)
	}
	// Replacing values of either form, and dropping the older form.
	err = db.Update(func(tx *bolt.Tx) error {
		p := tx.Bucket(parent)
		if err := putBig(p, taskKey(9), val(9)); err != nil {
			return err
		}
		if err := putBig(p, taskKey(2), []byte("short")); err != nil {
			return err
		}
		if err := p.Put(taskKey(5), []byte("old5")); err != nil {
			return err
		}
		if err := dropBig(p, taskKey(5)); err != nil {
			return err
		}
		return dropBig(p, taskKey(66)) // none: no error
	})
	if err != nil {
		t.Fatal(err)
	}
	check(map[uint64][]byte{0: val(0), 2: []byte("short"), 3: val(3), 9: val(9)})
}
