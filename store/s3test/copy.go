package s3test

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// copyGate serves what gofakes3 lacks of server-side copies: UploadPartCopy
// (a PUT of a part with x-amz-copy-source and x-amz-copy-source-range),
// answered as S3 does from the source's bytes on the server, and the
// refusal of copies into the buckets DenyCopy names (403 AccessDenied, as
// S3 answers credentials that may write a bucket but not copy into it).
// CopyObject itself is gofakes3's. Every other request goes to next.
type copyGate struct {
	backend *s3mem.Backend
	next    http.Handler

	mu     sync.Mutex
	denied map[string]bool
}

// DenyCopy makes the server refuse server-side copies (CopyObject and
// UploadPartCopy) into bucket with 403 AccessDenied; uploads of bytes
// into it are still taken.
func (s *Server) DenyCopy(bucket string) {
	s.copies.mu.Lock()
	defer s.copies.mu.Unlock()
	s.copies.denied[bucket] = true
}

func (g *copyGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	source := r.Header.Get("X-Amz-Copy-Source")
	if r.Method != http.MethodPut || source == "" {
		g.next.ServeHTTP(w, r)
		return
	}
	bucket, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	g.mu.Lock()
	denied := g.denied[bucket]
	g.mu.Unlock()
	if denied {
		writeError(w, r, http.StatusForbidden, "AccessDenied", "Access Denied (s3test: copies into this bucket are refused)")
		return
	}
	if r.URL.Query().Get("uploadId") == "" {
		g.next.ServeHTTP(w, r) // CopyObject
		return
	}
	g.copyPart(w, r, source)
}

// copyPart answers UploadPartCopy: the range of the source object goes to
// gofakes3 as an UploadPart of those bytes.
func (g *copyGate) copyPart(w http.ResponseWriter, r *http.Request, source string) {
	src, err := url.PathUnescape(strings.TrimPrefix(source, "/"))
	if err != nil {
		writeError(w, r, http.StatusBadRequest, "InvalidArgument", "bad x-amz-copy-source")
		return
	}
	src, _, _ = strings.Cut(src, "?")
	sb, sk, ok := strings.Cut(src, "/")
	if !ok {
		writeError(w, r, http.StatusBadRequest, "InvalidArgument", "x-amz-copy-source must be bucket/key")
		return
	}
	var rng *gofakes3.ObjectRangeRequest
	if v := r.Header.Get("X-Amz-Copy-Source-Range"); v != "" {
		a, b, ok := strings.Cut(strings.TrimPrefix(v, "bytes="), "-")
		start, err1 := strconv.ParseInt(a, 10, 64)
		end, err2 := strconv.ParseInt(b, 10, 64)
		if !ok || err1 != nil || err2 != nil || end < start {
			writeError(w, r, http.StatusBadRequest, "InvalidArgument", "bad x-amz-copy-source-range")
			return
		}
		rng = &gofakes3.ObjectRangeRequest{Start: start, End: end}
	}
	obj, err := g.backend.GetObject(sb, sk, rng)
	if err != nil {
		writeError(w, r, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	defer obj.Contents.Close()
	if m := strings.Trim(r.Header.Get("X-Amz-Copy-Source-If-Match"), `"`); m != "" && !strings.EqualFold(m, hex.EncodeToString(obj.Hash)) {
		writeError(w, r, http.StatusPreconditionFailed, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
		return
	}
	body, err := io.ReadAll(obj.Contents)
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "InternalError", err.Error())
		return
	}
	part := r.Clone(r.Context())
	for _, h := range []string{"X-Amz-Copy-Source", "X-Amz-Copy-Source-Range", "X-Amz-Copy-Source-If-Match", "Content-Md5"} {
		part.Header.Del(h)
	}
	part.Body, part.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	part.Header.Set("Content-Length", strconv.Itoa(len(body)))
	rec := httptest.NewRecorder()
	g.next.ServeHTTP(rec, part)
	if rec.Code != http.StatusOK {
		for k, vv := range rec.Header() {
			w.Header()[k] = vv
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		return
	}
	res := struct {
		XMLName      xml.Name `xml:"CopyPartResult"`
		LastModified string
		ETag         string
	}{LastModified: time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), ETag: rec.Header().Get("ETag")}
	w.Header().Set("Content-Type", "application/xml")
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(res)
}
