package httpstore

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"ferry/store"
)

// Redirects. A list names the URLs a job copies; a redirect to another
// origin (scheme, host or port) would fetch the bytes from a server the
// list does not name, so it is followed only when the job says so
// (httpFollowRedirects=true). Within the URL's own origin a redirect is
// followed always: the same server moves a name around on its own site
// (a trailing '/', a versioned path), which changes nothing about whom
// the bytes come from. Every redirect followed is noted in the entry's
// audit line with the URL the bytes came from.

// maxRedirects is the longest chain followed, as Go's default client.
const maxRedirects = 10

// redirectError is a redirect that was not followed, naming the URL asked
// for and where it led: permanent, as the server would answer the same
// again.
type redirectError struct {
	from, to string // redacted (no password)
	why      string
}

func (e *redirectError) Error() string {
	return fmt.Sprintf("%s redirects to %s: %s", e.from, e.to, e.why)
}

// checkRedirect is the client's CheckRedirect: req is the next request,
// via the ones made so far, via[0] the URL of the list.
func (h *HTTP) checkRedirect(req *http.Request, via []*http.Request) error {
	from := via[0].URL
	switch {
	case len(via) >= maxRedirects:
		return &redirectError{from: from.Redacted(), to: req.URL.Redacted(), why: fmt.Sprintf("stopped after %d redirects", maxRedirects)}
	case h.followRedirects || sameOrigin(from, req.URL):
		return nil
	}
	return &redirectError{from: from.Redacted(), to: req.URL.Redacted(),
		why: "another host; set httpFollowRedirects=true in job.cfg to follow redirects to other hosts"}
}

// sameOrigin reports whether a and b have the same scheme, host and port
// (a missing port is the scheme's).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// noteRedirect notes in ctx (store.Note) the URL resp came from when a
// redirect led there from req's.
func noteRedirect(ctx context.Context, req *http.Request, resp *http.Response) {
	if resp.Request != nil && resp.Request != req && resp.Request.URL.String() != req.URL.String() {
		store.Note(ctx, "redirected", resp.Request.URL.Redacted())
	}
}
