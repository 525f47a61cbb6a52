package store

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Deadlines of the network stores (http, s3). Without them a server that
// accepts a connection and stops answering, before the headers or in the
// middle of a body, holds the request forever, and with it the task: the
// worker's heartbeat keeps renewing the task's lease, so no one else takes
// it. With them the request fails with a timeout, which IsRetryable
// accepts: RetryPolicy retries it and a Resumer resumes the body at the
// byte where it stopped. Each is long enough for a slow server on a slow
// link, short enough that a dead one is noticed within about a minute.
const (
	DefaultConnectTimeout = 10 * time.Second // TCP connect
	DefaultTLSTimeout     = 10 * time.Second // TLS handshake
	DefaultHeaderTimeout  = 30 * time.Second // request sent -> response headers
	DefaultIdleTimeout    = 60 * time.Second // a body read that gets no byte
)

// Timeouts are the deadlines of a network store; a zero field means its
// default (DefaultConnectTimeout, ...). Tests set short ones.
type Timeouts struct {
	Connect time.Duration // to open a TCP connection
	TLS     time.Duration // to complete a TLS handshake
	Header  time.Duration // from the request sent to the response's headers
	Idle    time.Duration // for one read of a body to get at least one byte
}

// OrDefault returns t with each zero field set to its default.
func (t Timeouts) OrDefault() Timeouts {
	or := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	or(&t.Connect, DefaultConnectTimeout)
	or(&t.TLS, DefaultTLSTimeout)
	or(&t.Header, DefaultHeaderTimeout)
	or(&t.Idle, DefaultIdleTimeout)
	return t
}

// Apply sets t's connect, TLS handshake and response-header deadlines on
// tr (t.Idle is for bodies: see IdleRequest).
func (t Timeouts) Apply(tr *http.Transport) {
	t = t.OrDefault()
	tr.DialContext = (&net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = t.TLS
	tr.ResponseHeaderTimeout = t.Header
}

// Transport returns a copy of http.DefaultTransport with t's deadlines.
func (t Timeouts) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Apply(tr)
	return tr
}

// IdleError is the error of a body read that got no byte for Idle: the
// server stalled. It is a net.Error whose Timeout is true, so IsRetryable
// says to try again (and a Resumer resumes).
type IdleError struct{ Idle time.Duration }

func (e *IdleError) Error() string {
	return fmt.Sprintf("no data for %v: the server stalled (idle read timeout)", e.Idle)
}
func (e *IdleError) Timeout() bool   { return true }
func (e *IdleError) Temporary() bool { return true }

var _ net.Error = (*IdleError)(nil)

// IdleRequest returns the context to send one request under, derived from
// ctx, and wrap, which wraps the response's body: a Read of the wrapped
// body that waits idle without getting a byte cancels the request (which
// unblocks the read) and fails with *IdleError. Only time spent inside
// Read counts, so a slow reader is never cut. Closing the wrapped body
// releases the context; when the request fails before there is a body,
// call cancel instead. idle <= 0 means DefaultIdleTimeout.
func IdleRequest(ctx context.Context, idle time.Duration) (rctx context.Context, wrap func(io.ReadCloser) io.ReadCloser, cancel func()) {
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	rctx, cancelCause := context.WithCancelCause(ctx)
	cancel = func() { cancelCause(nil) }
	wrap = func(body io.ReadCloser) io.ReadCloser {
		b := &idleBody{body: body, idle: idle, cancel: cancelCause}
		b.timer = time.AfterFunc(time.Hour, b.fire)
		b.timer.Stop()
		return b
	}
	return rctx, wrap, cancel
}

// idleBody is a body whose reads give up after idle without a byte.
type idleBody struct {
	body   io.ReadCloser
	idle   time.Duration
	cancel context.CancelCauseFunc
	timer  *time.Timer

	mu    sync.Mutex
	fired bool
}

func (b *idleBody) fire() {
	b.mu.Lock()
	b.fired = true
	b.mu.Unlock()
	b.cancel(&IdleError{Idle: b.idle})
}

func (b *idleBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.body.Read(p)
	b.timer.Stop()
	b.mu.Lock()
	fired := b.fired
	b.mu.Unlock()
	if fired && err != nil && err != io.EOF {
		err = &IdleError{Idle: b.idle}
	}
	return n, err
}

func (b *idleBody) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel(nil)
	return err
}
