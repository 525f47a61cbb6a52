package s3

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"ferry/store"
	"ferry/store/s3test"
	"ferry/store/storetest"
)

// TestStalledGetResumes reads through a proxy whose GETs stall mid-body:
// each stalled body fails after the idle timeout and the read resumes
// where it stopped, within seconds; with too few attempts left, the read
// fails with the idle timeout instead of hanging.
func TestStalledGetResumes(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	cfg := config(srv, px.URL, "stall/")
	cfg.Timeouts = store.Timeouts{Idle: 300 * time.Millisecond}
	cfg.MaxRetries, cfg.RetryBase = 3, time.Millisecond
	s := open(t, cfg)
	want := randomBytes(1*MiB+3, 7)
	storetest.Put(t, s, "big.bin", string(want))

	px.SetFaults(s3test.Faults{Stall: 2, Kinds: []string{s3test.KindGet}})
	start := time.Now()
	checkObject(t, s, "big.bin", want)
	if px.Injected(s3test.KindGet) != 2 || px.Count(s3test.KindGet) < 3 {
		t.Fatalf("%v: want two stalled GETs, then a resumed one", px)
	}
	t.Logf("read in %v; %v", time.Since(start), px)

	// Four stalls in a row, without a byte, exhaust the four attempts
	// (a 1-byte range: half of it is nothing).
	px.SetFaults(s3test.Faults{Stall: 4, Kinds: []string{s3test.KindGet}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rc, err := s.Open(ctx, "big.bin", 0, 1)
	if err == nil {
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
	}
	var idle *store.IdleError
	if !errors.As(err, &idle) || ctx.Err() != nil {
		t.Fatalf("read with every GET stalled: %v, want an idle timeout", err)
	}
	t.Logf("read with every GET stalled: %v", err)
}
