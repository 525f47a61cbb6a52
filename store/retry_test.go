package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

func TestIsRetryable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("plain"), false},
		{context.Canceled, false},
		{Transient(context.Canceled), false},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), false},
		{Transient(errors.New("503 SlowDown")), true},
		{fmt.Errorf("put x: %w", Transient(errors.New("500"))), true},
		{Permanent(fmt.Errorf("reset but refused: %w", syscall.ECONNRESET)), false},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("stat: %w", ErrNotExist), false},
	} {
		if got := IsRetryable(c.err); got != c.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

func TestRetryDo(t *testing.T) {
	p := RetryPolicy{Attempts: 5, Base: time.Millisecond, Max: 4 * time.Millisecond}
	ctx, counter := WithRetryCounter(context.Background())
	calls := 0
	err := p.Do(ctx, func(attempt int) error {
		calls++
		if attempt != calls {
			t.Fatalf("attempt %d on call %d", attempt, calls)
		}
		if calls < 3 {
			return Transient(errors.New("busy"))
		}
		return nil
	})
	if err != nil || calls != 3 || counter.Retries() != 2 {
		t.Fatalf("Do = %v after %d calls, %d retries counted; want nil, 3, 2", err, calls, counter.Retries())
	}

	calls = 0
	err = p.Do(ctx, func(int) error { calls++; return Transient(errors.New("always busy")) })
	if calls != 5 || Attempts(err) != 5 || !IsRetryable(err) {
		t.Fatalf("Do = %v (attempts %d) after %d calls, want 5", err, Attempts(err), calls)
	}
	calls = 0
	err = p.Do(ctx, func(int) error { calls++; return fmt.Errorf("gone: %w", ErrNotExist) })
	if calls != 1 || Attempts(err) != 1 || !errors.Is(err, ErrNotExist) {
		t.Fatalf("Do = %v after %d calls, want one call wrapping ErrNotExist", err, calls)
	}
	if Attempts(nil) != 0 || Attempts(errors.New("x")) != 1 {
		t.Fatalf("Attempts of nil / plain error wrong")
	}

	cctx, cancel := context.WithCancel(ctx)
	slow := RetryPolicy{Attempts: 5, Base: time.Hour, Max: time.Hour}
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if err := slow.Do(cctx, func(int) error { return Transient(errors.New("busy")) }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Do cancelled while waiting = %v, want context.Canceled", err)
	}
}

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{Base: 100 * time.Millisecond, Max: time.Second}
	for n, hi := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 10: time.Second} {
		for range 100 {
			if d := p.Delay(n); d < hi/2 || d > hi {
				t.Fatalf("Delay(%d) = %v, want in [%v, %v]", n, d, hi/2, hi)
			}
		}
	}
}

// TestNetTimeoutsRetryable: the timeouts of a network store's deadlines
// (Timeouts) are retried, though they say they are deadlines; a context's
// own deadline is not.
func TestNetTimeoutsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close() // accepts (the kernel does) and never answers
	c := &http.Client{Transport: Timeouts{Header: 50 * time.Millisecond}.Transport()}
	_, herr := c.Get("http://" + ln.Addr().String() + "/")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	_, cerr := http.DefaultClient.Do(req)
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{herr, true},
		{fmt.Errorf("wrapped: %w", herr), true},
		{&IdleError{Idle: time.Second}, true},
		{cerr, false},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), false},
	} {
		if got := IsRetryable(tc.err); got != tc.want {
			t.Errorf("IsRetryable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
