package zk_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"ferry/internal/zktest"
	"ferry/store"
	zkstore "ferry/store/zk"
)

// TestBatchedWrites: the Puts of many copying threads at once share
// multi-op transactions, and while one is in flight the next waits for
// enough writes to fill a good part of one (the server counts the
// transactions), and every znode lands with its data.
func TestBatchedWrites(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	c := zktest.Connect(t, srv.Addr, "", "")
	s := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/w", Role: "dest"})
	if _, err := s.Put(context.Background(), "first", bytes.NewReader(nil), store.Entry{Key: "first"}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	total := func() (sum int) {
		for _, v := range received(t, srv.Addr) {
			sum += v
		}
		return sum
	}
	const n, threads = 4000, 256
	before := total()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += threads {
				key := fmt.Sprintf("n%04d", i)
				data := []byte(key)
				if _, err := s.Put(context.Background(), key, bytes.NewReader(data), store.Entry{Key: key, Size: int64(len(data))}, store.PutOptions{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	d := total() - before - 1
	got := zktest.Snapshot(t, c, "/w")
	for i := range n {
		key := fmt.Sprintf("n%04d", i)
		if g, ok := got[key]; !ok || g.Data != key {
			t.Fatalf("%s: %+v, %v after the Puts", key, g, ok)
		}
	}
	t.Logf("%d Puts from %d threads: %d requests", n, threads, d)
	if d > n/60 { // 89 measured when each write was sent as soon as a transaction slot was free, 43 with batchMin
		t.Errorf("%d Puts from %d threads took %d requests, want transactions of more than 60 writes on average", n, threads, d)
	}
}
