package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/internal/nettest"
)

// TestHTTPStalls copies an http URL list whose servers misbehave (issue
// 15, defect 5): one URL's server accepts connections and never answers,
// one URL's body stalls mid-way twice, one URL's GET sends 600 bytes where
// its HEAD said 1000. With the network deadlines shortened to 1 s and the
// retries' backoff to 1 ms (FERRY_NET_IDLE_TIMEOUT, FERRY_NET_RETRY_BASE:
// for tests), the scan gets past the silent URL, which fails READ_ERROR
// with its reason after its retries; the stalled body resumes and
// copies; the short one fails SIZE_NOT_MATCH with both sizes; every other
// file copies, and the job ends (exit 1) well within the test's deadline.
func TestHTTPStalls(t *testing.T) {
	t.Parallel()
	h := newHome(t, "http-stalls")
	good := map[string][]byte{}
	for i := range 20 {
		good[fmt.Sprintf("ok/f%02d.txt", i)] = bytes.Repeat([]byte{byte('a' + i)}, 100+i*31)
	}
	stallBody := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	var stallGets atomic.Int64
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := strings.TrimPrefix(r.URL.Path, "/")
		switch {
		case key == "stall.bin":
			w.Header().Set("ETag", `"s1"`)
			if r.Method == http.MethodGet && stallGets.Add(1) <= 2 {
				// Stall at a quarter of the body (or at once, if
				// resumed past it), until ferry gives up.
				var off int
				fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-", &off)
				w = &nettest.StallWriter{ResponseWriter: w, Ctx: r.Context(), Left: max(0, len(stallBody)/4-off)}
			}
			http.ServeContent(w, r, "", mtime, bytes.NewReader(stallBody))
		case key == "short.bin":
			w.Header().Set("Last-Modified", mtime.Format(http.TimeFormat))
			if r.Method == http.MethodHead {
				w.Header().Set("Content-Length", "1000")
				return
			}
			w.Header().Set("Content-Length", "600")
			w.Write(bytes.Repeat([]byte("s"), 600))
		case good[key] != nil:
			http.ServeContent(w, r, "", mtime, bytes.NewReader(good[key]))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(web.Close)
	silent := nettest.SilentServer(t)

	var list strings.Builder
	for k := range good {
		fmt.Fprintf(&list, "%s/\t%s\n", web.URL, k)
	}
	fmt.Fprintf(&list, "%s/\tstall.bin\n%s/\tshort.bin\n%s/\tsilent.bin\n", web.URL, web.URL, silent)
	listFile := filepath.Join(h.root, "http.list")
	writeFile(t, listFile, list.String())
	h.writeJob(h.jobFile, kv{"srcType", "http"}, kv{"srcPrefix", ""}, kv{"httpListFilePath", listFile},
		kv{"httpPrefixColumn", "1"}, kv{"relativePathColumn", "2"})
	h.env = append(h.env, "FERRY_NET_IDLE_TIMEOUT=1s", "FERRY_NET_RETRY_BASE=1ms")

	r := h.ferry(30*time.Second, "run", h.jobFile)
	if r.code != 1 {
		t.Fatalf("want exit 1 (two entries failed):\n%s", r)
	}
	t.Logf("run took %v", r.took)
	for k, b := range good {
		if got, err := os.ReadFile(filepath.Join(h.dst, filepath.FromSlash(k))); err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s: %d bytes at the destination (%v), want %d", k, len(got), err, len(b))
		}
	}
	if got, err := os.ReadFile(filepath.Join(h.dst, "stall.bin")); err != nil || !bytes.Equal(got, stallBody) {
		t.Errorf("stall.bin: %d bytes at the destination (%v), want %d", len(got), err, len(stallBody))
	}
	if n := stallGets.Load(); n < 3 {
		t.Errorf("stall.bin was asked for %d times; want two stalled GETs and a resumed one", n)
	}
	for _, k := range []string{"short.bin", "silent.bin"} {
		if _, err := os.Stat(filepath.Join(h.dst, k)); !os.IsNotExist(err) {
			t.Errorf("%s is at the destination (%v): it should have failed", k, err)
		}
	}
	fails := map[string]string{}
	for _, a := range h.attempts() {
		for _, rec := range a.records {
			if rec.result == "FAIL" {
				fails[rec.key] = rec.detail
			}
		}
	}
	// The scan lists silent.bin "size unknown" after one header timeout;
	// the copy asks again, 10 times, and fails it.
	if d := fails["silent.bin"]; !strings.HasPrefix(d, "READ_ERROR: ") || !strings.Contains(d, "timeout awaiting response headers (after 10 attempts)") {
		t.Errorf("silent.bin: FAIL %q, want READ_ERROR: ... timeout awaiting response headers (after 10 attempts)", d)
	}
	if d := fails["short.bin"]; !strings.HasPrefix(d, "SIZE_NOT_MATCH: the source said 1000 bytes") || !strings.Contains(d, "sent 600") {
		t.Errorf("short.bin: FAIL %q, want SIZE_NOT_MATCH with both sizes", d)
	}
	if len(fails) != 2 {
		t.Errorf("FAIL records %q, want silent.bin and short.bin only", fails)
	}
}
