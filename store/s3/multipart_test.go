package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/store"
	"ferry/store/s3test"
	"ferry/store/storetest"
)

const MiB = 1 << 20

// randomBytes returns n bytes that do not compress.
func randomBytes(n int, seed uint64) []byte {
	var s [32]byte
	s[0], s[1] = byte(seed), byte(seed>>8)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// source returns a MultipartPutter src over b.
func source(b []byte) func(off, n int64) (io.ReadCloser, error) {
	return func(off, n int64) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(b[off : off+n])), nil
	}
}

func crcOf(b []byte) uint64 { return crc64.Checksum(b, store.CRC64Table) }

// checkObject checks key's content and that Stat reports its CRC64.
func checkObject(t *testing.T, s *S3, key string, want []byte) store.Entry {
	t.Helper()
	if got := storetest.Read(t, s, key, 0, -1); got != string(want) {
		t.Fatalf("content of %q differs (%d bytes, want %d)", key, len(got), len(want))
	}
	e, err := s.Stat(context.Background(), key)
	if err != nil {
		t.Fatalf("Stat(%q): %v", key, err)
	}
	if e.Size != int64(len(want)) || !e.HasCRC || e.CRC64 != crcOf(want) {
		t.Fatalf("Stat(%q) = size %d crc %016x (has %v), want size %d crc %016x", key, e.Size, e.CRC64, e.HasCRC, len(want), crcOf(want))
	}
	return e
}

// TestMultipartResume kills an upload of 4 parts after 2 and resumes it
// from the saved state: only the 2 missing parts are sent again.
func TestMultipartResume(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	s := open(t, config(srv, px.URL, "resume/"))
	data := randomBytes(20*MiB, 1)
	mtime := time.Unix(1700000000, 123456789)

	ctx, cancel := context.WithCancel(context.Background())
	var saved store.MultipartState
	opt := store.MultipartOptions{PartSize: 5 * MiB, Threads: 1, OnPart: func(st store.MultipartState) error {
		saved = st
		if len(st.Parts) == 2 {
			cancel() // the worker dies here
		}
		return nil
	}}
	state := &store.MultipartState{}
	px.SetFaults(s3test.Faults{})
	_, err := s.PutMultipart(ctx, "big.bin", source(data), int64(len(data)), store.Entry{MTime: mtime}, opt, state)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("PutMultipart cancelled = %v, want context.Canceled", err)
	}
	if n := px.Count(s3test.KindPart); n != 2 || len(saved.Parts) != 2 || saved.UploadID == "" || saved.PartSize != 5*MiB {
		t.Fatalf("before the crash: %d part PUTs, saved %+v", n, saved)
	}
	if _, err := s.Stat(context.Background(), "big.bin"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Stat of an unfinished upload = %v, want ErrNotExist", err)
	}
	var uploads []store.Upload
	s.ListUploads(context.Background(), "", func(u store.Upload) error { uploads = append(uploads, u); return nil })
	if len(uploads) != 1 || uploads[0].Key != "big.bin" || uploads[0].UploadID != saved.UploadID {
		t.Fatalf("ListUploads = %+v, want the one of big.bin", uploads)
	}

	// A new worker resumes from what the master kept.
	px.SetFaults(s3test.Faults{})
	resumed := saved.Clone()
	opt.OnPart = func(st store.MultipartState) error { saved = st; return nil }
	e, err := s.PutMultipart(context.Background(), "big.bin", source(data), int64(len(data)), store.Entry{MTime: mtime}, opt, &resumed)
	if err != nil {
		t.Fatalf("resumed PutMultipart: %v", err)
	}
	if n := px.Count(s3test.KindPart); n != 2 {
		t.Fatalf("the resumed upload sent %d parts, want the 2 missing ones", n)
	}
	t.Logf("resume: %v", px)
	if e.CRC64 != crcOf(data) || !e.HasCRC || e.Size != int64(len(data)) {
		t.Fatalf("PutMultipart = %+v, want crc %016x", e, crcOf(data))
	}
	st := checkObject(t, s, "big.bin", data)
	if !st.MTime.Equal(mtime) {
		t.Fatalf("mtime = %v, want %v", st.MTime, mtime)
	}
	uploads = nil
	s.ListUploads(context.Background(), "", func(u store.Upload) error { uploads = append(uploads, u); return nil })
	if len(uploads) != 0 {
		t.Fatalf("uploads left: %+v", uploads)
	}

	// The crash came after completing, before the master heard of it: the
	// same state again finds the object and sends nothing.
	px.SetFaults(s3test.Faults{})
	again := saved.Clone()
	if _, err := s.PutMultipart(context.Background(), "big.bin", source(data), int64(len(data)), store.Entry{MTime: mtime}, opt, &again); err != nil {
		t.Fatalf("PutMultipart of a completed upload: %v", err)
	}
	if n := px.Count(s3test.KindPart) + px.Count(s3test.KindCreate); n != 0 {
		t.Fatalf("%d part or create requests for an upload completed earlier", n)
	}
}

