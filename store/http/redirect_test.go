package httpstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/store"
)

// redirectHosts starts two listeners on loopback, two hosts: "a", which
// redirects /root/away (and /root/away-with-password) to b's /files/away and /root/here to its own
// /moved/here, and "b", which serves /files/away. It counts a's requests
// for /root/away and all of b's.
func redirectHosts(t *testing.T) (a, b *httptest.Server, aAway, bAll *atomic.Int64) {
	aAway, bAll = &atomic.Int64{}, &atomic.Int64{}
	b = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bAll.Add(1)
		if r.URL.Path != "/files/away" {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC), strings.NewReader("bytes from b"))
	}))
	t.Cleanup(b.Close)
	a = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/root/away", "/root/away-with-password":
			aAway.Add(1)
			http.Redirect(w, r, b.URL+"/files/away", http.StatusFound)
		case "/root/here":
			http.Redirect(w, r, "/moved/here", http.StatusMovedPermanently)
		case "/moved/here":
			http.ServeContent(w, r, "", time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC), strings.NewReader("bytes moved on a"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(a.Close)
	return a, b, aAway, bAll
}

// TestRedirectToAnotherHostRefused: by default a URL that redirects to
// another host fails, at once (no retries) and naming the URL and the
// target, and the other host is never asked; a redirect within the URL's
// host is followed and noted.
func TestRedirectToAnotherHostRefused(t *testing.T) {
	a, b, aAway, bAll := redirectHosts(t)
	h := newStore(t, writeList(t, a.URL+"/root/\tx\taway", a.URL+"/root/\tx\there",
		"http://u:s3cr3t@"+a.Listener.Addr().String()+"/root/\tx\taway-with-password"))
	ctx, notes := store.WithNotes(context.Background())

	_, err := readAll(ctx, h, "away")
	if err == nil {
		t.Fatal("read of a URL redirecting to another host succeeded")
	}
	for _, want := range []string{a.URL + "/root/away", b.URL + "/files/away", "httpFollowRedirects"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if store.IsRetryable(err) {
		t.Errorf("error %q is retryable; the server would redirect again", err)
	}
	if _, err := h.Stat(ctx, "away"); err == nil || !strings.Contains(err.Error(), b.URL+"/files/away") {
		t.Errorf("Stat = %v, want the redirect refused", err)
	}
	// A password in the list's URL is not repeated.
	_, err = readAll(ctx, h, "away-with-password")
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "http://u:xxxxx@"+a.Listener.Addr().String()) {
		t.Errorf("error %v: want the URL named with its password hidden", err)
	}
	if n := aAway.Load(); n != 3 {
		t.Errorf("a was asked for /root/away* %d times, want 3 (two reads, one Stat: no retries)", n)
	}
	if n := bAll.Load(); n != 0 {
		t.Errorf("b was asked %d times, want never", n)
	}
	if s := notes.String(); s != "" {
		t.Errorf("notes %q after refused redirects, want none", s)
	}

	got, err := readAll(ctx, h, "here")
	if err != nil || string(got) != "bytes moved on a" {
		t.Fatalf("read of a redirect within the host: %q, %v", got, err)
	}
	if s, want := notes.String(), "redirected="+a.URL+"/moved/here"; s != want {
		t.Errorf("notes %q, want %q", s, want)
	}

	// The listing reports the refused URL with the reason, like any URL
	// that cannot be asked.
	var detail string
	err = h.List(context.Background(), "", "", func(e store.Entry) error {
		if e.Key == "away" {
			detail = e.Detail
		}
		return nil
	})
	if err != nil || !strings.Contains(detail, b.URL+"/files/away") {
		t.Errorf("List: %v; detail of away %q, want the redirect named", err, detail)
	}
}

// TestRedirectToAnotherHostFollowed: with httpFollowRedirects the other
// host's bytes are read, and the URL they came from is noted for the
// entry's audit line.
func TestRedirectToAnotherHostFollowed(t *testing.T) {
	a, b, _, bAll := redirectHosts(t)
	h := newStore(t, writeList(t, a.URL+"/root/\tx\taway"))
	h.SetFollowRedirects(true)
	ctx, notes := store.WithNotes(context.Background())
	e, err := h.Stat(ctx, "away")
	if err != nil || e.Size != int64(len("bytes from b")) {
		t.Fatalf("Stat = %+v, %v", e, err)
	}
	got, err := readAll(ctx, h, "away")
	if err != nil || string(got) != "bytes from b" {
		t.Fatalf("read = %q, %v; want b's bytes", got, err)
	}
	if s, want := notes.String(), "redirected="+b.URL+"/files/away"; s != want {
		t.Errorf("notes %q, want %q (once, though asked twice)", s, want)
	}
	if bAll.Load() == 0 {
		t.Error("b was never asked")
	}
}

// TestRedirectLoop: an endless chain of redirects within the host fails,
// permanently, naming the URL.
func TestRedirectLoop(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Redirect(w, r, "/loop/"+r.URL.Path[len("/loop/"):]+"x", http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	h := newStore(t, writeList(t, srv.URL+"/loop/\tx\tf"))
	_, err := readAll(context.Background(), h, "f")
	if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") || !strings.Contains(err.Error(), srv.URL+"/loop/f") || store.IsRetryable(err) {
		t.Errorf("read = %v, want a permanent error naming the URL and the 10 redirects", err)
	}
	if n.Load() != maxRedirects {
		t.Errorf("%d requests, want %d", n.Load(), maxRedirects)
	}
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"http://h/a", "http://h/b", true},
		{"http://h/a", "http://H:80/b", true},
		{"https://h/a", "https://h:443/b", true},
		{"http://h:8080/a", "http://h:8081/a", false},
		{"http://127.0.0.1:8080/a", "http://localhost:8080/a", false},
		{"http://h/a", "https://h/a", false},
		{"https://h/a", "http://h/a", false},
		{"http://h/a", "http://g/a", false},
	} {
		a, _ := url.Parse(tc.a)
		b, _ := url.Parse(tc.b)
		if got := sameOrigin(a, b); got != tc.want {
			t.Errorf("sameOrigin(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
