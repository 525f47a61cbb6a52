package s3test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Faults says what a Proxy does to the requests it passes.
type Faults struct {
	// Rate503 is the fraction of requests answered "503 SlowDown" without
	// reaching the server.
	Rate503 float64
	// CutRate is the fraction of requests whose connection is cut: half of
	// them while the request body is read (the server never sees the
	// request), half while the response is sent (after the server acted on
	// the request, so the client cannot know whether it did).
	CutRate float64
	// Stall is the number of requests (the first ones after SetFaults)
	// whose response stalls: the headers and half the body are sent, then
	// nothing, the connection held open until the client gives up. A
	// response without a body stalls before its headers.
	Stall int
	// Kinds limits the faults to requests of these kinds (see Kind); empty
	// means every request.
	Kinds []string
	// Seed makes the faults repeatable; 0 picks one at random.
	Seed uint64
}

// Request kinds, as Kind names them.
const (
	KindList       = "list"       // GET bucket (list objects)
	KindLocation   = "location"   // GET bucket?location
	KindListParts  = "list-parts" // GET ?uploadId
	KindListUpload = "list-uploads"
	KindGet        = "get"
	KindHead       = "head"
	KindPut        = "put"  // PUT object
	KindPart       = "part" // PUT ?partNumber&uploadId
	KindCopy       = "copy" // PUT with x-amz-copy-source
	KindCreate     = "create"
	KindComplete   = "complete"
	KindAbort      = "abort"
	KindDelete     = "delete"
	KindOther      = "other"
)

// Kind names the S3 operation of a path-style request.
func Kind(r *http.Request) string {
	q := r.URL.Query()
	_, uploads := q["uploads"]
	hasUpload := q.Get("uploadId") != ""
	// /bucket/key is an object; /bucket and /bucket/ are the bucket.
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	isObject := key != ""
	switch r.Method {
	case http.MethodGet:
		switch {
		case hasUpload:
			return KindListParts
		case uploads:
			return KindListUpload
		case isObject:
			return KindGet
		case q.Has("location"):
			return KindLocation
		}
		return KindList
	case http.MethodHead:
		return KindHead
	case http.MethodPut:
		switch {
		case hasUpload:
			return KindPart
		case r.Header.Get("X-Amz-Copy-Source") != "":
			return KindCopy
		case isObject:
			return KindPut
		}
	case http.MethodPost:
		switch {
		case uploads:
			return KindCreate
		case hasUpload:
			return KindComplete
		}
	case http.MethodDelete:
		if hasUpload {
			return KindAbort
		}
		return KindDelete
	}
	return KindOther
}

// Proxy forwards requests to an S3 server, injecting faults, and counts
// them by kind. Its URL is the endpoint to give the client. It keeps the
// Host header, so signatures made for the proxy still hold at the server.
type Proxy struct {
	URL      string // "http://127.0.0.1:port"
	Endpoint string // "127.0.0.1:port"

	target *url.URL
	client *http.Client

	mu        sync.Mutex
	faults    Faults
	stalls    int // of faults.Stall, still to inject
	rng       *rand.Rand
	forwarded map[string]int
	injected  map[string]int
	watch     func(Seen)
}

// Seen is one request the proxy answered, as a Watch function sees it.
type Seen struct {
	Kind     string // see Kind
	Client   string // the client's IP address
	Key      string // the object's key ("" for a bucket request)
	UploadID string // the uploadId parameter, if any
	Status   int    // the status sent (0 when the connection was cut first)
	Injected bool   // the proxy answered it with a fault
	Part     int    // the partNumber parameter, if any
	Range    string // the Range header, if any
	// In and Out are the body bytes the proxy read from the client and
	// wrote back to it, as on the wire (an aws-chunked body's chunk
	// signatures count), whole or not: what a client killed mid-request
	// sent before it died counts.
	In, Out int64
	// Took is the time from the request's arrival to the end of its
	// answer: mostly the server's time, for a request whose bodies are
	// small (a completion, a copy).
	Took time.Duration
}

// NewProxy starts a proxy to target (a server URL) on a loopback port,
// stopped when the test ends.
func NewProxy(t testing.TB, target string, f Faults) *Proxy {
	t.Helper()
	return NewProxyOn(t, "127.0.0.1:0", target, f)
}

// NewProxyOn is NewProxy listening on addr ("host:port", port 0 for any):
// another network namespace reaches a proxy on an address of a bridge.
func NewProxyOn(t testing.TB, addr, target string, f Faults) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("s3test: proxy target %q: %v", target, err)
	}
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 32}
	p := &Proxy{target: u, client: &http.Client{Transport: tr}}
	p.SetFaults(f)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("s3test: proxy: %v", err)
	}
	hs := httptest.NewUnstartedServer(p)
	hs.Listener.Close()
	hs.Listener = l
	hs.Start()
	t.Cleanup(func() { hs.Close(); tr.CloseIdleConnections() })
	p.URL = hs.URL
	p.Endpoint = strings.TrimPrefix(hs.URL, "http://")
	return p
}

