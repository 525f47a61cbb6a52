package backend

import (
	"strings"
	"testing"

	"ferry/store/s3test"
	"ferry/store/storetest"
)

func TestObjectStores(t *testing.T) {
	srv := s3test.Start(t)
	opt := Options{Domain: srv.URL, Bucket: srv.Bucket, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, Region: srv.Region}
	dst, err := Dest("", "to/", opt)
	if err != nil {
		t.Fatalf("Dest(oss): %v", err)
	}
	storetest.Put(t, dst, "a/b", "content")
	src, err := Source("cos", "to/a/", opt)
	if err != nil {
		t.Fatalf("Source(cos): %v", err)
	}
	if got := storetest.Read(t, src, "b", 0, -1); got != "content" {
		t.Fatalf("read back %q", got)
	}
	opt.SecretKey = "wrong"
	if _, err := Source("s3", "", opt); err == nil || !strings.Contains(err.Error(), "check srcSecretKey") {
		t.Fatalf("Source with a wrong secret = %v", err)
	}
	if _, err := Source("azure", "", opt); err == nil {
		t.Fatalf("Source(azure) succeeded")
	}
}
