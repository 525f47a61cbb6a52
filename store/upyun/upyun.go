// Package upyun is the Store backend for Upyun's cloud storage (USS,
// ossimport's srcType youpai), over its REST API with a client of its own
// (no Go SDK is available here): the signed Authorization of every request
// (HMAC-SHA1 keyed by the MD5 of the operator's password, see Sign), the
// folder listing paged with x-list-iter, HEAD for a file's size and mtime,
// ranged GETs. ossimport's keys keep their meaning: srcDomain is the API
// endpoint (http://v0.api.upyun.com), srcAccessKey the operator,
// srcSecretKey the operator's password, srcBucket the service name.
//
// It has been tested against upyuntest, a server written from Upyun's
// documentation of the protocol, not against Upyun itself.
//
// Upyun keeps files in folders, so List walks them depth first, one
// folder's listing at a time (a folder's names are held while its
// subfolders are walked, so memory follows the largest folder, not the
// whole tree), and merges each folder's files and subfolders into byte
// order of the keys. Keys are paths relative to Config.Prefix in the
// service; keys that are not UTF-8 are refused (store.ErrInvalidKey), as
// are those store.CheckKey refuses. Mtimes are whole seconds, as Upyun
// keeps them.
//
// Reading: a read that is cut or stalls resumes where it stopped; the
// resumed response must describe the same file (size, mtime, MD5), else
// the read fails as changed. A whole file read is checked against the MD5
// Upyun reports (Content-MD5).
//
// Put (for tests and completeness: ferry copies from Upyun, not to it)
// sends a file in one PUT of at most MaxPut bytes with its Content-MD5,
// which Upyun checks.
package upyun

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"ferry/store"
)

var (
	_ store.Store      = (*Upyun)(nil)
	_ store.StatOpener = (*Upyun)(nil)
	_ store.Deleter    = (*Upyun)(nil)
)

// Config says where a store is and how to reach it.
type Config struct {
	Endpoint string // srcDomain: http[s]://host[:port]; no scheme means http, as ossimport's template
	Operator string // srcAccessKey
	Password string // srcSecretKey
	Bucket   string // srcBucket: the service name
	Prefix   string // root of the store in the service
	Role     string // "src" or "dest", for messages; empty means "src"
	// Transport carries the requests (tests); nil means a default one with
	// the deadlines of Timeouts.
	Transport http.RoundTripper
	Timeouts  store.Timeouts
	// RetryBase is the delay before the first retry; 0 means
	// store.DefaultRetry's.
	RetryBase time.Duration
	// ListLimit is the number of names asked per listing request (1 to
	// 10000); 0 means 1000.
	ListLimit int
}

// MaxPut is the largest content Put sends (in one request).
const MaxPut = 64 << 20

// eofIter is the x-list-iter Upyun answers after a folder's last page.
const eofIter = "g2gCZAAEbmV4dGQAA2VvZg"

// Upyun is a Store over one service and prefix. It is safe for concurrent
// use.
type Upyun struct {
	cfg    Config
	base   string // scheme://host[:port]
	pwMD5  string
	client *http.Client
	retry  store.RetryPolicy
	where  string // "service S at E", for messages
}

