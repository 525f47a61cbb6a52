package state

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// Group commit: every lease, renewal and completion is a write
// transaction, and each commit costs an fsync (two, in bbolt). Writes that
// arrive while a commit is under way queue up; when it ends, one of them
// commits all the queued ones in one transaction. A write that finds the
// database idle commits at once: no timer, unlike bbolt's Batch, whose
// fixed delay (10 ms by default) is paid by every write of a loaded master
// and bounds how many cycles its workers can make.

// groupCommit is the queue of writes waiting for the current commit.
type groupCommit struct {
	mu         sync.Mutex
	queue      []*groupCall
	committing bool // a leader is committing; the queue waits for it

	commits, writes atomic.Int64 // transactions committed, and writes in them
}

// CommitStats returns how many write transactions the group commit has
// committed since the database was opened, and how many writes they held
// (each transaction costs bbolt two fdatasyncs): writes/commits is how well
// concurrent writers share their syncs.
func (d *DB) CommitStats() (commits, writes int64) {
	return d.group.commits.Load(), d.group.writes.Load()
}

type groupCall struct {
	fn   func(*bolt.Tx) error
	done chan error // the outcome, or errLead first: the caller leads next
}

// errLead tells a queued write that it is to commit the queue.
var errLead = errors.New("lead the next group commit")

// write runs fn in a write transaction, committed together with the other
// writes queued meanwhile. fn may run more than once (when another
// function of its group fails, the group runs again without that one), so
// it must not act outside the transaction.
func (d *DB) write(fn func(*bolt.Tx) error) error {
	g := &d.group
	c := &groupCall{fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, c)
	if g.committing {
		g.mu.Unlock()
		if err := <-c.done; err != errLead {
			return err
		}
		g.mu.Lock()
	}
	g.committing = true
	calls := g.queue
	g.queue = nil
	g.mu.Unlock()

	d.commitGroup(calls) // c among them

	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].done <- errLead
	} else {
		g.committing = false
	}
	g.mu.Unlock()
	return <-c.done
}

// commitGroup runs calls in one transaction and tells each its outcome. A
// function that fails spoils the transaction for all: the others run again
// without it, and it runs again alone, so that the error it returns is its
// own.
func (d *DB) commitGroup(calls []*groupCall) {
	var alone []*groupCall
	for len(calls) > 0 {
		failed := -1
		err := d.updateTx(func(tx *bolt.Tx) error {
			for i, c := range calls {
				if err := safeCall(c.fn, tx); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			d.group.commits.Add(1)
			d.group.writes.Add(int64(len(calls)))
			for _, c := range calls {
				c.done <- err // nil, or the commit's own failure
			}
			break
		}
		alone = append(alone, calls[failed])
		calls = append(calls[:failed:failed], calls[failed+1:]...)
	}
	for _, c := range alone {
		c.done <- d.updateTx(func(tx *bolt.Tx) error { return safeCall(c.fn, tx) })
	}
}

// safeCall runs fn, turning a panic into an error: the goroutine that
// commits a group is one of the callers, and must answer all of them.
func safeCall(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("write transaction panicked: %v", p)
		}
	}()
	return fn(tx)
}
