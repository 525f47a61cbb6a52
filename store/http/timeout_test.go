package httpstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/nettest"
	"ferry/store"
)

// Servers that stop answering: each request must fail (or resume) within
// the store's deadlines instead of hanging.

var short = store.Timeouts{Connect: 300 * time.Millisecond, Header: 300 * time.Millisecond, Idle: 300 * time.Millisecond}

// stallServer serves content at every path, ranges and If-Match honoured;
// the first stalls GETs stall at byte len(content)/4 (or at once if they
// start past it), holding the connection open until the client gives up.
func stallServer(t *testing.T, content []byte, stalls int) (*httptest.Server, *atomic.Int64) {
	var gets atomic.Int64
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Method == http.MethodGet && gets.Add(1) <= int64(stalls) {
			// Stall at a quarter of the content, or at once if past it.
			var off int
			fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &off)
			w = &nettest.StallWriter{ResponseWriter: w, Ctx: r.Context(), Left: max(0, len(content)/4-off)}
		}
		http.ServeContent(w, r, "", mtime, bytes.NewReader(content))
	}))
	t.Cleanup(srv.Close)
	return srv, &gets
}

// writeList writes a list file of lines "prefix<TAB>x<TAB>name".
func writeList(t *testing.T, lines ...string) string {
	p := filepath.Join(t.TempDir(), "http.list")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func shortStore(t *testing.T, list string, attempts int) *HTTP {
	h, err := New(list, 1, 3, short)
	if err != nil {
		t.Fatal(err)
	}
	h.SetRetry(store.RetryPolicy{Attempts: attempts, Base: time.Millisecond, Max: 5 * time.Millisecond})
	t.Cleanup(func() { h.Close() })
	return h
}

func readAll(ctx context.Context, h *HTTP, key string) ([]byte, error) {
	rc, err := h.Open(ctx, key, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// TestStallMidBodyFails: a URL whose body always stalls fails its read
// with an idle timeout after the retries; another URL of the same server
// reads whole.
func TestStallMidBodyFails(t *testing.T) {
	content := bytes.Repeat([]byte("0123456789"), 10000)
	stalling, _ := stallServer(t, content, 1000)
	fine, _ := stallServer(t, content, 0)
	h := shortStore(t, writeList(t, stalling.URL+"/\tx\tstall.bin", fine.URL+"/\tx\tfine.bin"), 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	start := time.Now()
	_, err := readAll(ctx, h, "stall.bin")
	var idle *store.IdleError
	if !errors.As(err, &idle) || ctx.Err() != nil {
		t.Fatalf("read of the stalling URL: %v (after %v), want an idle timeout", err, time.Since(start))
	}
	if store.Attempts(err) != 3 {
		t.Errorf("attempts = %d, want 3: %v", store.Attempts(err), err)
	}
	t.Logf("stalled read: %v after %v", err, time.Since(start))
	got, err := readAll(ctx, h, "fine.bin")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read of the other URL: %d bytes, %v", len(got), err)
	}
}

// TestStallMidBodyResumes: a body that stalls twice is resumed where it
// stopped, and reads whole.
func TestStallMidBodyResumes(t *testing.T) {
	content := bytes.Repeat([]byte("abcdefghij"), 10000)
	srv, gets := stallServer(t, content, 2)
	h := shortStore(t, writeList(t, srv.URL+"/\tx\tstall.bin"), 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := readAll(ctx, h, "stall.bin")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read: %d of %d bytes, %v", len(got), len(content), err)
	}
	if n := gets.Load(); n != 3 {
		t.Fatalf("%d GETs, want 3 (two stalled, resumed)", n)
	}
}

// TestListPastSilentURL: a URL whose server accepts connections and never
// answers is listed, after one header timeout, with "size unknown"; the
// others are listed with their sizes, and the listing does not wait on it
// for long.
func TestListPastSilentURL(t *testing.T) {
	content := []byte("twelve bytes")
	srv, _ := stallServer(t, content, 0)
	silent := nettest.SilentServer(t)
	h := shortStore(t, writeList(t, srv.URL+"/\tx\ta.txt", silent+"/\tx\tb.silent", srv.URL+"/\tx\tc.txt"), 5)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	start := time.Now()
	var got []store.Entry
	err := h.List(ctx, "", "", func(e store.Entry) error { got = append(got, e); return nil })
	took := time.Since(start)
	if err != nil || len(got) != 3 {
		t.Fatalf("List = %+v, %v after %v", got, err, took)
	}
	if took > 5*time.Second {
		t.Errorf("List took %v: it waited on the silent URL", took)
	}
	for _, e := range got {
		switch e.Key {
		case "b.silent":
			if !strings.HasPrefix(e.Detail, "size unknown: ") || !strings.Contains(e.Detail, "timeout") {
				t.Errorf("silent URL listed as %+v, want size unknown with a timeout", e)
			}
		default:
			if e.Size != int64(len(content)) || e.Detail != "" {
				t.Errorf("%s listed as %+v", e.Key, e)
			}
		}
	}
	t.Logf("listed in %v; silent URL: %s", took, got[1].Detail)

	// Stat retries, each attempt bounded: it fails, and does not hang.
	if _, err := h.Stat(ctx, "b.silent"); err == nil || ctx.Err() != nil || store.Attempts(err) != 5 {
		t.Fatalf("Stat of the silent URL: %v", err)
	}
}
