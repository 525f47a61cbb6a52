package zk

import (
	"slices"
	"strings"
	"sync"

	"github.com/go-zookeeper/zk"
)

// Writes are batched: the Puts of a worker's copying threads queue their
// znode's create or set, and whichever arrives while fewer than inFlight
// transactions are outstanding sends everything queued as one multi-op
// transaction (up to batchOps operations and batchBytes of data). A
// transaction is all or nothing: when one operation fails (the znode
// exists already, its parent is missing), that write alone gets the
// error and the others are sent again at once without it. Nothing is
// ever half-applied. Four in flight, not the plain writer's two: a batch
// holds at most as many writes as there are copying threads (256 in the
// bench, not 1,000), and the server works on one while the others travel
// (11.1 s with two, 9.8 s with four for the bench's 100,000 znodes).
//
// While one transaction is in flight, another is sent only once
// batchMin writes are queued; the last one to be answered sends whatever
// is queued. Sending each write as soon as a slot was free made
// transactions of some 10 znodes in the bench (10,206 for 100,000), and
// the server's cost is mostly per transaction.
const (
	inFlight   = 4
	batchMin   = 100
	batchOps   = 1000
	batchBytes = 512 << 10
)

// write is one znode's create or set, queued in a batch.
type write struct {
	path   string
	data   []byte
	acl    []zk.ACL
	create bool

	stat *zk.Stat // a set's result
	err  error
	done chan struct{}
}

type batcher struct {
	s        *Store
	mu       sync.Mutex
	queue    []*write
	flushing int
	// multis counts the transactions sent, for tests.
	multis int64
}

func newBatcher(s *Store) *batcher { return &batcher{s: s} }

func (b *batcher) close() {}

// do queues w and waits for its result. A caller that gives up (its ctx
// ended) leaves w to be sent: a transaction in flight cannot be recalled.
func (b *batcher) do(done <-chan struct{}, w *write) error {
	w.done, w.err, w.stat = make(chan struct{}), nil, nil
	b.mu.Lock()
	b.queue = append(b.queue, w)
	start := b.flushing == 0 || (b.flushing < inFlight && len(b.queue) >= batchMin)
	if start {
		b.flushing++
	}
	b.mu.Unlock()
	if start {
		go b.flush()
	}
	select {
	case <-w.done:
		return w.err
	case <-done:
		return errAbandoned
	}
}

// flush sends batches while writes are queued.
func (b *batcher) flush() {
	for {
		b.mu.Lock()
		n, bytes := 0, 0
		for n < len(b.queue) && n < batchOps && (n == 0 || bytes+len(b.queue[n].data) <= batchBytes) {
			bytes += len(b.queue[n].data)
			n++
		}
		if n == 0 || (b.flushing > 1 && n < batchMin) { // the last in flight sends it
			b.flushing--
			b.mu.Unlock()
			return
		}
		batch := slices.Clone(b.queue[:n])
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.multis++
		b.mu.Unlock()
		b.send(batch)
	}
}

// send applies ws in one transaction, in path order (a parent before its
// children), taking out and answering each write that fails until the
// rest succeed together.
func (b *batcher) send(ws []*write) {
	slices.SortStableFunc(ws, func(x, y *write) int { return strings.Compare(x.path, y.path) })
	ops := make([]any, 0, len(ws))
	for len(ws) > 0 {
		ops = ops[:0]
		for _, w := range ws {
			if w.create {
				ops = append(ops, &zk.CreateRequest{Path: w.path, Data: w.data, Acl: w.acl})
			} else {
				ops = append(ops, &zk.SetDataRequest{Path: w.path, Data: w.data, Version: -1})
			}
		}
		res, err := b.s.conn.Multi(ops...)
		if err == nil && len(res) == len(ws) {
			for i, w := range ws {
				w.stat = res[i].Stat
				close(w.done)
			}
			return
		}
		// The operation that failed is the first with an error: those
		// before it say OK (rolled back), those after it "runtime
		// inconsistency".
		bad := -1
		if len(res) == len(ws) {
			bad = slices.IndexFunc(res, func(r zk.MultiResponse) bool { return r.Error != nil })
		}
		if bad < 0 { // the connection or the session, not an operation
			if err == nil {
				err = zk.ErrConnectionClosed
			}
			for _, w := range ws {
				w.err = err
				close(w.done)
			}
			return
		}
		w := ws[bad]
		w.err = res[bad].Error
		close(w.done)
		ws = slices.Delete(ws, bad, bad+1)
	}
}
