package master_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"ferry/conf"
	"ferry/master"
	"ferry/store"
	"ferry/store/local"
	"ferry/store/s3"
	"ferry/store/s3test"
	"ferry/store/storetest"
	"ferry/task"
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
	src := storetest.Tree(t, map[string]string{"big": "x", "other": "y"})
	m, err := master.Open(master.Config{Dir: t.TempDir(), LeaseDur: time.Minute,
		OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) },
		OpenDest:   func(task.Spec) (store.Store, error) { return dst, nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	go m.Run(ctx)
	if err := m.Submit(ctx, s3Spec(src)); err != nil {
		t.Fatal(err)
	}
	if err := m.Register(ctx, "w", "host", 1); err != nil {
		t.Fatal(err)
	}
	leases, err := m.Lease(ctx, "w", 1, 10*time.Second)
	if err != nil || len(leases) != 1 {
		t.Fatalf("lease: %v, %v", leases, err)
	}
	ref := task.LeaseRef{Job: "j", TaskID: leases[0].TaskID, LeaseID: leases[0].LeaseID}

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
		if err := m.SaveUpload("w", ref, task.UploadState{Key: key, State: b}); err != nil {
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

// s3Spec is a job with conf's defaults from the directory src to the key
// prefix dst/ of an object store, 10 entries a task.
func s3Spec(src string) task.Spec {
	s := conf.DefaultSpec("j")
	s.Src, s.Dest, s.CountLimit = task.Endpoint{Type: "local", Prefix: src}, task.Endpoint{Type: "s3", Prefix: "dst/"}, 10
	return s
}
