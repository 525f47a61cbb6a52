package httpstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"ferry/store"
	"ferry/store/storetest"
)

// files are served by the test server: names that need escaping in URLs.
var files = map[string]string{
	"aa/bb.jpg":               "jpeg bytes",
	"with space.txt":          "spaces",
	"hash#tag":                "hash",
	"what?.txt":               "question",
	"100%.txt":                "percent",
	"ünïcödé/ファイル":            "unicode",
	"plus+and&amp;=.txt":      "sub-delims",
	"dir/sub/deep.bin":        strings.Repeat("0123456789", 1000),
	"semi;colon,comma@at.txt": "more",
}

// serve starts a file server for files at /root/, counting requests and
// failing the first fail503 of them with 503.
func serve(t *testing.T, fail503 int) (*httptest.Server, *atomic.Int64) {
	dir := t.TempDir()
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	for name, content := range files {
		p := filepath.Join(dir, "root", filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chtimes(p, mtime, mtime)
	}
	var n atomic.Int64
	fs := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= int64(fail503) {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fs.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// listFile writes a list of files in the given order, with the prefix
// column first and the relative path in column 3.
func listFile(t *testing.T, base string, names []string, tabs bool) string {
	var b strings.Builder
	b.WriteString("# ferry test list\n\n")
	for _, n := range names {
		if tabs {
			fmt.Fprintf(&b, "%s/root/\tignored\t%s\n", base, n)
		} else {
			fmt.Fprintf(&b, "%s/root/   ignored  %s\r\n", base, n)
		}
	}
	p := filepath.Join(t.TempDir(), "http.list")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newStore(t *testing.T, list string) *HTTP {
	h, err := New(list, 1, 3, store.Timeouts{})
	if err != nil {
		t.Fatal(err)
	}
	h.SetRetry(store.RetryPolicy{Attempts: 5, Base: time.Millisecond, Max: 5 * time.Millisecond})
	t.Cleanup(func() { h.Close() })
	return h
}

func names() []string {
	var out []string
	for n := range files {
		out = append(out, n)
	}
	return out
}

func TestReadThrough(t *testing.T) {
	srv, _ := serve(t, 0)
	all := names()
	slices.Sort(all)
	unsorted := slices.Clone(all)
	slices.Reverse(unsorted)
	for _, tabs := range []bool{false, true} {
		var list []string
		for _, n := range unsorted {
			if tabs || !strings.Contains(n, " ") { // without tabs, names cannot hold blanks
				list = append(list, n)
			}
		}
		h := newStore(t, listFile(t, srv.URL, list, tabs))
		got := storetest.List(t, h, "", "")
		want := slices.Sorted(slices.Values(list))
		if !slices.Equal(got, want) {
			t.Fatalf("tabs=%v: List = %q, want %q", tabs, got, want)
		}
		ctx := context.Background()
		for _, n := range list {
			if c := storetest.Read(t, h, n, 0, -1); c != files[n] {
				t.Errorf("content of %q = %q, want %q", n, c, files[n])
			}
			e, err := h.Stat(ctx, n)
			if err != nil || e.Size != int64(len(files[n])) || e.MTime.Year() != 2021 {
				t.Errorf("Stat(%q) = %+v, %v", n, e, err)
			}
		}
		deep := files["dir/sub/deep.bin"]
		for _, r := range []struct{ off, n int64 }{{0, 10}, {5, 100}, {9990, -1}, {9990, 100}, {10000, -1}, {10000, 5}, {3, 0}} {
			end := int64(len(deep))
			if r.n >= 0 {
				end = min(end, r.off+r.n)
			}
			if got := storetest.Read(t, h, "dir/sub/deep.bin", r.off, r.n); got != deep[r.off:end] {
				t.Errorf("Read(%d, %d) = %q", r.off, r.n, got)
			}
		}
		if got := storetest.List(t, h, "dir/", ""); !slices.Equal(got, []string{"dir/sub/deep.bin"}) {
			t.Errorf("List(dir/) = %q", got)
		}
		var after []string
		for _, k := range want {
			if k > "what" {
				after = append(after, k)
			}
		}
		if got := storetest.List(t, h, "", "what"); !slices.Equal(got, after) || len(after) < 2 {
			t.Errorf("List(after what) = %q", got)
		}
		if _, err := h.Stat(ctx, "not/listed"); !errors.Is(err, store.ErrNotExist) {
			t.Errorf("Stat(not listed) = %v", err)
		}
		if _, err := h.Put(ctx, "x", strings.NewReader("x"), store.Entry{}, store.PutOptions{}); !errors.Is(err, ErrReadOnly) {
			t.Errorf("Put = %v, want ErrReadOnly", err)
		}
	}
}

func TestExternalSortAndDuplicates(t *testing.T) {
	srv, _ := serve(t, 0)
	defer func(n int) { runBytes = n }(runBytes)
	runBytes = 300 // a run per few lines: many runs to merge
	var list []string
	for i := range 500 {
		list = append(list, fmt.Sprintf("k%03d", (i*7919)%500))
	}
	list = append(list, "k007", "k123") // the same key and URL again
	h := newStore(t, listFile(t, srv.URL, list, false))
	var got []string
	err := h.List(context.Background(), "", "", func(e store.Entry) error {
		got = append(got, e.Key)
		if !strings.Contains(e.Detail, "404") {
			t.Errorf("%q: Detail %q, want the 404 of its HEAD", e.Key, e.Detail)
		}
		return nil
	})
	if err != nil || len(got) != 500 || !slices.IsSorted(got) || got[0] != "k000" {
		t.Fatalf("List = %d keys (sorted %v), %v", len(got), slices.IsSorted(got), err)
	}
	if rc, err := h.Open(context.Background(), "k042", 0, -1); !errors.Is(err, store.ErrNotExist) {
		if rc != nil {
			rc.Close()
		}
		t.Fatalf("Open of a 404 = %v, want ErrNotExist", err)
	}

	p := listFile(t, srv.URL, []string{"a", "b"}, false)
	os.WriteFile(p, append(must(os.ReadFile(p)), "http://elsewhere/ x a\n"...), 0o644)
	bad := newStore(t, p)
	if err := bad.List(context.Background(), "", "", func(store.Entry) error { return nil }); err == nil || !strings.Contains(err.Error(), "different URLs, lines") {
		t.Fatalf("List of a list with a key twice = %v", err)
	}
	short := filepath.Join(t.TempDir(), "short.list")
	os.WriteFile(short, []byte("http://h/ a\n"), 0o644)
	if err := newStore(t, short).List(context.Background(), "", "", func(store.Entry) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "short.list:1: 2 columns") {
		t.Fatalf("List of a list with too few columns = %v", err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestRetries(t *testing.T) {
	srv, n := serve(t, 3)
	h := newStore(t, listFile(t, srv.URL, []string{"aa/bb.jpg"}, false))
	ctx, retries := store.WithRetryCounter(context.Background())
	e, err := h.Stat(ctx, "aa/bb.jpg")
	if err != nil || e.Size != int64(len(files["aa/bb.jpg"])) || retries.Retries() != 3 || n.Load() != 4 {
		t.Fatalf("Stat through 3 503s = %+v, %v; %d retries, %d requests", e, err, retries.Retries(), n.Load())
	}
}

func TestEscapePath(t *testing.T) {
	for in, want := range map[string]string{
		"a b/c#d?e%f": "a%20b/c%23d%3Fe%25f",
		"ü/x+y":       "%C3%BC/x+y",
		"/lead":       "/lead",
	} {
		if got := escapePath(in); got != want {
			t.Errorf("escapePath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestResumeAfterCut cuts the first two GETs halfway: the reader resumes
// where it stopped, with a Range, and the content is whole.
func TestResumeAfterCut(t *testing.T) {
	dir := t.TempDir()
	content := strings.Repeat("abcdefghij", 100000)
	os.Mkdir(filepath.Join(dir, "root"), 0o755)
	os.WriteFile(filepath.Join(dir, "root", "big"), []byte(content), 0o644)
	var gets atomic.Int64
	var mu sync.Mutex
	var ranges []string
	fs := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.Method == http.MethodGet {
			ranges = append(ranges, r.Header.Get("Range"))
		}
		mu.Unlock()
		if r.Method == http.MethodGet && gets.Add(1) <= 2 {
			w.Header().Set("Content-Length", fmt.Sprint(len(content)))
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(content[:len(content)/4]))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		fs.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = nil
	t.Cleanup(srv.Close)
	h := newStore(t, listFile(t, srv.URL, []string{"big"}, false))
	if got := storetest.Read(t, h, "big", 0, -1); got != content {
		t.Fatalf("read %d bytes, want %d", len(got), len(content))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ranges) != 3 || ranges[0] != "" || ranges[1] != "bytes=250000-" || ranges[2] != "bytes=250000-" {
		t.Fatalf("ranges asked: %q", ranges)
	}
}
