// Package s3test starts S3-protocol servers for tests: an in-process
// gofakes3 server over real HTTP on loopback, behind a check of AWS
// Signature V4 (gofakes3 checks none) and of S3's longest key, with
// UploadPartCopy (which gofakes3 lacks) and copies refused on demand
// (DenyCopy), and a proxy
// that injects the faults of a real network and counts the requests that
// pass.
//
//	srv := s3test.Start(t)
//	px := s3test.NewProxy(t, srv.URL, s3test.Faults{Rate503: 0.3, CutRate: 0.05})
//	st, err := s3.New(ctx, s3.Config{Endpoint: px.URL, Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey})
package s3test

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running S3-protocol server with one bucket.
type Server struct {
	URL       string // "http://127.0.0.1:port"
	Endpoint  string // "127.0.0.1:port"
	Bucket    string
	AccessKey string
	SecretKey string
	Region    string

	backend *s3mem.Backend
	clock   *skewedClock
	copies  *copyGate
}

// Start starts a server on a loopback port, stopped when the test ends.
// It holds the bucket "ferry-test" and accepts requests signed (AWS
// Signature V4) with AccessKey and SecretKey, a random secret. Requests
// more than 15 minutes off the server's clock are refused with
// RequestTimeTooSkewed; SetClockSkew moves that clock.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		Bucket:    "ferry-test",
		AccessKey: "FERRYTESTKEY" + strings.ToUpper(randomHex(4)),
		SecretKey: randomHex(20),
		Region:    "us-east-1",
		clock:     &skewedClock{},
	}
	s.backend = s3mem.New(s3mem.WithTimeSource(s.clock))
	fake := gofakes3.New(s.backend, gofakes3.WithTimeSource(s.clock), gofakes3.WithTimeSkewLimit(0)) // sigV4 checks
	s.copies = &copyGate{backend: s.backend, denied: map[string]bool{},
		next: &urlLister{backend: s.backend, next: fake.Server()}}
	auth := &sigV4{keys: map[string]string{s.AccessKey: s.SecretKey}, clock: s.clock, next: keyLimit{s.copies}}
	hs := httptest.NewUnstartedServer(auth)
	// gofakes3 logs "superfluous WriteHeader" when a proxy cuts a response.
	hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	hs.Start()
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	s.Endpoint = strings.TrimPrefix(hs.URL, "http://")
	s.CreateBucket(t, s.Bucket)
	return s
}

// CreateBucket makes another bucket.
func (s *Server) CreateBucket(t testing.TB, name string) {
	t.Helper()
	if err := s.backend.CreateBucket(name); err != nil {
		t.Fatalf("s3test: create bucket %s: %v", name, err)
	}
}

// SetClockSkew makes the server's clock run d ahead of the local one (d < 0:
// behind), as a client whose clock is off by -d sees it.
func (s *Server) SetClockSkew(d time.Duration) { s.clock.skew.Store(int64(d)) }

// skewedClock is gofakes3's time source: the local clock plus a skew.
type skewedClock struct{ skew atomic.Int64 }

func (c *skewedClock) Now() time.Time {
	return time.Now().Add(time.Duration(c.skew.Load())).In(time.FixedZone("GMT", 0))
}

func (c *skewedClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// randomHex returns 2n random hex digits.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// MaxKeyLen is the longest key S3 takes, in bytes.
const MaxKeyLen = 1024

// keyLimit refuses, as S3 does, requests naming an object whose key is
// longer than MaxKeyLen bytes: 400 KeyTooLongError, with no body for a
// HEAD (gofakes3 takes any length).
type keyLimit struct{ next http.Handler }

func (k keyLimit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/"); len(key) > MaxKeyLen {
		writeError(w, r, http.StatusBadRequest, "KeyTooLongError", "Your key is too long")
		return
	}
	k.next.ServeHTTP(w, r)
}

// writeError answers with an S3 XML error.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>" + code +
		"</Code><Message>" + msg + "</Message><RequestId>s3test</RequestId></Error>"))
}
