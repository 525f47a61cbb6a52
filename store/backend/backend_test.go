package backend

import (
	"strings"
	"testing"
	"time"

	"ferry/store/azure/azuritetest"
	"ferry/store/s3test"
	"ferry/store/storetest"
	"ferry/store/upyun/upyuntest"
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
	if _, err := Source("ftp", "", opt); err == nil {
		t.Fatalf("Source(ftp) succeeded")
	}
}

// TestAzureAndYoupai: srcType azure and youpai (and destType azure) open
// their stores with ossimport's keys: account name and key, container;
// operator, password, service.
func TestAzureAndYoupai(t *testing.T) {
	up := upyuntest.Start(t)
	up.Put("docs/a.txt", []byte("from upyun"), time.Unix(1700000000, 0))
	src, err := Source("youpai", "docs/", Options{Domain: up.URL, Bucket: up.Bucket, AccessKey: up.Operator, SecretKey: up.Password})
	if err != nil {
		t.Fatalf("Source(youpai): %v", err)
	}
	if got := storetest.Read(t, src, "a.txt", 0, -1); got != "from upyun" {
		t.Fatalf("youpai read %q", got)
	}

	az := azuritetest.Start(t)
	az.Container(t, "mycontainer")
	opt := Options{Domain: az.ConnectionString(), Bucket: "mycontainer", AccessKey: azuritetest.Account, SecretKey: azuritetest.Key}
	dst, err := Dest("azure", "to/", opt)
	if err != nil {
		t.Fatalf("Dest(azure): %v", err)
	}
	storetest.Put(t, dst, "a/b", "content")
	asrc, err := Source("azure", "to/a/", opt)
	if err != nil {
		t.Fatalf("Source(azure): %v", err)
	}
	if got := storetest.Read(t, asrc, "b", 0, -1); got != "content" {
		t.Fatalf("azure read %q", got)
	}
}
