package zk

import (
	"context"
	"errors"
	"slices"
	"sync"

	"github.com/go-zookeeper/zk"

	"ferry/internal/zkwire"
)

// Reads of data are batched as writes are (batch.go): the copying
// threads' reads of their znodes queue, and whichever arrives while fewer
// than readsInFlight multiRead requests are out sends everything queued
// (up to batchReads znodes) as one, on a read session. Each read succeeds
// or fails alone. A read whose session failed under it is made again on
// the main session, alone.
const readsInFlight = 4

// dataRead is one znode's data read, queued.
type dataRead struct {
	path string
	data []byte
	st   zk.Stat
	err  error
	done chan struct{}
}

type readBatcher struct {
	s        *Store
	mu       sync.Mutex
	queue    []*dataRead
	flushing int
}

// get reads the data and stat of znode p in the next batch.
func (b *readBatcher) get(ctx context.Context, p string) ([]byte, *zk.Stat, error) {
	r := &dataRead{path: p, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	start := b.flushing < readsInFlight
	if start {
		b.flushing++
	}
	b.mu.Unlock()
	if start {
		go b.flush()
	}
	select {
	case <-r.done:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	if r.err != nil && (transient(r.err) || errors.Is(r.err, zk.ErrClosing)) {
		return b.s.getMain(ctx, p)
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	return r.data, &r.st, nil
}

// flush sends batches while reads are queued.
func (b *readBatcher) flush() {
	for {
		b.mu.Lock()
		n := min(len(b.queue), batchReads)
		if n == 0 {
			b.flushing--
			b.mu.Unlock()
			return
		}
		batch := slices.Clone(b.queue[:n])
		b.queue = append(b.queue[:0], b.queue[n:]...)
		b.mu.Unlock()
		b.send(batch)
	}
}

func (b *readBatcher) send(batch []*dataRead) {
	reads := make([]zkwire.Read, len(batch))
	for i, r := range batch {
		reads[i].Path = r.path
	}
	err := zk.ErrConnectionClosed
	if c := b.s.reader(); c != nil {
		err = c.MultiRead(reads)
	}
	for i, r := range batch {
		switch {
		case err != nil:
			r.err = err
		default:
			r.data, r.st, r.err = reads[i].Data, reads[i].Stat, reads[i].Err
		}
		close(r.done)
	}
}
