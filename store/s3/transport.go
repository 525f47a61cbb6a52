package s3

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// transport wraps the HTTP transport to see what minio-go does not pass
// on: the response headers of a PUT (OSS's x-oss-hash-crc64ecma), and the
// server's Date (to say how far off the local clock is).
type transport struct {
	base http.RoundTripper
	skew atomic.Int64 // local clock minus the server's, at the last response with a Date
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		t.skew.Store(int64(time.Since(d)))
	}
	if c, ok := req.Context().Value(headersKey{}).(*headers); ok {
		c.mu.Lock()
		c.h = resp.Header.Clone()
		c.mu.Unlock()
	}
	return resp, nil
}

// clockSkew returns how far the local clock is ahead of the server's, as
// the last response's Date says (to the second).
func (t *transport) clockSkew() time.Duration {
	return time.Duration(t.skew.Load()).Truncate(time.Second) // Date has whole seconds
}

type headersKey struct{}

// headers holds the headers of the last response to a request made under
// the context withHeaders returned.
type headers struct {
	mu sync.Mutex
	h  http.Header
}

func withHeaders(ctx context.Context) (context.Context, *headers) {
	c := &headers{}
	return context.WithValue(ctx, headersKey{}, c), c
}

func (c *headers) get(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.h.Get(name)
}
