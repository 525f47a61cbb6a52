package e2e

import (
	"crypto/sha256"
	"fmt"
	"hash/crc64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// redirectWeb starts two web servers on loopback, two hosts: "a" serves
// here.txt itself and redirects moved.txt within itself and away.txt to
// "b", which serves it. It returns the list file of the three URLs on a
// and the files as they should land.
func redirectWeb(t *testing.T, h *home) (a, b *httptest.Server, list string, want map[string]fileInfo) {
	t.Helper()
	body := map[string]string{"here.txt": "served by a\n", "moved.txt": "moved within a\n", "away.txt": "served by b, a redirected here\n"}
	b = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/b/away.txt" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC), strings.NewReader(body["away.txt"]))
	}))
	t.Cleanup(b.Close)
	a = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a/here.txt":
			http.ServeContent(w, r, "", time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC), strings.NewReader(body["here.txt"]))
		case "/a/moved.txt":
			http.Redirect(w, r, "/a/new/moved.txt", http.StatusMovedPermanently)
		case "/a/new/moved.txt":
			http.ServeContent(w, r, "", time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC), strings.NewReader(body["moved.txt"]))
		case "/a/away.txt":
			http.Redirect(w, r, b.URL+"/b/away.txt", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(a.Close)
	var l strings.Builder
	want = map[string]fileInfo{}
	for k, v := range body {
		fmt.Fprintf(&l, "%s/a/\t%s\n", a.URL, k)
		want[k] = fileInfo{size: int64(len(v)), sum: sha256.Sum256([]byte(v)), crc: crc64.Checksum([]byte(v), crcTable)}
	}
	list = filepath.Join(h.root, "http.list")
	writeFile(t, list, l.String())
	return a, b, list, want
}

// TestHTTPRedirectRefused: by default a URL of the list that redirects to
// another host fails alone, READ_ERROR naming the URL and the target, and
// its bytes are not copied; a redirect within the URL's host is followed
// and noted in the audit line. The summary says where the job read from:
// the URL list.
func TestHTTPRedirectRefused(t *testing.T) {
	t.Parallel()
	h := newHome(t, "http-redirect-refused")
	a, b, list, want := redirectWeb(t, h)
	h.writeJob(h.jobFile, kv{"srcType", "http"}, kv{"srcPrefix", ""}, kv{"httpListFilePath", list})
	r := h.ferry(2*time.Minute, "run", h.jobFile)
	if r.code != 1 {
		t.Fatalf("run: want exit 1 (away.txt failed):\n%s", r)
	}
	if !strings.Contains(r.stdout, "  from   URL list "+list+"\n") {
		t.Errorf("run's summary does not say it read the URL list %s:\n%s", list, r)
	}
	delete(want, "away.txt")
	checkTree(t, want, h.dst)
	as := h.attempts()
	errs, fails := failures(as)
	if len(errs) != 1 || errs[0] != "away.txt" {
		t.Errorf("error.list keys %q, want just away.txt", errs)
	}
	wantDetail := "READ_ERROR: "
	if len(fails) != 1 || !strings.HasPrefix(fails[0].detail, wantDetail) ||
		!strings.Contains(fails[0].detail, a.URL+"/a/away.txt redirects to "+b.URL+"/b/away.txt") ||
		!strings.Contains(fails[0].detail, "httpFollowRedirects=true") || strings.Contains(fails[0].detail, "attempts") {
		t.Errorf("FAIL records %+v, want one of away.txt: READ_ERROR naming %s/a/away.txt and %s/b/away.txt and the setting, not retried",
			fails, a.URL, b.URL)
	}
	checkRedirectNotes(t, as, map[string]string{"moved.txt": a.URL + "/a/new/moved.txt"})
	if st := h.stat(); st.files != 2 || st.filesTotal != 3 || st.filesFailed != 1 {
		t.Errorf("stat %+v, want 2 files of 3 done, 1 failed", st)
	}
}

// TestHTTPRedirectFollowed: with httpFollowRedirects=true the bytes of the
// other host are copied, the audit line of that entry says where they came
// from, and stat and verify (which read the audit and the list again) agree.
func TestHTTPRedirectFollowed(t *testing.T) {
	t.Parallel()
	h := newHome(t, "http-redirect-followed")
	a, b, list, want := redirectWeb(t, h)
	h.writeJob(h.jobFile, kv{"srcType", "http"}, kv{"srcPrefix", ""}, kv{"httpListFilePath", list}, kv{"httpFollowRedirects", "true"})
	if r := h.ferry(2*time.Minute, "run", h.jobFile); r.code != 0 {
		t.Fatalf("run: want exit 0:\n%s", r)
	}
	checkTree(t, want, h.dst)
	as := h.attempts()
	checkOnce(t, "OK records", keyCounts(as, "OK"), want)
	checkRecords(t, as, want)
	checkRedirectNotes(t, as, map[string]string{"moved.txt": a.URL + "/a/new/moved.txt", "away.txt": b.URL + "/b/away.txt"})
	var bytes int64
	for _, f := range want {
		bytes += f.size
	}
	if st := h.stat(); st.files != 3 || st.filesFailed != 0 || st.bytes != bytes {
		t.Errorf("stat %+v, want 3 files, %d bytes, none failed", st, bytes)
	}
	h.s3VerifyClean(len(want))
}

// checkRedirectNotes wants each record's detail to end with
// "redirected=<URL>" for the keys of notes, and no such note on the others.
func checkRedirectNotes(t *testing.T, as []attempt, notes map[string]string) {
	t.Helper()
	for _, a := range as {
		for _, rec := range a.records {
			u, ok := notes[rec.key]
			switch {
			case ok && rec.result == "OK" && !strings.HasSuffix(rec.detail, "redirected="+u):
				t.Errorf("audit record of %q: detail %q, want it to end with redirected=%s", rec.key, rec.detail, u)
			case !ok && strings.Contains(rec.detail, "redirected="):
				t.Errorf("audit record of %q: detail %q notes a redirect, but it had none", rec.key, rec.detail)
			}
		}
	}
}
