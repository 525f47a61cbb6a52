package store

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Resumer reads bytes [Off, End) of a remote object through a body that
// its backend's Start (re)opens at Off. A body that fails or ends short is
// reopened from the next byte, with backoff, up to Retry.Attempts times in
// a row, so a cut connection costs a new request, not the whole read. The
// object store and URL-list backends share it.
type Resumer struct {
	Ctx      context.Context
	Key      string
	Off, End int64         // next byte; one past the last wanted (-1: the end)
	Body     io.ReadCloser // open body, or nil
	Retry    RetryPolicy
	// Start opens Body at Off (up to End), retrying as its backend does;
	// to report that Off is past the end, it sets End = Off and no Body.
	Start func() error
	// Classify, when set, maps a body's read error before IsRetryable.
	Classify func(error) error
	fails    int // failed resumptions since the last byte read
}

func (r *Resumer) Read(p []byte) (int, error) {
	for {
		if r.End >= 0 && r.Off >= r.End {
			return 0, io.EOF
		}
		if r.Body == nil {
			if err := r.Ctx.Err(); err != nil {
				return 0, err
			}
			if err := r.Start(); err != nil {
				return 0, fmt.Errorf("read %q at %d: %w", r.Key, r.Off, err)
			}
			if r.Body == nil && (r.End < 0 || r.Off < r.End) {
				return 0, fmt.Errorf("read %q at %d: no body", r.Key, r.Off)
			}
			continue
		}
		if r.End >= 0 && int64(len(p)) > r.End-r.Off {
			p = p[:r.End-r.Off]
		}
		n, err := r.Body.Read(p)
		r.Off += int64(n)
		if n > 0 {
			r.fails = 0
		}
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && (r.End < 0 || r.Off >= r.End):
			return n, io.EOF
		case err == io.EOF:
			err = io.ErrUnexpectedEOF // the body ended short
		}
		r.Body.Close()
		r.Body = nil
		r.fails++
		classified := err
		if r.Classify != nil {
			classified = r.Classify(err)
		}
		if !IsRetryable(classified) || r.fails >= r.Retry.Attempts || r.Ctx.Err() != nil {
			return n, &AttemptsError{Err: fmt.Errorf("read %q at %d: %w", r.Key, r.Off, err), Attempts: r.fails}
		}
		select {
		case <-r.Ctx.Done():
			return n, r.Ctx.Err()
		case <-time.After(r.Retry.Delay(r.fails)):
		}
		if n > 0 {
			return n, nil
		}
	}
}

// Close closes the open body, if any.
func (r *Resumer) Close() error {
	if r.Body == nil {
		return nil
	}
	err := r.Body.Close()
	r.Body = nil
	return err
}
