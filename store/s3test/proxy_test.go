package s3test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestProxySeen: a Watch function sees each request's kind, part number,
// Range header and the body bytes each way.
func TestProxySeen(t *testing.T) {
	srv := Start(t)
	px := NewProxy(t, srv.URL, Faults{})
	var mu sync.Mutex
	var seen []Seen
	px.Watch(func(s Seen) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	})
	c, err := minio.NewCore(px.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""),
		Region: srv.Region, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	body := bytes.Repeat([]byte("0123456789"), 100)
	opts := minio.PutObjectOptions{DisableContentSha256: true}
	if _, err := c.Client.PutObject(ctx, srv.Bucket, "k", bytes.NewReader(body), int64(len(body)), opts); err != nil {
		t.Fatal(err)
	}
	g := minio.GetObjectOptions{}
	g.SetRange(100, 199)
	r, _, _, err := c.GetObject(ctx, srv.Bucket, "k", g)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, r)
	r.Close()
	id, err := c.NewMultipartUpload(ctx, srv.Bucket, "m", opts)
	if err != nil {
		t.Fatal(err)
	}
	part := bytes.Repeat([]byte("x"), 5<<20)
	if _, err := c.PutObjectPart(ctx, srv.Bucket, "m", id, 2, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for _, s := range seen {
		switch s.Kind {
		case KindPut:
			if s.In != int64(len(body)) || s.Key != "k" {
				t.Errorf("put: %+v, want %d bytes in", s, len(body))
			}
		case KindGet:
			if s.Out != 100 || s.Range != "bytes=100-199" {
				t.Errorf("get: %+v, want Range bytes=100-199 and 100 bytes out", s)
			}
		case KindPart:
			// minio-go sends parts aws-chunked: the chunks' signatures count.
			if s.Part != 2 || s.In < int64(len(part)) || s.In > int64(len(part))*101/100 || s.UploadID != id {
				t.Errorf("part: %+v, want part 2 of upload %s, %d bytes in (and the chunks' signatures)", s, id, len(part))
			}
		}
		if s.Took <= 0 {
			t.Errorf("%s: took %s", s.Kind, s.Took)
		}
		got = append(got, s.Kind)
	}
	if k := strings.Join(got, " "); !strings.Contains(k, "put") || !strings.Contains(k, "get") || !strings.Contains(k, "part") {
		t.Errorf("the watch saw %q", k)
	}
}
