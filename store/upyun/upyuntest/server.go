// Package upyuntest is an Upyun REST API server for tests, written from
// Upyun's documentation of the protocol (no Upyun server can run here):
// one service, one operator; every request must carry a Date within 30
// minutes and the documented signature
//
//	Authorization: UPYUN <operator>:Base64(HMAC-SHA1(MD5hex(password), METHOD&URI&DATE[&Content-MD5]))
//
// else it is answered 401 as Upyun does. Files live in memory in folders:
// PUT (with Content-MD5 checked, parents made), GET with ranges, HEAD
// (x-upyun-file-type, -size, -date), DELETE, and the folder listing in
// JSON (Accept: application/json) or text, paged by x-list-limit and
// x-list-iter. Faults: the next Busy requests are answered 429 or 503.
//
// The signature is computed here on its own, not with the client's code,
// so that a mistake in one is not hidden by the same mistake in the other.
package upyuntest

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// EOFIter is the x-list-iter of a folder's last page, as Upyun sends it.
const EOFIter = "g2gCZAAEbmV4dGQAA2VvZg"

// Server is a running test server.
type Server struct {
	URL                        string // http://127.0.0.1:PORT, the endpoint (srcDomain)
	Bucket, Operator, Password string

	// Busy is the number of coming requests to answer 429 (odd) or 503
	// (even) without acting on them.
	Busy atomic.Int64
	// Requests counts the requests, Refused those answered 401, Throttled
	// those answered by Busy.
	Requests, Refused, Throttled atomic.Int64

	mu      sync.Mutex
	files   map[string]*file // path ("a/b.txt") -> file
	folders map[string]bool  // path ("a", "a/b") -> exists
}

type file struct {
	data  []byte
	mtime int64 // unix seconds
	ctype string
	md5   string
}

// Start runs a server with service "mybucket", operator "operator" and
// password "password" on loopback until t ends.
func Start(t testing.TB) *Server {
	s := New("mybucket", "operator", "password")
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// New returns a server (an http.Handler) for one service and operator.
func New(bucket, operator, password string) *Server {
	return &Server{Bucket: bucket, Operator: operator, Password: password,
		files: map[string]*file{}, folders: map[string]bool{}}
}

// Put stores a file directly (no request), making its folders.
func (s *Server) Put(path string, data []byte, mtime time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putLocked(path, data, mtime.Unix(), "")
}

// Remove deletes a file directly.
func (s *Server) Remove(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, path)
}

// Files returns the paths of the files and their contents.
func (s *Server) Files() map[string][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]byte{}
	for p, f := range s.files {
		out[p] = f.data
	}
	return out
}

func (s *Server) putLocked(path string, data []byte, mtime int64, ctype string) {
	dirs := strings.Split(path, "/")
	for i := 1; i < len(dirs); i++ {
		s.folders[strings.Join(dirs[:i], "/")] = true
	}
	sum := md5.Sum(data)
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	s.files[path] = &file{data: bytes.Clone(data), mtime: mtime, ctype: ctype, md5: hex.EncodeToString(sum[:])}
}

// fail answers an error as Upyun does: a JSON body with msg and code.
func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"msg": msg, "code": code, "id": "upyuntest"})
}

// signature computes the documented signature of a request.
func (s *Server) signature(method, uri, date, contentMD5 string) string {
	pw := md5.Sum([]byte(s.Password))
	msg := method + "&" + uri + "&" + date
	if contentMD5 != "" {
		msg += "&" + contentMD5
	}
	mac := hmac.New(sha1.New, []byte(hex.EncodeToString(pw[:])))
	mac.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// auth checks the Date and Authorization of r; it answers and returns
// false when they are refused.
func (s *Server) auth(w http.ResponseWriter, r *http.Request, uri string) bool {
	date := r.Header.Get("Date")
	if date == "" {
		s.Refused.Add(1)
		fail(w, http.StatusUnauthorized, 40100002, "need date header")
		return false
	}
	t, err := http.ParseTime(date)
	if err != nil || time.Since(t).Abs() > 30*time.Minute {
		s.Refused.Add(1)
		fail(w, http.StatusUnauthorized, 40100003, "date offset error")
		return false
	}
	op, sig, ok := strings.Cut(strings.TrimPrefix(r.Header.Get("Authorization"), "UPYUN "), ":")
	if !ok || !strings.HasPrefix(r.Header.Get("Authorization"), "UPYUN ") || op != s.Operator ||
		!hmac.Equal([]byte(sig), []byte(s.signature(r.Method, uri, date, r.Header.Get("Content-MD5")))) {
		s.Refused.Add(1)
		fail(w, http.StatusUnauthorized, 40100005, "sign error")
		return false
	}
	return true
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Requests.Add(1)
	uri, _, _ := strings.Cut(r.RequestURI, "?")
	if !s.auth(w, r, uri) {
		return
	}
	if n := s.Busy.Add(-1); n >= 0 {
		s.Throttled.Add(1)
		if n%2 == 0 {
			fail(w, http.StatusTooManyRequests, 42900002, "too many requests")
		} else {
			fail(w, http.StatusServiceUnavailable, 50300001, "system error")
		}
		return
	}
	s.Busy.Store(0)
	raw, ok := strings.CutPrefix(uri, "/"+s.Bucket)
	if !ok || raw != "" && raw[0] != '/' {
		fail(w, http.StatusNotFound, 40400001, "bucket not exist")
		return
	}
	p, err := url.PathUnescape(raw)
	if err != nil {
		fail(w, http.StatusBadRequest, 40000001, "bad uri")
		return
	}
	trailing := strings.HasSuffix(p, "/")
	p = strings.Trim(p, "/")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.get(w, r, p, trailing)
	case http.MethodPut:
		s.put(w, r, p)
	case http.MethodDelete:
		s.delete(w, p)
	default:
		fail(w, http.StatusMethodNotAllowed, 40500001, "method not allowed")
	}
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, p string, trailing bool) {
	s.mu.Lock()
	f := s.files[p]
	isDir := p == "" || s.folders[p]
	s.mu.Unlock()
	switch {
	case isDir && r.Method == http.MethodHead:
		w.Header().Set("x-upyun-file-type", "folder")
		return
	case isDir:
		s.list(w, r, p)
		return
	case f == nil || trailing:
		fail(w, http.StatusNotFound, 40400001, "file or directory not found")
		return
	}
	h := w.Header()
	h.Set("Content-MD5", f.md5)
	h.Set("ETag", `"`+f.md5+`"`)
	h.Set("Content-Type", f.ctype)
	if r.Method == http.MethodHead {
		h.Set("x-upyun-file-type", "file")
		h.Set("x-upyun-file-size", strconv.Itoa(len(f.data)))
		h.Set("x-upyun-file-date", strconv.FormatInt(f.mtime, 10))
		return
	}
	http.ServeContent(w, r, "", time.Unix(f.mtime, 0), bytes.NewReader(f.data))
}

