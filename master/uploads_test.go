package master_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"ferry/master"
	"ferry/store"
	"ferry/store/local"
	"ferry/store/s3"
	"ferry/store/s3test"
)

// TestCleanAbortsUploadsOfSavedIntents: cleaning a job aborts the
// unfinished uploads its workers left on an S3 server, those whose IDs
// were saved with their task and, for a key saved only as about to be
// uploaded (the worker died, or lost the server's reply, before it saved
// the ID), every upload of that exact key; uploads of other keys, even
// ones the key is a prefix of, are left alone.
func TestCleanAbortsUploadsOfSavedIntents(t *testing.T) {
	srv := s3test.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dst, err := s3.New(ctx, s3.Config{Endpoint: srv.URL, Bucket: srv.Bucket, Prefix: "dst/", AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey, Region: srv.Region, RetryBase: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	src := tree(t, map[string]string{"big": "x", "other": "y"})
	m, err := master.Open(master.Config{Dir: t.TempDir(), LeaseDur: time.Minute,
		OpenSource: func(s master.Spec) (store.Store, error) { return local.New(s.SrcPrefix, local.Options{}) },
		OpenDest:   func(master.Spec) (store.Store, error) { return dst, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	go m.Run(ctx)
	if err := m.Submit(ctx, master.Spec{Name: "j", SrcType: "local", SrcPrefix: src, DestType: "s3", DestPrefix: "dst/", CountLimit: 10}); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(ctx, "w", "host", 1); err != nil {
		t.Fatal(err)
	}
	leases, err := m.Lease(ctx, "w", 1, 10*time.Second)
	if err != nil || len(leases) != 1 {
		t.Fatalf("lease: %v, %v", leases, err)
	}
	ref := master.LeaseRef{Job: "j", TaskID: leases[0].TaskID, LeaseID: leases[0].LeaseID}

	c, err := minio.NewCore(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""),
		Region: srv.Region, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	create := func(key string) string {
		id, err := c.NewMultipartUpload(ctx, srv.Bucket, "dst/"+key, minio.PutObjectOptions{})
		if err != nil {
			t.Fatalf("create an upload of %s: %v", key, err)
		}
		return id
	}
	save := func(key string, st store.MultipartState) {
		b, _ := json.Marshal(st)
		if err := m.SaveUpload("w", ref, master.UploadState{Key: key, State: b}); err != nil {
			t.Fatalf("save %s: %v", key, err)
		}
	}
	// "big": saved as about to be uploaded, then two uploads made whose
	// IDs never reached the task (a create retried after a lost reply).
	save("big", store.MultipartState{})
	create("big")
	create("big")
	// "other": saved with its ID, as after the first part.
	save("other", store.MultipartState{UploadID: create("other")})
	// Keys nothing was saved for.
	create("big.2")
	create("unrelated")

	if err := m.Clean(ctx, "j", true); err != nil {
		t.Fatal(err)
	}
	var left []string
	if err := dst.ListUploads(ctx, "", func(u store.Upload) error { left = append(left, u.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"big.2", "unrelated"}) {
		t.Errorf("unfinished uploads after clean: %q, want those of big.2 and unrelated only", left)
	}
}
