package httpd_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"ferry/conf"
	"ferry/master"
	"ferry/master/httpd"
	"ferry/task"
)

const token = "s3cret-token-of-the-master"

func newServer(t *testing.T) (*httptest.Server, *master.Master) {
	t.Helper()
	dir := t.TempDir()
	m, err := master.Open(master.Config{Dir: filepath.Join(dir, "master"), LeaseDur: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	spec := conf.DefaultSpec("secretjobname")
	spec.Src = task.Endpoint{Type: "local", Prefix: filepath.Join(dir, "src")}
	spec.Dest = task.Endpoint{Type: "local", Prefix: filepath.Join(dir, "dst")}
	if err := m.Submit(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpd.New(httpd.Config{Master: m, Token: token}).Handler())
	t.Cleanup(srv.Close)
	return srv, m
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

// Without the token nothing is learnt: pages send to the login form, the
// API and /metrics answer 401, a wrong token gets no cookie.
func TestNoSessionLearnsNothing(t *testing.T) {
	srv, _ := newServer(t)
	c := client()
	for _, p := range []string{"/", "/jobs/secretjobname", "/api/jobs", "/api/jobs/secretjobname", "/metrics"} {
		resp, err := c.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		b := body(t, resp)
		if strings.Contains(b, "secretjobname") {
			t.Errorf("GET %s without a session shows the job's name:\n%s", p, b)
		}
		if strings.HasPrefix(p, "/api/") || p == "/metrics" {
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("GET %s: %s, want 401", p, resp.Status)
			}
		} else if resp.Request.URL.Path != "/login" {
			t.Errorf("GET %s ended at %s, want /login", p, resp.Request.URL)
		}
	}
	resp, err := c.PostForm(srv.URL+"/login", url.Values{"token": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, resp)
	if len(resp.Cookies()) != 0 || len(c.Jar.Cookies(resp.Request.URL)) != 0 || strings.Contains(b, "secretjobname") {
		t.Errorf("a wrong token got a cookie or the jobs: %v\n%s", c.Jar.Cookies(resp.Request.URL), b)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	if resp, _ := http.DefaultClient.Do(req); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/metrics with a wrong bearer: %s", resp.Status)
	}
	// A POST without a session is refused, and changes nothing.
	resp, err = c.PostForm(srv.URL+"/api/jobs/secretjobname/throttle", url.Values{"rate": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("throttle without a session: %s", resp.Status)
	}
}

func login(t *testing.T, srv *httptest.Server) (*http.Client, string) {
	t.Helper()
	c := client()
	resp, err := c.PostForm(srv.URL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	page := body(t, resp)
	if resp.Request.URL.Path != "/" || !strings.Contains(page, "secretjobname") {
		t.Fatalf("log in ended at %s:\n%s", resp.Request.URL, page)
	}
	i := strings.Index(page, `<meta name="csrf" content="`)
	if i < 0 {
		t.Fatal("no anti-forgery token in the page")
	}
	csrf := page[i+len(`<meta name="csrf" content="`):]
	return c, csrf[:strings.IndexByte(csrf, '"')]
}

// The session cookie is HttpOnly and SameSite=Strict; a POST needs it and
// the anti-forgery token, and comes from the same origin.
func TestSessionAndAntiForgery(t *testing.T) {
	srv, m := newServer(t)
	// The cookie's attributes, as sent.
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).
		PostForm(srv.URL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	set := resp.Header.Get("Set-Cookie")
	if !strings.Contains(set, "HttpOnly") || !strings.Contains(set, "SameSite=Strict") || strings.Contains(set, token) {
		t.Errorf("session cookie %q: want HttpOnly, SameSite=Strict, not the token", set)
	}
	c, csrf := login(t, srv)
	post := func(csrfValue, origin string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api/jobs/secretjobname/throttle", strings.NewReader("rate=4096"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if csrfValue != "" {
			req.Header.Set("X-Ferry-Csrf", csrfValue)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	limit := func() int64 {
		j, err := m.DB().Job("secretjobname")
		if err != nil {
			t.Fatal(err)
		}
		return j.JobLimits(time.Now()).BytesPerSec
	}
	if code := post("", ""); code != http.StatusForbidden || limit() != 0 {
		t.Errorf("POST with the cookie but no anti-forgery token: %d, limit %d; want 403 and no change", code, limit())
	}
	if code := post("forged", ""); code != http.StatusForbidden || limit() != 0 {
		t.Errorf("POST with a wrong anti-forgery token: %d, limit %d", code, limit())
	}
	if code := post(csrf, "http://evil.example"); code != http.StatusForbidden || limit() != 0 {
		t.Errorf("POST from another origin: %d, limit %d", code, limit())
	}
	if code := post(csrf, srv.URL); code != http.StatusOK || limit() != 4096 {
		t.Errorf("POST with session and token: %d, limit %d; want 200 and 4096", code, limit())
	}
	// Logged in, /metrics answers, and lints clean.
	resp, err = c.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	text := body(t, resp)
	if !strings.Contains(text, `ferry_job_throttle_bytes_per_second{job="secretjobname"} 4096`) {
		t.Errorf("/metrics lacks the throttle:\n%s", text)
	}
	problems, err := promlint.New(strings.NewReader(text)).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %+v", err, problems)
	}
	if strings.Contains(text, token) {
		t.Error("/metrics shows the token")
	}
}