// list answers a folder listing, a page of x-list-limit names (default
// 100, at most 10000) after x-list-iter.
func (s *Server) list(w http.ResponseWriter, r *http.Request, dir string) {
	limit := 100
	if v := r.Header.Get("X-List-Limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			fail(w, http.StatusBadRequest, 40000010, "x-list-limit must be 1 to 10000")
			return
		}
		limit = n
	}
	after := ""
	if it := r.Header.Get("X-List-Iter"); it != "" {
		if it == EOFIter {
			limit = 0
		} else if b, err := base64.RawURLEncoding.DecodeString(it); err == nil {
			after = string(b)
		} else {
			fail(w, http.StatusBadRequest, 40000011, "invalid x-list-iter")
			return
		}
	}
	type item struct {
		Name   string `json:"name"`
		Type   string `json:"type"`
		Length int64  `json:"length"`
		Last   int64  `json:"last_modified"`
	}
	base := ""
	if dir != "" {
		base = dir + "/"
	}
	s.mu.Lock()
	var items []item
	for path, f := range s.files {
		if name, ok := strings.CutPrefix(path, base); ok && !strings.Contains(name, "/") {
			items = append(items, item{name, f.ctype, int64(len(f.data)), f.mtime})
		}
	}
	for path := range s.folders {
		if name, ok := strings.CutPrefix(path, base); ok && name != "" && !strings.Contains(name, "/") {
			items = append(items, item{name, "folder", 0, 0})
		}
	}
	s.mu.Unlock()
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	if r.Header.Get("X-List-Order") == "desc" {
		sort.Slice(items, func(i, j int) bool { return items[i].Name > items[j].Name })
	}
	i := sort.Search(len(items), func(i int) bool { return items[i].Name > after })
	if after == "" {
		i = 0
	}
	page := items[i:min(len(items), i+limit)]
	iter := EOFIter
	if i+limit < len(items) && len(page) > 0 {
		iter = base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].Name))
	}
	w.Header().Set("x-upyun-list-iter", iter)
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		if page == nil {
			page = []item{}
		}
		json.NewEncoder(w).Encode(map[string]any{"files": page, "iter": iter})
		return
	}
	var b strings.Builder
	for k, it := range page {
		t := "N"
		if it.Type == "folder" {
			t = "F"
		}
		if k > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s\t%s\t%d\t%d", it.Name, t, it.Length, it.Last)
	}
	io.WriteString(w, b.String())
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, p string) {
	if r.Header.Get("Content-Length") == "" && r.ContentLength < 0 {
		fail(w, http.StatusBadRequest, 40000002, "need content-length")
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		fail(w, http.StatusBadRequest, 40000003, "body cut")
		return
	}
	if want := r.Header.Get("Content-MD5"); want != "" {
		if sum := md5.Sum(data); !strings.EqualFold(want, hex.EncodeToString(sum[:])) {
			fail(w, http.StatusBadRequest, 40000004, "Content-MD5 not match")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p == "" || s.folders[p] {
		fail(w, http.StatusNotAcceptable, 40600001, "a folder of that name exists")
		return
	}
	dirs := strings.Split(p, "/")
	for i := 1; i < len(dirs); i++ {
		if s.files[strings.Join(dirs[:i], "/")] != nil {
			fail(w, http.StatusNotAcceptable, 40600002, "a file of a parent's name exists")
			return
		}
	}
	s.putLocked(p, data, time.Now().Unix(), r.Header.Get("Content-Type"))
}

func (s *Server) delete(w http.ResponseWriter, p string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files[p] != nil {
		delete(s.files, p)
		return
	}
	if s.folders[p] {
		for q := range s.files {
			if strings.HasPrefix(q, p+"/") {
				fail(w, http.StatusForbidden, 40300001, "folder not empty")
				return
			}
		}
		delete(s.folders, p)
		return
	}
	fail(w, http.StatusNotFound, 40400001, "file or directory not found")
}
