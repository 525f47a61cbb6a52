// Package httpstore is the read-only Store of ossimport's srcType=http: a
// list file (httpListFilePath) names the files, one a line, each as a URL
// prefix (column httpPrefixColumn) and a relative path (column
// relativePathColumn, counted from 1). The key is the relative path; the
// URL is the prefix followed by the relative path with each segment
// percent-encoded, so the list holds names as they are (spaces, '#', '?',
// '%', UTF-8), not URL-encoded. Columns are separated by runs of blanks, as
// ossimport splits them, or by tabs when a line has one (then names may
// hold spaces). Blank lines and lines starting with '#' are skipped; a
// prefix without a scheme gets "http://".
//
// The list need not be sorted: it is sorted once per store, by an external
// merge sort in a temporary directory with bounded memory (see index.go),
// so List yields byte order as every store must. A key listed twice with
// the same URL is listed once; with two URLs, it is an error naming both
// lines.
//
// List asks each URL for its size and mtime (HEAD, headThreads at a time);
// a URL that cannot be asked is listed with size 0 and the reason in
// Detail, and fails when copied. Stat is a HEAD (a GET of one byte when the
// server refuses HEAD or gives no length); Open is a GET with a Range,
// resumed after a cut connection and pinned to the version first read.
// Failures are retried as store.RetryPolicy says: 408, 429, 5xx, cut
// connections and timeouts, not 4xx.
//
// Every request has deadlines (store.Timeouts): to connect, for the
// response's headers, and for each read of a body, so a server that stops
// answering fails that one entry's request, retryably (a body resumes at
// the byte where it stalled), instead of hanging its task. In List, a HEAD
// that times out is not retried: the URL is listed with "size unknown"
// after one header timeout, so one dead URL never holds up the listing of
// the others for long.
//
// Redirects (redirect.go) are followed within the URL's own origin
// (scheme, host and port); one to another origin fails the entry, naming
// both URLs, unless the job allows it (httpFollowRedirects). A redirect
// that was followed is noted in the entry's audit line (store.Note).
package httpstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"ferry/store"
)

var (
	_ store.Store = (*HTTP)(nil)
	_ io.Closer   = (*HTTP)(nil)
)

// headThreads is the number of HEAD requests List has in flight.
const headThreads = 16

// ErrReadOnly is returned by Put.
var ErrReadOnly = errors.New("an http source is read-only")

// HTTP is a Store over the files a URL list names. It is safe for
// concurrent use; Close removes its temporary files.
type HTTP struct {
	listFile          string
	prefixCol, relCol int
	client            *http.Client
	timeouts          store.Timeouts
	retry             store.RetryPolicy
	followRedirects   bool // to other origins too (httpFollowRedirects)

	once   sync.Once
	dir    string
	idx    *index
	idxErr error
}

// New returns the store of the list file listFile, whose URL prefixes are
// in column prefixCol and relative paths in column relCol (from 1). The
// list is read on first use. Requests have the deadlines of t (zero
// fields: the defaults).
func New(listFile string, prefixCol, relCol int, t store.Timeouts) (*HTTP, error) {
	switch {
	case listFile == "":
		return nil, errors.New("http source: httpListFilePath is empty")
	case prefixCol < 1 || relCol < 1:
		return nil, fmt.Errorf("http source: httpPrefixColumn=%d and relativePathColumn=%d must be 1 or more", prefixCol, relCol)
	case prefixCol == relCol:
		return nil, fmt.Errorf("http source: httpPrefixColumn and relativePathColumn are both %d", prefixCol)
	}
	f, err := os.Open(listFile)
	if err != nil {
		return nil, fmt.Errorf("http source: httpListFilePath: %w", err)
	}
	f.Close()
	t = t.OrDefault()
	h := &HTTP{listFile: listFile, prefixCol: prefixCol, relCol: relCol, timeouts: t, retry: store.DefaultRetry}
	h.client = &http.Client{Transport: t.Transport(), CheckRedirect: h.checkRedirect}
	return h, nil
}

// SetRetry changes the retry policy (tests).
func (h *HTTP) SetRetry(p store.RetryPolicy) { h.retry = p }

// SetFollowRedirects says whether redirects to another origin are followed
// (job.cfg's httpFollowRedirects); by default they fail the entry. Call it
// before the store is used.
func (h *HTTP) SetFollowRedirects(follow bool) { h.followRedirects = follow }

