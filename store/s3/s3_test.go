package s3

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"ferry/store"
	"ferry/store/s3test"
	"ferry/store/storetest"
)

// config returns the Config of a store in srv's bucket, reached at endpoint
// (srv.URL or a proxy's), with fast retries.
func config(srv *s3test.Server, endpoint, prefix string) Config {
	return Config{Endpoint: endpoint, Bucket: srv.Bucket, Prefix: prefix, AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey, Region: srv.Region, RetryBase: time.Millisecond}
}

func open(t testing.TB, cfg Config) *S3 {
	t.Helper()
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

var n atomic.Int64

func TestConformance(t *testing.T) {
	srv := s3test.Start(t)
	t.Run("Prefix", func(t *testing.T) {
		storetest.RunWith(t, storetest.Options{Refuses: storetest.NotUTF8}, func(t *testing.T) store.Store {
			return open(t, config(srv, srv.URL, fmt.Sprintf("root%d/", n.Add(1))))
		})
	})
	t.Run("Bucket", func(t *testing.T) {
		// At the root of a bucket, keys of blanks only are refused too.
		refuses := func(k string) bool { return storetest.NotUTF8(k) || strings.TrimSpace(k) == "" }
		storetest.RunWith(t, storetest.Options{Refuses: refuses}, func(t *testing.T) store.Store {
			cfg := config(srv, srv.URL, "")
			cfg.Bucket = fmt.Sprintf("bucket%d", n.Add(1))
			srv.CreateBucket(t, cfg.Bucket)
			return open(t, cfg)
		})
	})
}