// New returns the store cfg names, after checking with one HEAD of the
// root that the endpoint answers and the operator is accepted. Mistakes
// come back as one-line errors naming the job.cfg keys to check, never the
// password.
func New(ctx context.Context, cfg Config) (*Upyun, error) {
	if cfg.Role == "" {
		cfg.Role = "src"
	}
	role := cfg.Role
	switch {
	case cfg.Operator == "":
		return nil, fmt.Errorf("%s store: %sAccessKey (the Upyun operator) is empty", role, role)
	case cfg.Password == "":
		return nil, fmt.Errorf("%s store: %sSecretKey (the operator's password) is empty", role, role)
	case cfg.Bucket == "":
		return nil, fmt.Errorf("%s store: %sBucket (the service name) is empty", role, role)
	case strings.ContainsAny(cfg.Bucket, "/?#% "):
		return nil, fmt.Errorf("%s store: %sBucket %q is not a service name", role, role, cfg.Bucket)
	}
	ep := strings.TrimSuffix(strings.TrimSpace(cfg.Endpoint), "/")
	if ep == "" {
		ep = "http://v0.api.upyun.com"
	}
	if !strings.Contains(ep, "://") {
		ep = "http://" + ep
	}
	u, err := url.Parse(ep)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" {
		return nil, fmt.Errorf("%s store: %sDomain %q is not an Upyun API endpoint such as http://v0.api.upyun.com", role, role, cfg.Endpoint)
	}
	if cfg.ListLimit <= 0 || cfg.ListLimit > 10000 {
		cfg.ListLimit = 1000
	}
	cfg.Timeouts = cfg.Timeouts.OrDefault()
	sum := md5.Sum([]byte(cfg.Password))
	s := &Upyun{cfg: cfg, base: u.Scheme + "://" + u.Host, pwMD5: hex.EncodeToString(sum[:]), retry: store.DefaultRetry,
		where: fmt.Sprintf("service %q at %s", cfg.Bucket, u.Host)}
	if cfg.RetryBase > 0 {
		s.retry.Base = cfg.RetryBase
	}
	tr := cfg.Transport
	if tr == nil {
		t := cfg.Timeouts.Transport()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 4096, 4096
		tr = t
	}
	s.client = &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if err := s.probe(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// probe asks for the root folder's first name: it says whether the
// endpoint, the operator, its password and the service are right.
func (s *Upyun) probe(ctx context.Context) error {
	err := s.do(ctx, "", func(ctx context.Context) error {
		resp, err := s.request(ctx, http.MethodGet, "/", listHeaders("", 1), nil, "")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s store: %w", s.cfg.Role, err)
	}
	return nil
}

// path returns the request path of a service path ("/" + bucket + p).
func (s *Upyun) path(p string) string {
	return "/" + s.cfg.Bucket + EscapePath("/"+strings.TrimPrefix(p, "/"))
}

// request sends one signed request for the service path p (relative to the
// service root) and returns its response when the status is 2xx (or 206);
// other statuses come back as classified errors with the body read.
func (s *Upyun) request(ctx context.Context, method, p string, h http.Header, body io.Reader, contentMD5 string) (*http.Response, error) {
	uri := s.path(p)
	req, err := http.NewRequestWithContext(ctx, method, s.base+uri, body)
	if err != nil {
		return nil, store.Permanent(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	date := Date(time.Now())
	req.Header.Set("Date", date)
	if contentMD5 != "" {
		req.Header.Set("Content-MD5", contentMD5)
	}
	req.Header.Set("Authorization", SignWithMD5(s.cfg.Operator, s.pwMD5, method, uri, date, contentMD5))
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, classifyTransport(err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, s.statusError(resp)
}

// do runs op under the retry policy. key names the file in messages.
func (s *Upyun) do(ctx context.Context, key string, op func(context.Context) error) error {
	return s.retry.Do(ctx, func(int) error { return op(ctx) })
}

// fullKey returns the service path of a store key.
func (s *Upyun) fullKey(key string) string { return s.cfg.Prefix + key }

// checkKey refuses keys this store cannot write.
func (s *Upyun) checkKey(key string) error {
	if err := store.CheckKey(key); err != nil {
		return err
	}
	if !utf8.ValidString(s.fullKey(key)) {
		return fmt.Errorf("%w %q: Upyun paths must be valid UTF-8", store.ErrInvalidKey, key)
	}
	return nil
}

// readableKey refuses keys no file can have.
func (s *Upyun) readableKey(key string) error {
	if key == "" || !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0 || strings.HasSuffix(key, "/") {
		return fmt.Errorf("%w %q: not a possible Upyun file path", store.ErrInvalidKey, key)
	}
	return nil
}