// index returns the sorted list, building it on first use.
func (h *HTTP) index() (*index, error) {
	h.once.Do(func() {
		h.dir, h.idxErr = os.MkdirTemp("", "ferry-httplist-")
		if h.idxErr == nil {
			h.idx, h.idxErr = h.buildIndex(h.dir)
		}
	})
	return h.idx, h.idxErr
}

// Close removes the sorted copy of the list; a store closed before it
// built one builds none.
func (h *HTTP) Close() error {
	h.once.Do(func() { h.idxErr = errors.New("http source: the store is closed") })
	h.client.CloseIdleConnections()
	if h.idx != nil {
		h.idx.Close()
	}
	if h.dir != "" {
		return os.RemoveAll(h.dir)
	}
	return nil
}

// List calls fn for each listed key that starts with prefix and sorts
// after startAfter, in byte order, with size and mtime from a HEAD.
func (h *HTTP) List(ctx context.Context, prefix, startAfter string, fn func(store.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	x, err := h.index()
	if err != nil {
		return err
	}
	from := max(prefix, startAfter)
	var batch []record
	flush := func() error {
		entries := make([]store.Entry, len(batch))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(headThreads)
		for i, r := range batch {
			g.Go(func() error {
				e, err := h.head(gctx, r.key, r.url, true)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					e = store.Entry{Key: r.key, Kind: store.File, Detail: "size unknown: " + err.Error()}
				}
				entries[i] = e
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		batch = batch[:0]
		for _, e := range entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
	err = x.scan(from, func(r record) (bool, error) {
		if r.key <= startAfter {
			return true, nil
		}
		if !strings.HasPrefix(r.key, prefix) {
			return false, nil // past the prefix
		}
		batch = append(batch, r)
		if len(batch) == 4*headThreads {
			return true, flush()
		}
		return true, nil
	})
	if err == nil {
		err = flush()
	}
	return err
}

// url returns the URL of key.
func (h *HTTP) url(key string) (string, error) {
	x, err := h.index()
	if err != nil {
		return "", err
	}
	u, err := x.lookup(key)
	if err == nil && u == "" {
		err = fmt.Errorf("%w: %q is not in %s", store.ErrNotExist, key, h.listFile)
	}
	return u, err
}

// Stat returns size and mtime of key's URL.
func (h *HTTP) Stat(ctx context.Context, key string) (store.Entry, error) {
	u, err := h.url(key)
	if err != nil {
		return store.Entry{}, fmt.Errorf("stat: %w", err)
	}
	e, err := h.head(ctx, key, u, false)
	if err != nil {
		return store.Entry{}, fmt.Errorf("stat %q: %w", key, err)
	}
	return e, nil
}

// head asks the server for the size and mtime of u. For a listing, a
// timeout is not retried: the server did not answer in time, and the
// listing moves on (the copy asks again, with retries).
func (h *HTTP) head(ctx context.Context, key, u string, listing bool) (store.Entry, error) {
	var e store.Entry
	err := h.retry.Do(ctx, func(int) error {
		err := h.head1(ctx, key, u, &e)
		var ne net.Error
		if listing && errors.As(err, &ne) && ne.Timeout() {
			return store.Permanent(err)
		}
		return err
	})
	return e, err
}

// head1 is one attempt of head.
func (h *HTTP) head1(ctx context.Context, key, u string, e *store.Entry) error {
	resp, err := h.do(ctx, http.MethodHead, u, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	*e = entryOf(key, resp)
	if resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotImplemented || resp.ContentLength < 0 {
		// No HEAD, or no length: ask for the first byte.
		ictx, wrap, cancel := store.IdleRequest(ctx, h.timeouts.Idle)
		resp, err = h.do(ictx, http.MethodGet, u, http.Header{"Range": {"bytes=0-0"}})
		if err != nil {
			cancel()
			return err
		}
		wrap(resp.Body).Close()
		*e = entryOf(key, resp)
	}
	return statusError(resp)
}

// entryOf describes the file of a response to HEAD or GET.
func entryOf(key string, resp *http.Response) store.Entry {
	e := store.Entry{Key: key, Size: resp.ContentLength, Kind: store.File, ETag: strings.Trim(resp.Header.Get("ETag"), `"`)}
	if cr := resp.Header.Get("Content-Range"); resp.StatusCode == http.StatusPartialContent && cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			e.Size, _ = strconv.ParseInt(cr[i+1:], 10, 64)
		}
	}
	e.Size = max(e.Size, 0)
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		e.MTime = t
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		e.Meta = map[string]string{store.MetaContentType: ct}
	}
	return e
}

// do sends one request; transport failures are classified.
func (h *HTTP) do(ctx context.Context, method, u string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, store.Permanent(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	// The bytes as stored: no transparent gzip, whose length is unknown.
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := h.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var re *redirectError
		if errors.As(err, &re) {
			return nil, store.Permanent(re)
		}
		return nil, store.Transient(err)
	}
	noteRedirect(ctx, req, resp)
	return resp, nil
}

// statusError classifies a response that is not a success.
func statusError(resp *http.Response) error {
	st := resp.StatusCode
	switch {
	case st < 300:
		return nil
	case st == http.StatusNotFound || st == http.StatusGone:
		return store.Permanent(fmt.Errorf("%w (HTTP %d)", store.ErrNotExist, st))
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return store.Permanent(fmt.Errorf("%w (HTTP %d)", store.ErrPermission, st))
	case st == http.StatusRequestTimeout || st == http.StatusTooManyRequests || st >= 500:
		return store.Transient(fmt.Errorf("HTTP %s", resp.Status))
	}
	return store.Permanent(fmt.Errorf("HTTP %s", resp.Status))
}

// Put refuses: an http source is read-only.
func (h *HTTP) Put(ctx context.Context, key string, r io.Reader, e store.Entry, o store.PutOptions) (store.Entry, error) {
	return store.Entry{}, fmt.Errorf("put %q: %w: %w", key, store.ErrPermission, ErrReadOnly)
}

// Open returns n bytes of key from off (n < 0: to the end).
func (h *HTTP) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if off < 0 {
		return nil, fmt.Errorf("open %q: negative offset %d", key, off)
	}
	u, err := h.url(key)
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	r := &reader{h: h, url: u}
	r.Resumer = store.Resumer{Ctx: ctx, Key: key, Off: off, End: -1, Retry: h.retry,
		Start: func() error { return h.retry.Do(ctx, func(int) error { return r.get() }) }}
	if n >= 0 {
		r.End = off + n
	}
	if n == 0 {
		if _, err := h.head(ctx, key, u, false); err != nil {
			return nil, fmt.Errorf("open %q: %w", key, err)
		}
		return r, nil
	}
	if err := r.Start(); err != nil {
		return nil, fmt.Errorf("open %q: %w", key, err)
	}
	return r, nil
}

// reader reads a range of a URL, resuming after failures.
type reader struct {
	store.Resumer
	h   *HTTP
	url string
	pin http.Header // If-Match / If-Unmodified-Since of the first response
}

func (r *reader) get() error {
	hdr := http.Header{}
	for k, v := range r.pin {
		hdr[k] = v
	}
	switch {
	case r.End >= 0:
		hdr.Set("Range", fmt.Sprintf("bytes=%d-%d", r.Off, r.End-1))
	case r.Off > 0:
		hdr.Set("Range", fmt.Sprintf("bytes=%d-", r.Off))
	}
	ctx, wrap, cancel := store.IdleRequest(r.Ctx, r.h.timeouts.Idle)
	resp, err := r.h.do(ctx, http.MethodGet, r.url, hdr)
	if err != nil {
		cancel()
		return err
	}
	body := wrap(resp.Body)
	switch {
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		body.Close()
		r.End = r.Off // past the end
		return nil
	case resp.StatusCode == http.StatusPreconditionFailed:
		body.Close()
		return store.Permanent(fmt.Errorf("%s changed while it was read", r.url))
	case resp.StatusCode == http.StatusOK && hdr.Get("Range") != "":
		// The server ignored the range: skip to it.
		if _, err := io.CopyN(io.Discard, body, r.Off); err != nil {
			body.Close()
			return store.Transient(err)
		}
	}
	if err := statusError(resp); err != nil {
		body.Close()
		return err
	}
	if r.pin == nil {
		r.pin = http.Header{}
		if et := resp.Header.Get("ETag"); et != "" {
			r.pin.Set("If-Match", et)
		} else if lm := resp.Header.Get("Last-Modified"); lm != "" {
			r.pin.Set("If-Unmodified-Since", lm)
		}
	}
	r.Body = body
	return nil
}
