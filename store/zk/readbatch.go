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
//
// A znode's ACL (which no multiRead reads) comes with its data: the
// batch's getACLs are sent together, in one write, on the next
// read session, while the multiRead is in flight on another.
const readsInFlight = 4

// dataRead is one znode's read (data, stat, ACL), queued.
type dataRead struct {
	path string
	data []byte
	st   zk.Stat
	err  error

	acl    []zk.ACL
	ast    zk.Stat
	aclErr error

	done chan struct{}
}

type readBatcher struct {
	s        *Store
	mu       sync.Mutex
	queue    []*dataRead
	flushing int
}

// getWithACL reads the data, stat and ACL of znode p in the next batch.
// The ACL's error is apart (aclErr): the caller needs no ACL of an
// ephemeral znode.
func (b *readBatcher) getWithACL(ctx context.Context, p string) (data []byte, st *zk.Stat, acl []zk.ACL, aclErr, err error) {
	r, err := b.read(ctx, p)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if r.aclErr != nil && (transient(r.aclErr) || errors.Is(r.aclErr, zk.ErrClosing)) {
		r.acl, _, r.aclErr = b.s.getACL(ctx, p)
	}
	return r.data, &r.st, r.acl, r.aclErr, nil
}

// read queues the read of znode p, and waits for it.
func (b *readBatcher) read(ctx context.Context, p string) (*dataRead, error) {
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
		return nil, ctx.Err()
	}
	if r.err != nil && (transient(r.err) || errors.Is(r.err, zk.ErrClosing)) {
		var st *zk.Stat
		r.data, st, r.err = b.s.getMain(ctx, p)
		if r.err == nil {
			r.st = *st
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return r, nil
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
	var call *zkwire.Call
	if c := b.s.reader(); c != nil {
		call = c.GoMultiRead(reads)
	}
	aclCalls := make([]*zkwire.Call, len(batch))
	if ac := b.s.reader(); ac != nil {
		ac.Group(func() {
			for i, r := range batch {
				aclCalls[i] = ac.GoGetACL(r.path, &r.acl, &r.ast)
			}
		})
	}
	err := zk.ErrConnectionClosed
	if call != nil {
		err = call.Wait()
	}
	for i, r := range batch {
		switch {
		case err != nil:
			r.err = err
		default:
			r.data, r.st, r.err = reads[i].Data, reads[i].Stat, reads[i].Err
		}
		r.aclErr = zk.ErrConnectionClosed // no read session: read it again
		if aclCalls[i] != nil {
			r.aclErr = aclCalls[i].Wait()
		}
		close(r.done)
	}
}
