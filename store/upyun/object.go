package upyun

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ferry/store"
)

// Stat returns the entry of key from a HEAD: its size and mtime
// (x-upyun-file-size, x-upyun-file-date), its MD5 as the ETag, its content
// type. A missing key, or a folder, is an error wrapping
// store.ErrNotExist.
func (s *Upyun) Stat(ctx context.Context, key string) (store.Entry, error) {
	if err := s.readableKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("stat: %w", err)
	}
	var e store.Entry
	err := s.do(ctx, key, func(ctx context.Context) error {
		resp, err := s.request(ctx, http.MethodHead, s.fullKey(key), nil, nil, "")
		if err != nil {
			return err
		}
		resp.Body.Close()
		h := resp.Header
		if h.Get("X-Upyun-File-Type") == "folder" {
			return store.Permanent(fmt.Errorf("%w: a folder, not a file", store.ErrNotExist))
		}
		size, err := strconv.ParseInt(h.Get("X-Upyun-File-Size"), 10, 64)
		if err != nil {
			return store.Permanent(fmt.Errorf("HEAD: x-upyun-file-size %q: %v", h.Get("X-Upyun-File-Size"), err))
		}
		date, err := strconv.ParseInt(h.Get("X-Upyun-File-Date"), 10, 64)
		if err != nil {
			return store.Permanent(fmt.Errorf("HEAD: x-upyun-file-date %q: %v", h.Get("X-Upyun-File-Date"), err))
		}
		e = entryOf(key, size, time.Unix(date, 0), h)
		return nil
	})
	if err != nil {
		return store.Entry{}, fmt.Errorf("stat %q: %w", key, err)
	}
	return e, nil
}

// entryOf describes a file from its size, mtime and response headers.
func entryOf(key string, size int64, mtime time.Time, h http.Header) store.Entry {
	e := store.Entry{Key: key, Size: size, MTime: mtime, Kind: store.File, ETag: md5Of(h)}
	if ct := h.Get("Content-Type"); ct != "" {
		e.Meta = map[string]string{store.MetaContentType: ct}
	}
	return e
}

// md5Of returns the file's MD5 a response reports (Content-MD5, else a
// plain MD5 ETag), in lower-case hex, or "".
func md5Of(h http.Header) string {
	for _, v := range []string{h.Get("Content-MD5"), h.Get("ETag")} {
		v = strings.ToLower(strings.Trim(v, `"`))
		if _, err := hex.DecodeString(v); err == nil && len(v) == 2*md5.Size {
			return v
		}
	}
	return ""
}

// Open returns n bytes of key from off (n < 0: to the end), by ranged
// GETs. A cut or stalled body resumes from the next byte; the resumed
// response must describe the same file (size, mtime, MD5), else the read
// fails as changed.
func (s *Upyun) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := s.readableKey(key); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if off < 0 {
		return nil, fmt.Errorf("open %q: negative offset %d", key, off)
	}
	r := &reader{s: s, key: key}
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
		r.entry, r.known = e, true
		return r, nil
	}
	if err := r.Start(); err != nil {
		return nil, fmt.Errorf("open %q: %w", key, err)
	}
	return r, nil
}

// OpenStat opens the whole of key with one GET and returns it with the
// entry that GET's response describes (Content-Length or Content-Range,
// Last-Modified, Content-MD5).
func (s *Upyun) OpenStat(ctx context.Context, key string) (store.Opened, store.Entry, error) {
	rc, err := s.Open(ctx, key, 0, -1)
	if err != nil {
		return nil, store.Entry{}, err
	}
	r := rc.(*reader)
	return store.Pinned{ReadCloser: r, At: &r.entry}, r.entry, nil
}

// reader reads a range of a file, resuming after failures.
type reader struct {
	store.Resumer
	s     *Upyun
	key   string
	entry store.Entry
	known bool      // entry is set
	sum   hash.Hash // MD5 of what was read, when the whole file is read and its MD5 known
}

// get starts a GET from r.Off.
func (r *reader) get(ctx context.Context) error {
	h := http.Header{}
	switch {
	case r.End >= 0:
		if r.End <= r.Off {
			return nil
		}
		h.Set("Range", fmt.Sprintf("bytes=%d-%d", r.Off, r.End-1))
	case r.Off > 0:
		h.Set("Range", fmt.Sprintf("bytes=%d-", r.Off))
	}
	ctx, wrap, cancel := store.IdleRequest(ctx, r.s.cfg.Timeouts.Idle)
	resp, err := r.s.request(ctx, http.MethodGet, r.s.fullKey(r.key), h, nil, "")
	if errors.Is(err, errRange) {
		cancel()
		if !r.known {
			e, serr := r.s.Stat(r.Ctx, r.key)
			if serr != nil {
				return serr
			}
			r.entry, r.known = e, true
		}
		r.End = r.Off // past the end: nothing to read
		return nil
	}
	if err != nil {
		cancel()
		return err
	}
	size := int64(-1)
	if cr := resp.Header.Get("Content-Range"); cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			size, _ = strconv.ParseInt(cr[i+1:], 10, 64)
		}
	} else if resp.StatusCode == http.StatusOK && r.Off == 0 {
		size = resp.ContentLength
	} else if resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		cancel()
		return store.Permanent(fmt.Errorf("the server ignored the range from byte %d", r.Off))
	}
	mtime, _ := http.ParseTime(resp.Header.Get("Last-Modified"))
	e := entryOf(r.key, size, mtime, resp.Header)
	if r.known && (e.Size != r.entry.Size || !e.MTime.Equal(r.entry.MTime) || e.ETag != r.entry.ETag) {
		resp.Body.Close()
		cancel()
		return store.Permanent(fmt.Errorf("file changed while it was read (size/mtime/MD5 %d/%s/%s, then %d/%s/%s)",
			r.entry.Size, r.entry.MTime.Format(time.RFC3339), r.entry.ETag, e.Size, e.MTime.Format(time.RFC3339), e.ETag))
	}
	if !r.known {
		r.entry, r.known = e, true
		if r.Off == 0 && (r.End < 0 || r.End >= e.Size) && e.ETag != "" {
			r.sum = md5.New()
		}
	}
	if e.Size >= 0 && (r.End < 0 || r.End > e.Size) {
		r.End = max(e.Size, r.Off)
	}
	r.Body = wrap(&md5Body{ReadCloser: resp.Body, r: r})
	return nil
}

// md5Body hashes what a reader reads of a whole file and, at its end,
// compares it with the MD5 Upyun reported.
type md5Body struct {
	io.ReadCloser
	r *reader
}

func (b *md5Body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	r := b.r
	if r.sum == nil {
		return n, err
	}
	r.sum.Write(p[:n])
	if err == io.EOF && r.Off+int64(n) >= r.entry.Size {
		got := hex.EncodeToString(r.sum.Sum(nil))
		r.sum = nil
		if got != r.entry.ETag {
			return n, store.Permanent(fmt.Errorf("the bytes read have MD5 %s, not the file's %s (Content-MD5)", got, r.entry.ETag))
		}
	}
	return n, err
}
