package s3

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/signer"

	"ferry/store"
	"ferry/store/s3test"
)

// A whole object's first GET is sent and signed by get.go, not minio-go:
// the test server checks every request's Signature V4 (written from AWS's
// specification apart from either signer), so a wrong signature is a 403
// there, which the fast GET hands to minio-go (counted as a miss). Keys
// that need escaping, in the bucket's root and under a prefix, are read
// whole, with the entry minio-go would give; a missing key is still
// store.ErrNotExist, by way of minio-go.
func TestFastGet(t *testing.T) {
	srv := s3test.Start(t)
	ctx := context.Background()
	keys := []string{"plain.txt", "dir/sub/file", "with space", "plus+and%percent", "tilde~_-.",
		"unicode/日本語 é", "a//double", "semi;colon=eq&amp?q#hash", "quote'\"", "star*paren()"}
	for _, prefix := range []string{"", "pre fix/"} {
		s := open(t, config(srv, srv.URL, prefix))
		for i, k := range keys {
			content := strings.Repeat(k, i+1)
			mt := time.Unix(1700000000+int64(i), 123456789)
			if _, err := s.Put(ctx, k, strings.NewReader(content), store.Entry{Size: int64(len(content)), MTime: mt,
				Meta: map[string]string{"x-amz-meta-owner": "ops"}}, store.PutOptions{}); err != nil {
				t.Fatalf("put %q: %v", k, err)
			}
			want, err := s.Stat(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			o, e, err := s.OpenStat(ctx, k)
			if err != nil {
				t.Fatalf("OpenStat(%q) under %q: %v", k, prefix, err)
			}
			b, err := io.ReadAll(o)
			o.Close()
			if err != nil || string(b) != content {
				t.Errorf("read %q under %q: %q, %v; want %q", k, prefix, b, err, content)
			}
			if e.Size != want.Size || !e.MTime.Equal(want.MTime) || e.ETag != want.ETag || e.CRC64 != want.CRC64 || !e.HasCRC ||
				!maps.Equal(e.Meta, want.Meta) || e.Meta["x-amz-meta-owner"] != "ops" {
				t.Errorf("OpenStat(%q) under %q: entry %+v, want that of Stat: %+v", k, prefix, e, want)
			}
		}
		if h, m := s.fastHits.Load(), s.fastMisses.Load(); h != int64(len(keys)) || m != 0 {
			t.Errorf("under %q: %d fast GETs answered, %d handed to minio-go; want %d and 0", prefix, h, m, len(keys))
		}
		if _, _, err := s.OpenStat(ctx, "missing"); !errors.Is(err, store.ErrNotExist) {
			t.Errorf("OpenStat of a missing key: %v, want store.ErrNotExist", err)
		}
		if m := s.fastMisses.Load(); m != 1 {
			t.Errorf("a missing key: %d misses, want 1 (answered by minio-go)", m)
		}
	}
	// A wrong secret: the fast GET's 403 goes to minio-go, whose error is
	// the one the user sees, naming the keys to check.
	cfg := config(srv, srv.URL, "")
	s := open(t, cfg)
	s.fastGetter(ctx).secret = "wrong"
	if _, _, err := s.OpenStat(ctx, "plain.txt"); err != nil {
		t.Errorf("with the fast GET's secret wrong, minio-go's GET should still read: %v", err)
	}
	if h, m := s.fastHits.Load(), s.fastMisses.Load(); h != 0 || m != 1 {
		t.Errorf("a refused signature: %d hits, %d misses; want 0 and 1", h, m)
	}
}

// The fast GET's signature equals minio-go's signer's for the same
// request at the same second: keys that need escaping, path and virtual-host
// style, a port in the host.
func TestFastGetSignature(t *testing.T) {
	for _, c := range []struct{ host, base, key string }{
		{"examplebucket.s3.amazonaws.com", "/", "test.txt"},
		{"127.0.0.1:9000", "/bucket/", "dir/with space/日本語+%~"},
		{"oss-cn-hangzhou.aliyuncs.com", "/b/", "a//b;c=d&e?f#g"},
	} {
		g := &fastGet{scheme: "https", host: c.host, base: c.base, region: "us-east-1",
			access: "AKIAIOSFODNN7EXAMPLE", secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
		path := c.base + escapePath(c.key)
		ref, _ := http.NewRequest(http.MethodGet, "https://"+c.host+path, nil)
		ref.Header.Set("X-Amz-Content-Sha256", emptySHA256)
		ref = signer.SignV4(*ref, g.access, g.secret, "", g.region)
		at, err := time.Parse("20060102T150405Z", ref.Header.Get("X-Amz-Date"))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://"+c.host+path, nil)
		g.sign(req, path, "", at)
		if got, want := req.Header.Get("Authorization"), ref.Header.Get("Authorization"); got != want {
			t.Errorf("%s%s: Authorization\n got %s\nwant %s (minio-go)", c.host, path, got, want)
		}
	}
}
