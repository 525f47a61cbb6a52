package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store"
)

// Stat returns the entry of key, with its metadata; a missing key is an
// error wrapping store.ErrNotExist.
func (s *S3) Stat(ctx context.Context, key string) (store.Entry, error) {
	if err := s.checkKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("stat: %w", err)
	}
	var info minio.ObjectInfo
	err := s.do(ctx, key, func(ctx context.Context) (err error) {
		info, err = s.client.StatObject(ctx, s.cfg.Bucket, s.fullKey(key), minio.StatObjectOptions{})
		return err
	})
	if err != nil {
		return store.Entry{}, fmt.Errorf("stat %q: %w", key, err)
	}
	return entryOf(key, info, info.Metadata), nil
}

// entryOf describes an object from its info and response headers (nil for
// a listing).
func entryOf(key string, info minio.ObjectInfo, h http.Header) store.Entry {
	e := store.Entry{Key: key, Size: info.Size, MTime: info.LastModified, ETag: strings.Trim(info.ETag, `"`), Kind: store.File}
	if h == nil {
		return e
	}
	if v := h.Get("X-Oss-Hash-Crc64ecma"); v != "" {
		if c, err := strconv.ParseUint(v, 10, 64); err == nil {
			e.CRC64, e.HasCRC = c, true
		}
	}
	if v := h.Get("X-Amz-Meta-" + crcMetaKey); v != "" && !e.HasCRC {
		if c, err := strconv.ParseUint(v, 16, 64); err == nil {
			e.CRC64, e.HasCRC = c, true
		}
	}
	if v := h.Get("X-Amz-Meta-" + mtimeMetaKey); v != "" {
		if ns, err := strconv.ParseInt(v, 10, 64); err == nil {
			e.MTime = time.Unix(0, ns)
		}
	}
	e.Meta = map[string]string{}
	for _, name := range store.MetaHeaders {
		if v := h.Get(name); v != "" {
			e.Meta[name] = v
		}
	}
	for k, vv := range h {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, store.MetaUserPrefix) && !strings.HasPrefix(lk, store.MetaUserPrefix+"ferry-") && len(vv) > 0 {
			e.Meta[lk] = vv[0]
		}
	}
	return e
}

// Open returns n bytes of key from off (n < 0: to the end). The reader
// resumes after a cut connection where it stopped, asking for the same
// version of the object (by ETag): if the object changed meanwhile, reading
// fails instead of mixing versions.
func (s *S3) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := s.checkKey(key); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if off < 0 {
		return nil, fmt.Errorf("open %q: negative offset %d", key, off)
	}
	r := &reader{s: s}
	r.Resumer = store.Resumer{Ctx: ctx, Key: key, Off: off, End: -1, Retry: s.retry, Classify: classifyTransport,
		Start: func() error { return s.do(ctx, key, r.get) }}
	if n >= 0 {
		r.End = off + n
	}
	if n == 0 {
		e, err := s.Stat(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
		r.entry = e
		return r, nil
	}
	if err := r.Start(); err != nil {
		return nil, fmt.Errorf("open %q: %w", key, err)
	}
	return r, nil
}

var _ store.StatOpener = (*S3)(nil)

// OpenStat opens the whole of key with one GET and returns it with the entry
// that GET's response describes, so a copy costs one request instead of a
// HEAD, a GET and a HEAD. The reader is pinned to that version (by ETag),
// so the opened object's Stat is that same entry: an object that changes
// meanwhile fails the read instead of mixing versions.
func (s *S3) OpenStat(ctx context.Context, key string) (store.Opened, store.Entry, error) {
	rc, err := s.Open(ctx, key, 0, -1)
	if err != nil {
		return nil, store.Entry{}, err
	}
	r := rc.(*reader)
	return store.Pinned{ReadCloser: r, At: &r.entry}, r.entry, nil
}

// reader reads a range of an object, resuming after failures.
type reader struct {
	store.Resumer
	s     *S3
	entry store.Entry
	etag  string // pinned by the first response
}