func TestMultipartParallelKnownCRC(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	s := open(t, config(srv, px.URL, ""))
	data := randomBytes(22*MiB+3, 2)
	px.SetFaults(s3test.Faults{})
	e := store.Entry{CRC64: crcOf(data), HasCRC: true, Meta: map[string]string{"x-amz-meta-owner": "ops"}}
	var calls int
	opt := store.MultipartOptions{PartSize: 5 * MiB, Threads: 4, OnPart: func(store.MultipartState) error { calls++; return nil }}
	if _, err := s.PutMultipart(context.Background(), "dir/par.bin", source(data), int64(len(data)), e, opt, nil); err != nil {
		t.Fatalf("PutMultipart: %v", err)
	}
	if px.Count(s3test.KindPart) != 5 || px.Count(s3test.KindCopy) != 0 || calls != 6 {
		t.Fatalf("%v; OnPart called %d times; want 5 parts, no copy (CRC known up front), 6 calls", px, calls)
	}
	st := checkObject(t, s, "dir/par.bin", data)
	if st.Meta["x-amz-meta-owner"] != "ops" || st.Meta["content-type"] != "application/octet-stream" {
		t.Fatalf("Meta = %v", st.Meta)
	}
}

func TestMultipartWrongCRCAborts(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	s := open(t, config(srv, srv.URL, ""))
	data := randomBytes(11*MiB, 3)
	e := store.Entry{CRC64: crcOf(data) ^ 1, HasCRC: true}
	state := &store.MultipartState{}
	_, err := s.PutMultipart(context.Background(), "bad.bin", source(data), int64(len(data)), e, store.MultipartOptions{PartSize: 5 * MiB}, state)
	if err == nil || !strings.Contains(err.Error(), "CRC64") || store.IsRetryable(err) {
		t.Fatalf("PutMultipart with a wrong expected CRC = %v, want a permanent CRC64 error", err)
	}
	if _, err := s.Stat(context.Background(), "bad.bin"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Stat = %v, want ErrNotExist", err)
	}
	n := 0
	s.ListUploads(context.Background(), "", func(store.Upload) error { n++; return nil })
	if n != 0 || state.UploadID != "" {
		t.Fatalf("%d uploads left, state %+v; want the upload aborted", n, state)
	}
}

func TestAbortUpload(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	s := open(t, config(srv, srv.URL, "p/"))
	data := randomBytes(12*MiB, 4)
	ctx, cancel := context.WithCancel(context.Background())
	var saved store.MultipartState
	opt := store.MultipartOptions{PartSize: 5 * MiB, OnPart: func(st store.MultipartState) error {
		saved = st
		cancel()
		return nil
	}}
	s.PutMultipart(ctx, "a/x", source(data), int64(len(data)), store.Entry{}, opt, nil)
	var keys []string
	s.ListUploads(context.Background(), "a/", func(u store.Upload) error { keys = append(keys, u.Key); return nil })
	if !slices.Equal(keys, []string{"a/x"}) {
		t.Fatalf("ListUploads(a/) = %q", keys)
	}
	if err := s.AbortUpload(context.Background(), "a/x", saved.UploadID); err != nil {
		t.Fatalf("AbortUpload: %v", err)
	}
	if err := s.AbortUpload(context.Background(), "a/x", saved.UploadID); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("second AbortUpload = %v, want ErrNotExist", err)
	}
	// Resuming an aborted upload starts again.
	state := saved.Clone()
	opt.OnPart = nil
	if _, err := s.PutMultipart(context.Background(), "a/x", source(data), int64(len(data)), store.Entry{}, opt, &state); err != nil {
		t.Fatalf("PutMultipart after abort: %v", err)
	}
	checkObject(t, s, "a/x", data)
}

