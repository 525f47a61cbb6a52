package s3test

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// urlLister answers the listings that ask for "encoding-type=url" (V1,
// without delimiter: what ferry sends), which gofakes3 ignores: it writes
// keys into XML as they are, where the control characters XML 1.0 cannot
// hold (such as "\x01") come out as U+FFFD. S3 answers them URL-encoded,
// and so does this. Every other request goes to next.
type urlLister struct {
	backend *s3mem.Backend
	next    http.Handler
}

func (l *urlLister) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	bucket := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if r.Method != http.MethodGet || bucket == "" || strings.Contains(bucket, "/") ||
		q.Get("encoding-type") != "url" || q.Get("delimiter") != "" || len(q) != len(pick(q, "prefix", "marker", "max-keys", "encoding-type", "delimiter")) {
		l.next.ServeHTTP(w, r)
		return
	}
	prefix, marker := q.Get("prefix"), q.Get("marker")
	maxKeys := 1000
	if v, err := strconv.Atoi(q.Get("max-keys")); err == nil && v >= 0 && v < maxKeys {
		maxKeys = v
	}
	all, err := l.backend.ListBucket(bucket, &gofakes3.Prefix{HasPrefix: prefix != "", Prefix: prefix}, gofakes3.ListBucketPage{})
	if err != nil {
		l.next.ServeHTTP(w, r) // gofakes3 answers the error (NoSuchBucket)
		return
	}
	type content struct {
		Key          string
		LastModified string
		ETag         string
		Size         int64
		StorageClass string
	}
	res := struct {
		XMLName      xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
		Name         string
		Prefix       string
		Marker       string
		MaxKeys      int
		EncodingType string
		IsTruncated  bool
		Contents     []content
	}{Name: bucket, Prefix: url.QueryEscape(prefix), Marker: url.QueryEscape(marker), MaxKeys: maxKeys, EncodingType: "url"}
	for _, c := range all.Contents {
		if c.Key <= marker {
			continue
		}
		if len(res.Contents) == maxKeys {
			res.IsTruncated = true
			break
		}
		res.Contents = append(res.Contents, content{Key: url.QueryEscape(c.Key),
			LastModified: c.LastModified.UTC().Format("2006-01-02T15:04:05.000Z"), ETag: c.ETag, Size: c.Size, StorageClass: "STANDARD"})
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Write([]byte(xml.Header))
	xml.NewEncoder(w).Encode(res)
}

// pick returns the names of q among names.
func pick(q url.Values, names ...string) []string {
	var out []string
	for _, n := range names {
		if _, ok := q[n]; ok {
			out = append(out, n)
		}
	}
	return out
}
