package zk_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"testing"
	"time"

	"ferry/internal/zktest"
	"ferry/store"
	zkstore "ferry/store/zk"
)

// TestReadSessions: a store reads through sessions of its own, all to the
// main session's server, and the reads of a listing are spread over them
// (counted by the server, per session); a read session that is gone
// leaves its reads to the main session, and what a Put wrote is read back
// at once whatever session reads it.
func TestReadSessions(t *testing.T) {
	srv := zktest.Start(t, zktest.Options{})
	c := zktest.Connect(t, srv.Addr, "", "")
	mustCreate(t, c, "/r", nil, 0, open)
	const n = 400
	for i := range n {
		mustCreate(t, c, fmt.Sprintf("/r/n%03d", i), []byte(strconv.Itoa(i)), 0, open)
	}
	s := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/r"})
	readers := s.ReadSessions()
	if len(readers) < 2 {
		t.Fatalf("%d read sessions, want several", len(readers))
	}
	main := s.MainSession()
	for _, r := range readers {
		if r.Server() != main.Server() || r.SessionID() == main.SessionID() {
			t.Fatalf("read session 0x%x on %s; main session 0x%x on %s", r.SessionID(), r.Server(), main.SessionID(), main.Server())
		}
	}
	before := received(t, srv.Addr)
	if got := len(list(t, s, "")); got != n+1 {
		t.Fatalf("listed %d, want %d", got, n+1)
	}
	after := received(t, srv.Addr)
	// Each znode costs a getACL (its data comes in batches); the read
	// sessions share them, the main session takes none.
	share := n / (2 * len(readers))
	for _, r := range readers {
		if d := after[r.SessionID()] - before[r.SessionID()]; d < share {
			t.Errorf("read session 0x%x received %d requests during a listing of %d znodes, want a share (>= %d)", r.SessionID(), d, n, share)
		}
	}
	if d := after[main.SessionID()] - before[main.SessionID()]; d > 10 {
		t.Errorf("main session received %d requests during the listing, want its pings only", d)
	}

	// Read-your-writes through the read sessions.
	dst := newStore(t, zkstore.Config{Connect: srv.Addr, Prefix: "/w", Role: "dest"})
	for i := range 50 {
		key := fmt.Sprintf("k%02d", i)
		data := []byte(fmt.Sprintf("v%d", i))
		if _, err := dst.Put(context.Background(), key, bytes.NewReader(data), store.Entry{Key: key}, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		e, err := dst.Stat(context.Background(), key)
		if err != nil || e.Size != int64(len(data)) {
			t.Fatalf("Stat right after Put of %s: %+v, %v", key, e, err)
		}
	}

	// Every read session closed: reads go to the main session.
	for _, r := range readers {
		r.Close()
	}
	if got := len(list(t, s, "")); got != n+1 {
		t.Fatalf("with the read sessions closed, listed %d, want %d", got, n+1)
	}
	if _, err := s.Stat(context.Background(), "n007"); err != nil {
		t.Fatalf("Stat with the read sessions closed: %v", err)
	}

	// Closed read sessions are dialed again (at most one a second), and
	// reads go back to them.
	old := map[int64]bool{}
	for _, r := range readers {
		old[r.SessionID()] = true
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.Stat(context.Background(), "n007")
		fresh := 0
		for _, r := range s.ReadSessions() {
			if r.Err() == nil && !old[r.SessionID()] {
				fresh++
			}
		}
		if fresh == len(readers) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d read sessions dialed again after 10 s", fresh, len(readers))
		}
		time.Sleep(100 * time.Millisecond)
	}
	before = received(t, srv.Addr)
	list(t, s, "")
	after = received(t, srv.Addr)
	for _, r := range s.ReadSessions() {
		if d := after[r.SessionID()] - before[r.SessionID()]; d < share {
			t.Errorf("new read session 0x%x received %d requests during a listing, want a share", r.SessionID(), d)
		}
	}
}

var consLine = regexp.MustCompile(`recved=(\d+),.*?sid=0x([0-9a-f]+)`)

// received is the server's count of requests received, per session.
func received(t *testing.T, addr string) map[int64]int {
	t.Helper()
	out, err := zktest.FourLetter(addr, "cons")
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[int64]int)
	for _, g := range consLine.FindAllStringSubmatch(out, -1) {
		n, _ := strconv.Atoi(g[1])
		sid, _ := strconv.ParseUint(g[2], 16, 64)
		m[int64(sid)] = n
	}
	if len(m) == 0 {
		t.Fatalf("no session in the server's cons answer:\n%s", out)
	}
	return m
}