// TestPutLarge sends more than PutThreshold through Put: a multipart
// upload, whose CRC lands in the metadata by a server-side copy.
func TestPutLarge(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	cfg := config(srv, px.URL, "")
	cfg.PutThreshold, cfg.PartSize = 6*MiB, 5*MiB
	s := open(t, cfg)
	data := randomBytes(13*MiB, 5)
	px.SetFaults(s3test.Faults{})
	e := storetest.Put(t, s, "large.bin", string(data))
	if !e.HasCRC || px.Count(s3test.KindCreate) != 1 || px.Count(s3test.KindPart) != 3 || px.Count(s3test.KindCopy) != 1 {
		t.Fatalf("Put of 13 MiB: %+v; %v; want 1 upload of 3 parts and a copy", e, px)
	}
	checkObject(t, s, "large.bin", data)
	// Exactly the threshold is one PUT.
	px.SetFaults(s3test.Faults{})
	storetest.Put(t, s, "six.bin", string(data[:6*MiB]))
	if px.Count(s3test.KindPut) != 1 || px.Count(s3test.KindPart) != 0 {
		t.Fatalf("Put of 6 MiB: %v, want one PUT", px)
	}
	checkObject(t, s, "six.bin", data[:6*MiB])
}

// recorder keeps the headers of the PUT requests it carries.
type recorder struct {
	mu   sync.Mutex
	puts []http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		r.mu.Lock()
		r.puts = append(r.puts, req.Header.Clone())
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

// TestMetadata checks the metadata written and read back. gofakes3 keeps
// only Content-Type, Content-Disposition, Content-Encoding and x-amz-meta-*,
// so Cache-Control is checked on the request.
func TestMetadata(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	rec := &recorder{}
	cfg := config(srv, srv.URL, "")
	cfg.Transport = rec
	s := open(t, cfg)
	ctx := context.Background()
	mtime := time.Date(2020, 2, 29, 12, 30, 45, 987654321, time.UTC)
	meta := map[string]string{
		"content-type":           "text/csv",
		"cache-control":          "max-age=60",
		"content-disposition":    `attachment; filename="r.csv"`,
		"content-encoding":       "identity",
		"x-amz-meta-owner":       "ops",
		"x-amz-meta-ferry-crc64": "0000000000000000", // ferry's own are not passed through
	}
	if _, err := s.Put(ctx, "r.csv", strings.NewReader("a,b\n"), store.Entry{MTime: mtime, Meta: meta}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	e, err := s.Stat(ctx, "r.csv")
	if err != nil {
		t.Fatal(err)
	}
	if h := rec.puts[len(rec.puts)-1]; h.Get("Cache-Control") != "max-age=60" || h.Get("X-Amz-Meta-Ferry-Crc64") != fmt.Sprintf("%016x", crcOf([]byte("a,b\n"))) ||
		h.Get("X-Amz-Meta-Ferry-Mtime") != "1582979445987654321" || h.Get("Content-Md5") == "" {
		t.Errorf("PUT headers: %v", h)
	}
	delete(meta, "x-amz-meta-ferry-crc64")
	delete(meta, "cache-control")
	for k, v := range meta {
		if e.Meta[k] != v {
			t.Errorf("Meta[%s] = %q, want %q (all: %v)", k, e.Meta[k], v, e.Meta)
		}
	}
	if !e.MTime.Equal(mtime) || !e.HasCRC || e.CRC64 != crcOf([]byte("a,b\n")) {
		t.Errorf("Stat = %+v, want the source mtime and the CRC", e)
	}
	// An object-to-object copy passes the metadata on from OpenStat's entry.
	rc, src, err := s.OpenStat(ctx, "r.csv")
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if src.Meta["content-disposition"] != meta["content-disposition"] || src.Size != 4 || !src.HasCRC {
		t.Errorf("OpenStat's Entry = %+v", src)
	}
	// A file source: the type is guessed from the extension.
	if _, err := s.Put(ctx, "page.html", strings.NewReader("<p>"), store.Entry{}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Stat(ctx, "page.html"); !strings.HasPrefix(e.Meta["content-type"], "text/html") {
		t.Errorf("content-type of page.html = %q", e.Meta["content-type"])
	}
}
