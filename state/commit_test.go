package state

import (
	"encoding/binary"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// increment adds one to a counter in the root jobs bucket and notes the
// transaction it committed in.
func increment(tx *bolt.Tx, txs *sync.Map) error {
	b := tx.Bucket(bktJobs)
	var n uint64
	if v := b.Get([]byte("counter")); v != nil {
		n = binary.BigEndian.Uint64(v)
	}
	id := tx.ID()
	tx.OnCommit(func() { txs.Store(id, true) })
	return b.Put([]byte("counter"), binary.BigEndian.AppendUint64(nil, n+1))
}

func counter(t *testing.T, d *DB) (n uint64) {
	t.Helper()
	d.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bktJobs).Get([]byte("counter")); v != nil {
			n = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return n
}

// queued returns how many writes wait and whether a commit is under way.
func queued(d *DB) (int, bool) {
	d.group.mu.Lock()
	defer d.group.mu.Unlock()
	return len(d.group.queue), d.group.committing
}

// Writes that arrive during a commit are committed together, in one
// transaction, as soon as it ends; a function that fails or panics gets its
// own error and does not take the others down.
func TestGroupCommit(t *testing.T) {
	d, err := OpenDB(filepath.Join(t.TempDir(), "ferry.db"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	commits0, writes0 := d.CommitStats()
	var txs sync.Map
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- d.write(func(tx *bolt.Tx) error {
			<-release // hold the commit while the others queue up
			return increment(tx, &txs)
		})
	}()
	for n, committing := queued(d); n != 0 || !committing; n, committing = queued(d) {
		time.Sleep(time.Millisecond)
	}

	const n = 40
	errBoom := errors.New("boom")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = d.write(func(tx *bolt.Tx) error {
				switch i {
				case 7, 23:
					return errBoom
				case 11:
					panic("oops")
				}
				return increment(tx, &txs)
			})
		}()
	}
	for q, _ := queued(d); q != n; q, _ = queued(d) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		switch i {
		case 7, 23:
			if !errors.Is(err, errBoom) {
				t.Errorf("call %d: %v, want boom", i, err)
			}
		case 11:
			if err == nil || !strings.Contains(err.Error(), "panicked: oops") {
				t.Errorf("call %d: %v, want the panic", i, err)
			}
		default:
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		}
	}
	if got := counter(t, d); got != n+1-3 {
		t.Errorf("counter %d, want %d: each successful write applied once", got, n+1-3)
	}
	committed := 0
	txs.Range(func(any, any) bool { committed++; return true })
	// The first write's transaction, then one for the whole queue (run
	// again after each of the three failures).
	if committed != 2 {
		t.Errorf("successful writes committed in %d transactions, want 2", committed)
	}
	// CommitStats counts the same (the three failed writes ran alone and
	// committed nothing), after the transactions of opening the database.
	if commits, writes := d.CommitStats(); commits-commits0 != 2 || writes-writes0 != n+1-3 {
		t.Errorf("CommitStats: %d commits of %d writes, want 2 of %d", commits-commits0, writes-writes0, n+1-3)
	}
	if q, committing := queued(d); q != 0 || committing {
		t.Error("the group commit did not wind down")
	}
}
