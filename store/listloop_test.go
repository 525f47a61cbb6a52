package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestResumeListing(t *testing.T) {
	p := RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond}
	ctx := context.Background()

	// A listing cut by a transient failure after each key it listed goes on
	// past the attempts, since each run progressed.
	runs := 0
	err := p.ResumeListing(ctx, "a/", func(progressed *bool) error {
		runs++
		if runs < 6 {
			*progressed = true
			return Transient(errors.New("connection reset"))
		}
		return ErrListingEnd
	})
	if err != nil || runs != 6 {
		t.Fatalf("progressing listing: err %v after %d runs, want nil after 6", err, runs)
	}

	// Without progress, the attempts are used up and the error names the prefix.
	runs = 0
	err = p.ResumeListing(ctx, "a/", func(*bool) error { runs++; return Transient(errors.New("503")) })
	if runs != 3 || err == nil || Attempts(err) != 3 || err.Error() != `list "a/": 503 (after 3 attempts)` {
		t.Fatalf("stuck listing: %v after %d runs", err, runs)
	}

	// The callback's error comes back as it was, not retried.
	stop := errors.New("disk full")
	runs = 0
	err = p.ResumeListing(ctx, "", func(*bool) error { runs++; return CallbackError(Transient(stop)) })
	if runs != 1 || !errors.Is(err, stop) {
		t.Fatalf("callback error: %v after %d runs", err, runs)
	}
}

func TestValidPrefix(t *testing.T) {
	for in, want := range map[string]string{"abc": "abc", "a\xffb": "a", "é": "é", "\xc3": "", "x\xe2\x82": "x"} {
		if got := ValidPrefix(in); got != want {
			t.Errorf("ValidPrefix(%q) = %q, want %q", in, got, want)
		}
	}
}
