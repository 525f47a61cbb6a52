package e2e

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// screenshotDir is where TestDashboardBrowser writes its screenshots:
// $FERRY_E2E_OUT when set, else a new directory it prints.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FERRY_E2E_OUT")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "ferry-dashboard-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts Debian's chromium, headless, for the test; it ends with
// the test.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := requireBin(t, "chromium", "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	get(t, ctx, what, chromedp.Steps(steps...))
}

// get runs one browser action that returns a value, within 30 s.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return strings.TrimSpace(get(t, ctx, "read "+sel, chromedp.TextContent(chromedp.CSS(sel))))
}

func number(t *testing.T, ctx context.Context, sel string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(text(t, ctx, sel), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return n
}

// TestDashboardBrowser drives the dashboard in a real browser (Debian's
// chromium, headless, through the DevTools protocol): a wrong token gets
// nothing; the right one shows the job, whose counters move while it runs;
// a new throttle shows in the measured rate within 2 s; an entry that
// failed (a directory stands where its copy goes) is listed with its
// reason, and once the cause is removed, Retry re-queues it and it is
// copied. POSTs without the session cookie, or with it but without the
// anti-forgery token, are refused. Screenshots of the jobs page and the
// job's page are written to screenshotDir.
func TestDashboardBrowser(t *testing.T) {
	ctx := browser(t)
	shots := screenshotDir(t)
	h := newHome(t, "webjob")
	genSizedTree(t, h.src, 400, 32<<10, 5)
	writeFile(t, filepath.Join(h.src, "a-conflict.bin"), "fails until its destination is free")
	blocker := filepath.Join(h.dst, "a-conflict.bin")
	writeFile(t, filepath.Join(blocker, "keep"), "a directory where the copy goes")
	addr := h.withHTTP()
	base := "http://" + addr
	const slow, fast = 1 << 20, 3 << 20
	h.writeJob(h.jobFile, kv{"taskObjectCountLimit", "20"}, kv{"maxThroughput", strconv.Itoa(slow)})
	h.start()
	h.must(30*time.Second, "submit", h.jobFile)

	// A wrong token: back to the login form, no job named.
	run(t, ctx, "wrong token",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), "not-the-token"),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("login-failed")))
	body := get(t, ctx, "page", chromedp.OuterHTML(chromedp.CSS("html")))
	if strings.Contains(body, "webjob") {
		t.Errorf("a wrong token shows the job:\n%s", body)
	}
	run(t, ctx, "jobs without a session", chromedp.Navigate(base+"/api/jobs"))
	body = text(t, ctx, "body")
	if strings.Contains(body, "webjob") || !strings.Contains(body, "unauthorized") {
		t.Errorf("/api/jobs without a session: %q", body)
	}

	// The right token: the jobs page lists the job.
	run(t, ctx, "log in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), h.token()),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#jobs tr[data-job="webjob"]`)))
	loc := get(t, ctx, "location", chromedp.Location())
	if u, _ := url.Parse(loc); u.Path != "/" {
		t.Errorf("after log in at %s, want /", loc)
	}
	png := get(t, ctx, "screenshot of the jobs page", chromedp.FullScreenshot(100))
	writeFile(t, filepath.Join(shots, "jobs.png"), string(png))

	// The job's page: its counters move.
	run(t, ctx, "job page", chromedp.Click(chromedp.CSS(`#jobs tr[data-job="webjob"] a`)),
		chromedp.WaitVisible(chromedp.ID("files-done")))
	first := number(t, ctx, "#files-done")
	waitFor(t, 30*time.Second, "the page's file count to move", func() bool { return number(t, ctx, "#files-done") > first })
	t.Logf("files done moved on the page from %d to %d", first, number(t, ctx, "#files-done"))

	// The session cookie (HttpOnly: scripts cannot read it; DevTools can)
	// without the anti-forgery token, and no cookie at all: refused.
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "ferry_session" {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", session)
	}
	for _, withCookie := range []bool{false, true} {
		req, _ := http.NewRequest("POST", base+"/api/jobs/webjob/throttle", strings.NewReader("rate=1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withCookie {
			req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST throttle, cookie %v, no anti-forgery token: %s, want refused", withCookie, resp.Status)
		}
	}
	if l := text(t, ctx, "#limit"); l != "1.0MB/s" {
		t.Errorf("limit after refused POSTs: %s, want 1.0MB/s", l)
	}

	// The throttle: the measured rate follows within 2 s.
	rate := func() float64 {
		v := get(t, ctx, "rate", chromedp.AttributeValue(chromedp.ID("rate-now"), "data-bps"))
		f, _ := strconv.ParseFloat(v.Value, 64)
		return f
	}
	near := func(r, want float64) bool { return r > want*0.75 && r < want*1.25 }
	waitFor(t, 30*time.Second, "the rate to settle at the first limit", func() bool { return near(rate(), slow) })
	run(t, ctx, "set the limit",
		chromedp.SetValue(chromedp.ID("throttle-rate"), strconv.Itoa(fast)),
		chromedp.Click(chromedp.ID("throttle-set")))
	set := time.Now()
	var followed time.Duration
	for followed == 0 && time.Since(set) < 10*time.Second {
		if near(rate(), fast) {
			followed = time.Since(set)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("rate on the page followed the new limit (%d B/s) in %s", fast, followed.Round(time.Millisecond))
	if followed == 0 || followed > 2*time.Second {
		t.Errorf("the rate followed the limit in %s (0: not within 10 s), want within 2 s", followed)
	}
	if l := text(t, ctx, "#limit"); l != "3.0MB/s" {
		t.Errorf("limit shown: %s, want 3.0MB/s", l)
	}

	// The failed entry, listed with its reason; fixed, retried, copied.
	waitFor(t, 2*time.Minute, "the failed entry on the page", func() bool {
		return strings.Contains(text(t, ctx, "#failed tbody"), "a-conflict.bin")
	})
	reason := text(t, ctx, "#failed tbody")
	t.Logf("failed entry on the page: %s", reason)
	if !strings.Contains(reason, "WRITE_ERROR") && !strings.Contains(reason, "ERROR") {
		t.Errorf("failed entry without its reason: %q", reason)
	}
	if n := number(t, ctx, "#files-failed"); n != 1 {
		t.Errorf("failed count %d, want 1", n)
	}
	if err := os.RemoveAll(blocker); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "retry", chromedp.Click(chromedp.ID("retry")))
	waitFor(t, 10*time.Second, "retry's answer", func() bool { return strings.Contains(text(t, ctx, "#retry-result"), "re-queued 1 entries") })
	waitFor(t, 2*time.Minute, "the job to end with nothing failed", func() bool {
		return text(t, ctx, "#state") == "Succeed" && number(t, ctx, "#files-failed") == 0
	})
	if b, err := os.ReadFile(blocker); err != nil || string(b) != "fails until its destination is free" {
		t.Errorf("the retried entry at the destination: %q, %v", b, err)
	}
	if st := h.statJSON(); st.FilesDone != 401 || st.FilesFailed != 0 {
		t.Errorf("stat at the end: %+v, want 401 done", st)
	}
	png = get(t, ctx, "screenshot of the job page", chromedp.FullScreenshot(100))
	writeFile(t, filepath.Join(shots, "job.png"), string(png))
	t.Logf("screenshots: %s/jobs.png, %s/job.png", shots, shots)
}
