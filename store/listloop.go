package store

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// ErrListingEnd, returned by a listing pass, says the listing is complete
// before the server's own end: it went past the prefix.
var ErrListingEnd = errors.New("listing past its prefix")

// CallbackError wraps the error of a List callback, for a listing pass to
// return: ResumeListing hands it back as it was, never retried.
func CallbackError(err error) error { return callbackError{err} }

type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// ResumeListing runs pass, a listing that resumes after the last key it
// listed, until one run of it ends with nil or ErrListingEnd. A retryable
// failure runs it again after the policy's delay; the failures are counted
// from the last run that listed something (pass sets *progressed), so a
// long listing cut now and then is never given up. The error names prefix
// and wraps an *AttemptsError.
func (p RetryPolicy) ResumeListing(ctx context.Context, prefix string, pass func(progressed *bool) error) error {
	fails := 0
	for {
		progressed := false
		err := pass(&progressed)
		var ce callbackError
		switch {
		case err == nil || err == ErrListingEnd:
			return nil
		case errors.As(err, &ce):
			return ce.err
		}
		if progressed {
			fails = 0
		}
		fails++
		if !IsRetryable(err) || fails >= p.Attempts || ctx.Err() != nil {
			return fmt.Errorf("list %q: %w", prefix, &AttemptsError{Err: err, Attempts: fails})
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(p.Delay(fails)):
		}
	}
}

// ValidPrefix returns the longest prefix of s that is valid UTF-8: what a
// store that takes UTF-8 names only can be sent of a byte prefix or marker.
func ValidPrefix(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return s[:i]
		}
		i += size
	}
	return s
}