// SetFaults changes the faults from now on, and restarts the counts.
func (p *Proxy) SetFaults(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seed := f.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	p.faults, p.stalls, p.rng = f, f.Stall, rand.New(rand.NewPCG(seed, seed>>1|1))
	p.forwarded, p.injected = map[string]int{}, map[string]int{}
}

// Watch calls fn after each request the proxy answers (or cuts), from the
// request's goroutine: fn must be quick and safe for concurrent use. A
// test follows with it what the clients do, such as which client has a
// multipart upload under way.
func (p *Proxy) Watch(fn func(Seen)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watch = fn
}

// seen tells the Watch function, if any, about r.
func (p *Proxy) seen(r *http.Request, kind string, status int, injected bool, in, out int64) {
	took := time.Since(arrival(r))
	p.mu.Lock()
	fn := p.watch
	p.mu.Unlock()
	if fn == nil {
		return
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	_, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	part, _ := strconv.Atoi(q.Get("partNumber"))
	fn(Seen{Kind: kind, Client: host, Key: key, UploadID: q.Get("uploadId"), Status: status, Injected: injected,
		Part: part, Range: r.Header.Get("Range"), In: in, Out: out, Took: took})
}

// Count returns how many requests of kind reached the server since the
// last SetFaults (a request whose response was then cut counts).
func (p *Proxy) Count(kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.forwarded[kind]
}

// Injected returns how many requests of kind got a fault.
func (p *Proxy) Injected(kind string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected[kind]
}

// String summarizes the counts, for test logs.
func (p *Proxy) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("forwarded %v, faults %v", p.forwarded, p.injected)
}

// fault is what happens to one request.
type fault int

const (
	none fault = iota
	slowDown
	cutRequest
	cutResponse
	stall
)

func (p *Proxy) decide(kind string) fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	f := p.faults
	if len(f.Kinds) > 0 && !contains(f.Kinds, kind) {
		return none
	}
	if p.stalls > 0 {
		p.stalls--
		p.injected[kind]++
		return stall
	}
	x := p.rng.Float64()
	switch {
	case x < f.Rate503:
		p.injected[kind]++
		return slowDown
	case x < f.Rate503+f.CutRate:
		p.injected[kind]++
		if p.rng.IntN(2) == 0 {
			return cutRequest
		}
		return cutResponse
	}
	return none
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = r.WithContext(context.WithValue(r.Context(), arrivalKey{}, time.Now()))
	kind := Kind(r)
	f := p.decide(kind)
	in := &countReader{r: r.Body}
	r.Body = in
	switch f {
	case slowDown:
		io.Copy(io.Discard, r.Body)
		writeError(w, r, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate (s3test proxy).")
		p.seen(r, kind, http.StatusServiceUnavailable, true, in.n.Load(), 0)
		return
	case cutRequest:
		if r.ContentLength > 0 {
			io.CopyN(io.Discard, r.Body, r.ContentLength/2)
		}
		p.seen(r, kind, 0, true, in.n.Load(), 0)
		panic(http.ErrAbortHandler) // net/http closes the connection, logging nothing
	}

	u := *p.target
	u.Path, u.RawPath = r.URL.Path, r.URL.RawPath
	u.RawQuery = r.URL.RawQuery
	body := io.Reader(r.Body)
	if r.ContentLength == 0 {
		body = nil
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), body)
	if err != nil {
		writeError(w, r, http.StatusBadGateway, "InternalError", "s3test proxy: "+err.Error())
		return
	}
	out.Host = r.Host
	out.Header = r.Header.Clone()
	out.ContentLength = r.ContentLength
	resp, err := p.client.Do(out)
	if err != nil {
		writeError(w, r, http.StatusBadGateway, "InternalError", "s3test proxy: "+err.Error())
		p.seen(r, kind, http.StatusBadGateway, false, in.n.Load(), 0)
		return
	}
	defer resp.Body.Close()
	p.mu.Lock()
	p.forwarded[kind]++
	p.mu.Unlock()

	for k, vv := range resp.Header {
		w.Header()[k] = vv
	}
	if f == stall || f == cutResponse {
		var sent int64
		if resp.ContentLength > 0 {
			w.WriteHeader(resp.StatusCode)
			sent, _ = io.CopyN(w, resp.Body, resp.ContentLength/2)
			w.(http.Flusher).Flush()
		}
		p.seen(r, kind, 0, true, in.n.Load(), sent)
		if f == stall {
			<-r.Context().Done() // the client gave up
		}
		panic(http.ErrAbortHandler)
	}
	w.WriteHeader(resp.StatusCode)
	sent, _ := io.Copy(w, resp.Body)
	p.seen(r, kind, resp.StatusCode, false, in.n.Load(), sent)
}

type arrivalKey struct{}

// arrival is when ServeHTTP got r.
func arrival(r *http.Request) time.Time {
	t, _ := r.Context().Value(arrivalKey{}).(time.Time)
	return t
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.ReadCloser
	n atomic.Int64
}

func (c *countReader) Read(b []byte) (int, error) {
	k, err := c.r.Read(b)
	c.n.Add(int64(k))
	return k, err
}

func (c *countReader) Close() error { return c.r.Close() }
