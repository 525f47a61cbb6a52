package upyun

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/store"
	"ferry/store/storetest"
	"ferry/store/upyun/upyuntest"
)

func newStore(t *testing.T, srv *upyuntest.Server, cfg Config) *Upyun {
	t.Helper()
	cfg.Endpoint, cfg.Bucket = srv.URL, srv.Bucket
	if cfg.Operator == "" {
		cfg.Operator, cfg.Password = srv.Operator, srv.Password
	}
	cfg.RetryBase = time.Millisecond
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunWith(t, storetest.Options{Refuses: storetest.NotUTF8}, func(t *testing.T) store.Store {
		// Pages of 3 names: every listing crosses pages.
		return newStore(t, upyuntest.Start(t), Config{Prefix: "root/", ListLimit: 3})
	})
}

// TestSignDocumented: the signature of the example in Upyun's
// documentation (operator123 / password123, a PUT with Content-MD5).
func TestSignDocumented(t *testing.T) {
	got := Sign("operator123", "password123", "PUT", "/upyun-temp/demo.jpg", "Wed, 09 Nov 2016 14:26:58 GMT",
		"7ac66c0f148de9519b8bd264312c4d64")
	if want := "UPYUN operator123:YUaAZX+WNAcJdNGHS5SBlITME5A="; got != want {
		t.Fatalf("Sign = %q, want the documented %q", got, want)
	}
	if d := Date(time.Date(2016, 11, 9, 22, 26, 58, 0, time.FixedZone("CST", 8*3600))); d != "Wed, 09 Nov 2016 14:26:58 GMT" {
		t.Fatalf("Date = %q", d)
	}
}

// TestBadSignatureRefused: the server refuses a wrong password (401,
// counted), and New says which keys to check in one line, without the
// password; the right password is accepted.
func TestBadSignatureRefused(t *testing.T) {
	srv := upyuntest.Start(t)
	_, err := New(context.Background(), Config{Endpoint: srv.URL, Bucket: srv.Bucket, Operator: srv.Operator,
		Password: "wrong-password", RetryBase: time.Millisecond})
	if err == nil || !errors.Is(err, store.ErrPermission) || !strings.Contains(err.Error(), "check srcAccessKey (the operator) and srcSecretKey") ||
		strings.Contains(err.Error(), "wrong-password") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("New with a wrong password = %v", err)
	}
	if srv.Refused.Load() != 1 {
		t.Fatalf("the server refused %d requests, want 1 (a 401 is not retried)", srv.Refused.Load())
	}
	newStore(t, srv, Config{})
	if srv.Refused.Load() != 1 {
		t.Fatalf("the right password was refused")
	}
}

// TestListWalk: files in nested folders, with names sorting around '/',
// empty folders, pages of 2, a prefix inside a name and startAfter inside
// a folder; List gives byte order and skips folders before startAfter.
func TestListWalk(t *testing.T) {
	srv := upyuntest.Start(t)
	now := time.Unix(1700000000, 0)
	keys := []string{"docs/a-b", "docs/a.b", "docs/a/x", "docs/a/y/z", "docs/a0", "docs/b", "docs/c/d/e", "other/f", "docs-old/g"}
	for _, k := range keys {
		srv.Put(k, []byte(k), now)
	}
	srv.Put("docs/empty/x", nil, now)
	srv.Remove("docs/empty/x") // leaves the folder, empty
	s := newStore(t, srv, Config{Prefix: "docs/", ListLimit: 2})
	list := func(prefix, after string) []string {
		var got []string
		err := s.List(context.Background(), prefix, after, func(e store.Entry) error {
			if e.Size != int64(len("docs/"+e.Key)) || !e.MTime.Equal(now) {
				t.Errorf("%q: size %d mtime %v", e.Key, e.Size, e.MTime)
			}
			got = append(got, e.Key)
			return nil
		})
		if err != nil {
			t.Fatalf("List(%q, %q): %v", prefix, after, err)
		}
		return got
	}
	if got, want := list("", ""), []string{"a-b", "a.b", "a/x", "a/y/z", "a0", "b", "c/d/e"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
	if got, want := list("a", "a/x"), []string{"a/y/z", "a0"}; !slices.Equal(got, want) {
		t.Errorf("List(a, a/x) = %q, want %q", got, want)
	}
	before := srv.Requests.Load()
	if got, want := list("", "a0"), []string{"b", "c/d/e"}; !slices.Equal(got, want) {
		t.Errorf("List(after a0) = %q, want %q", got, want)
	}
	// The root (4 pages of 2: a-b a.b a a0 b c empty), c, c/d and the
	// empty folder: folder a is skipped, as all its keys are before a0.
	if n := srv.Requests.Load() - before; n != 7 {
		t.Errorf("List(after a0) made %d requests, want 7 (folder a not entered)", n)
	}
	if got := list("nope/", ""); len(got) != 0 {
		t.Errorf("List(nope/) = %q", got)
	}
}

// TestRetriesBusy: 429 and 503 are retried (and counted) for a listing, a
// HEAD and a read.
func TestRetriesBusy(t *testing.T) {
	srv := upyuntest.Start(t)
	s := newStore(t, srv, Config{})
	ctx, counter := store.WithRetryCounter(context.Background())
	storetest.Put(t, s, "a/b", "content")
	srv.Busy.Store(3)
	if got := storetest.List(t, s, "", ""); !slices.Equal(got, []string{"a/b"}) {
		t.Fatalf("List = %q", got)
	}
	srv.Busy.Store(2)
	if _, err := s.Stat(ctx, "a/b"); err != nil {
		t.Fatal(err)
	}
	srv.Busy.Store(2)
	rc, err := s.Open(ctx, "a/b", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err != nil || string(b) != "content" {
		t.Fatalf("read %q, %v", b, err)
	}
	if srv.Throttled.Load() != 7 || counter.Retries() != 4 {
		t.Fatalf("throttled %d, retries counted %d; want 7 and 4", srv.Throttled.Load(), counter.Retries())
	}
}

// TestChangedWhileRead: a file replaced between two ranges of one reader
// fails the read instead of mixing versions.
func TestChangedWhileRead(t *testing.T) {
	srv := upyuntest.Start(t)
	s := newStore(t, srv, Config{})
	srv.Put("f", []byte(strings.Repeat("1", 1000)), time.Unix(1700000000, 0))
	r, err := s.Open(context.Background(), "f", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(r)
	srv.Put("f", []byte(strings.Repeat("2", 1000)), time.Unix(1700000001, 0))
	rd := r.(*reader)
	rd.Off, rd.End, rd.Body = 10, -1, nil
	if _, err := io.ReadAll(rd); err == nil || !strings.Contains(err.Error(), "changed while it was read") {
		t.Fatalf("reading on after the file changed: %v", err)
	}
}

// TestEndpoint: ossimport's srcDomain values, with and without scheme;
// paths are refused.
func TestEndpoint(t *testing.T) {
	srv := upyuntest.Start(t)
	host := strings.TrimPrefix(srv.URL, "http://")
	for _, ep := range []string{srv.URL, host, srv.URL + "/"} {
		if _, err := New(context.Background(), Config{Endpoint: ep, Bucket: srv.Bucket, Operator: srv.Operator, Password: srv.Password}); err != nil {
			t.Errorf("New(%q): %v", ep, err)
		}
	}
	_, err := New(context.Background(), Config{Endpoint: srv.URL + "/mybucket", Bucket: srv.Bucket, Operator: "o", Password: "p"})
	if err == nil || !strings.Contains(err.Error(), "not an Upyun API endpoint") {
		t.Errorf("New with a path in the endpoint = %v", err)
	}
}
