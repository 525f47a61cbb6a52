package s3

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

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
		storetest.RunWith(t, storetest.Options{Refuses: storetest.NotUTF8, ObjectKeys: true}, func(t *testing.T) store.Store {
			return open(t, config(srv, srv.URL, fmt.Sprintf("root%d/", n.Add(1))))
		})
	})
	t.Run("Bucket", func(t *testing.T) {
		// At the root of a bucket, keys of blanks only are refused too.
		refuses := func(k string) bool { return storetest.NotUTF8(k) || strings.TrimSpace(k) == "" }
		storetest.RunWith(t, storetest.Options{Refuses: refuses, ObjectKeys: true}, func(t *testing.T) store.Store {
			cfg := config(srv, srv.URL, "")
			cfg.Bucket = fmt.Sprintf("bucket%d", n.Add(1))
			srv.CreateBucket(t, cfg.Bucket)
			return open(t, cfg)
		})
	})
}

// TestKeysEndingInSlash lists objects whose keys end with '/', written
// straight to the server as other tools write them: one with bytes is a
// File like any other (issue 15: it was listed as Special and skipped, so
// a copy lost it and verify did not see it); an empty one is a directory
// marker, listed as Special with that reason so that the worker reports it
// skipped, and verify leaves it out on both sides.
func TestKeysEndingInSlash(t *testing.T) {
	srv := s3test.Start(t)
	s := open(t, config(srv, srv.URL, "p/"))
	ctx := context.Background()
	raw := map[string]string{"dir/": "ten bytes!", "dir/a": "a", "empty/": "", "empty/b": "b", "top/": ""}
	for k, v := range raw {
		if _, err := s.client.PutObject(ctx, srv.Bucket, "p/"+k, strings.NewReader(v), int64(len(v)),
			minio.PutObjectOptions{DisableContentSha256: true}); err != nil {
			t.Fatalf("put %q: %v", k, err)
		}
	}
	var got []string
	err := s.List(ctx, "", "", func(e store.Entry) error {
		got = append(got, fmt.Sprintf("%s %d %d %s", e.Key, e.Kind, e.Size, e.Detail))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("dir/ %d 10 ", store.File),
		fmt.Sprintf("dir/a %d 1 ", store.File),
		fmt.Sprintf("empty/ %d 0 directory marker", store.Special),
		fmt.Sprintf("empty/b %d 1 ", store.File),
		fmt.Sprintf("top/ %d 0 directory marker", store.Special),
	}
	if !slices.Equal(got, want) {
		t.Errorf("List =\n%q\nwant\n%q", got, want)
	}
	if e, err := s.Stat(ctx, "dir/"); err != nil || e.Kind != store.File || e.Size != 10 {
		t.Errorf("Stat(dir/) = %+v, %v; want a File of 10 bytes", e, err)
	}
	if b := storetest.Read(t, s, "dir/", 0, -1); b != "ten bytes!" {
		t.Errorf("Open(dir/) read %q", b)
	}
	// A copy of it lands under the same key.
	storetest.Put(t, s, "copy/dir/", "ten bytes!")
	if b := storetest.Read(t, s, "copy/dir/", 0, -1); b != "ten bytes!" {
		t.Errorf("Open(copy/dir/) read %q", b)
	}
}
