package zk_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"ferry/internal/zktest"
	"ferry/store"
	zkstore "ferry/store/zk"
)

// TestBatchedReads: the reads of many copying threads at once share
// multiRead requests for their data (the server counts about one request
// per znode, its getACL, where alone each would cost two), their getACLs
// go out together (a few writes to the read sessions' connections, not
// one a znode), and each thread gets its own znode's entry, a missing one
// ErrNotExist.
func TestBatchedReads(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	c := zktest.Connect(t, srv.Addr, "", "")
	mustCreate(t, c, "/b", nil, 0, open)
	const n = 600
	for i := range n {
		mustCreate(t, c, fmt.Sprintf("/b/n%03d", i), []byte(strconv.Itoa(i*7)), 0, open)
	}
	s := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/b"})
	total := func() (sum int) {
		for _, v := range received(t, srv.Addr) {
			sum += v
		}
		return sum
	}
	flushes := func() (sum int64) {
		for _, r := range s.ReadSessions() {
			sum += r.Flushes()
		}
		return sum
	}
	before, flushed := total(), flushes()
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 64 {
				key := fmt.Sprintf("n%03d", i)
				r, e, err := s.OpenStat(context.Background(), key)
				if err != nil {
					errs <- err
					continue
				}
				r.Close()
				want := strconv.Itoa(i * 7)
				if e.Key != key || e.Size != int64(len(want)) || e.CRC64 != store.UpdateCRC64(0, []byte(want)) {
					errs <- fmt.Errorf("%s: entry %+v, want the data %q", key, e, want)
				}
			}
		}()
	}
	wg.Wait()
	if _, err := s.Stat(context.Background(), "none"); !errors.Is(err, store.ErrNotExist) {
		errs <- fmt.Errorf("Stat of a missing znode: %v, want ErrNotExist", err)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if d := total() - before - 1; d > n+n/3 {
		t.Errorf("%d reads of data and ACL cost %d requests, want about one each (the data in batches)", n, d)
	}
	if d := flushes() - flushed; d > n/3 { // one a znode without the grouping: 663 measured, 113 with it
		t.Errorf("%d reads of data and ACL took %d writes to the read sessions, want two a batch (a multiRead, the getACLs)", n, d)
	}
}