// get starts a GET from r.Off.
func (r *reader) get(ctx context.Context) error {
	opts := minio.GetObjectOptions{}
	if r.etag != "" {
		opts.SetMatchETag(r.etag)
	}
	switch {
	case r.End >= 0:
		if err := opts.SetRange(r.Off, r.End-1); err != nil {
			return store.Permanent(err)
		}
	case r.Off > 0:
		if err := opts.SetRange(r.Off, 0); err != nil {
			return store.Permanent(err)
		}
	}
	ctx, wrap, cancel := store.IdleRequest(ctx, r.s.cfg.Timeouts.Idle)
	var (
		body io.ReadCloser
		info minio.ObjectInfo
		h    http.Header
		err  = errFastMiss
	)
	if r.etag == "" && r.Off == 0 && r.End < 0 { // the whole object, the first request (get.go)
		if g := r.s.fastGetter(ctx); g != nil {
			var resp *http.Response
			if resp, err = g.get(ctx, r.s.tr, r.s.fullKey(r.Key)); err == nil {
				body, info, h = resp.Body, infoOf(resp), resp.Header
				r.s.fastHits.Add(1)
			} else {
				r.s.fastMisses.Add(1)
			}
		}
	}
	if err == errFastMiss {
		body, info, h, err = r.s.core.GetObject(ctx, r.s.cfg.Bucket, r.s.fullKey(r.Key), opts)
	}
	if err != nil {
		cancel()
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) && er.Code == "InvalidRange" {
		r.End = r.Off // past the end: nothing to read
		return nil
	}
	if err != nil {
		if errors.As(err, &er) && er.Code == "PreconditionFailed" {
			return store.Permanent(fmt.Errorf("object changed while it was read (ETag is no longer %s)", r.etag))
		}
		return err
	}
	if r.etag == "" {
		r.etag = info.ETag
		r.entry = entryOf(r.Key, info, h)
		if cr := h.Get("Content-Range"); cr != "" { // the size of the object, not of the range
			if i := strings.LastIndexByte(cr, '/'); i >= 0 {
				if size, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
					r.entry.Size = size
				}
			}
		}
	}
	r.Body = wrap(body)
	return nil
}

// List calls fn for each object whose key (relative to Config.Prefix)
// starts with prefix and sorts after startAfter, in the server's order
// (byte order on S3). An object whose key ends in '/' is listed as a
// File under that key when it holds bytes: it is data, which a copy must
// not lose (issue 15). An empty one is a directory marker, which a console
// or another tool left to show a "folder": it is listed as store.Special
// with the reason "directory marker", so that a copy reports it skipped
// and verify leaves it out, on either side. A listing cut by a retryable
// failure resumes after the last key listed.
func (s *S3) List(ctx context.Context, prefix, startAfter string, fn func(store.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	full := s.fullKey(prefix)
	// S3 takes UTF-8 only; a byte prefix or marker cut inside a character
	// is sent cut back to a whole one, and the rest is filtered here.
	sentPrefix := store.ValidPrefix(full)
	after := ""
	if startAfter != "" {
		after = s.fullKey(startAfter)
	}
	marker := store.ValidPrefix(after)
	// each reports one listed object, if it is one of the listing's.
	each := func(o minio.ObjectInfo) error {
		switch {
		case o.Key <= after:
			return nil
		case !strings.HasPrefix(o.Key, full):
			if o.Key > full {
				return store.ErrListingEnd
			}
			return nil
		}
		key := o.Key[len(s.cfg.Prefix):]
		if key == "" {
			return nil // the prefix itself, as a directory marker
		}
		e := entryOf(key, o, nil)
		if strings.HasSuffix(key, "/") && o.Size == 0 {
			e.Kind, e.Detail = store.Special, directoryMarker
		}
		if err := fn(e); err != nil {
			return store.CallbackError(err)
		}
		return nil
	}
	fast := s.fastGetter(ctx)
	return s.retry.ResumeListing(ctx, prefix, func(progressed *bool) error {
		// Pages read without minio-go (list.go), while they can be; the
		// rest by minio-go, from the page that could not be.
		for fast != nil {
			page, err := fast.list(ctx, s.tr, sentPrefix, marker, listPage)
			if err != nil {
				break
			}
			s.fastPages.Add(1)
			before := marker
			for _, o := range page.objects {
				marker, *progressed = o.Key, true
				if err := each(o); err != nil {
					return err
				}
			}
			if !page.truncated {
				return ctx.Err()
			}
			if page.nextMarker > marker {
				marker = page.nextMarker
			}
			if marker == before { // truncated, with nothing to go on from
				break
			}
		}
		for o := range s.client.ListObjectsIter(ctx, s.cfg.Bucket, minio.ListObjectsOptions{
			Prefix: sentPrefix, StartAfter: marker, Recursive: true, UseV1: true, MaxKeys: listPage}) {
			if o.Err != nil {
				return s.classify("", o.Err)
			}
			marker, *progressed = o.Key, true
			if err := each(o); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
}

// directoryMarker is the Detail of an empty object whose key ends in '/'.
const directoryMarker = "directory marker"

// Delete removes key; a missing key is an error wrapping store.ErrNotExist.
func (s *S3) Delete(ctx context.Context, key string) error {
	if _, err := s.Stat(ctx, key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	err := s.do(ctx, key, func(ctx context.Context) error {
		return s.client.RemoveObject(ctx, s.cfg.Bucket, s.fullKey(key), minio.RemoveObjectOptions{})
	})
	if err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}
