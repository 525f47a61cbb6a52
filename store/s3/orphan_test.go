package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/minio/minio-go/v7"

	"ferry/store"
	"ferry/store/s3test"
)

// TestOrphanUploadsAborted: uploads of a key that an earlier attempt left
// (created, then never saved nor finished) are aborted when a new upload
// of that key is created; uploads of other keys, even ones the key is a
// prefix of, are left alone.
func TestOrphanUploadsAborted(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	s := open(t, config(srv, px.URL, "orphans/"))
	ctx := context.Background()
	var left []string
	for _, key := range []string{"big.bin", "big.bin", "big.bin.2", "other.bin"} {
		// as an earlier attempt did: created, never finished
		if _, err := s.core.NewMultipartUpload(ctx, s.cfg.Bucket, s.fullKey(key), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("create %s: %v", key, err)
		}
	}
	aborts := px.Count(s3test.KindAbort)
	data := randomBytes(11*MiB, 6)
	if _, err := s.PutMultipart(ctx, "big.bin", source(data), int64(len(data)), store.Entry{}, store.MultipartOptions{PartSize: 5 * MiB}, nil); err != nil {
		t.Fatalf("PutMultipart: %v", err)
	}
	checkObject(t, s, "big.bin", data)
	if err := s.ListUploads(ctx, "", func(u store.Upload) error { left = append(left, u.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(left)
	if !slices.Equal(left, []string{"big.bin.2", "other.bin"}) {
		t.Fatalf("uploads left: %q, want those of big.bin.2 and other.bin only", left)
	}
	if n := px.Count(s3test.KindAbort) - aborts; n != 2 {
		t.Fatalf("%d aborts, want 2 (the two orphans of big.bin)", n)
	}
}

// TestUnsavedUploadLeavesOthers: an upload whose state cannot be saved
// with its task (the lease was lost: a newer attempt holds the key) is
// aborted itself, and leaves the key's other uploads, which may be the
// newer attempt's, alone. Before, creating it aborted them at once.
func TestUnsavedUploadLeavesOthers(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	s := open(t, config(srv, px.URL, "stale/"))
	ctx := context.Background()
	holder, err := s.core.NewMultipartUpload(ctx, s.cfg.Bucket, s.fullKey("big.bin"), minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := errors.New("stale lease")
	data := randomBytes(11*MiB, 7)
	opt := store.MultipartOptions{PartSize: 5 * MiB, OnPart: func(store.MultipartState) error { return stale }}
	if _, err := s.PutMultipart(ctx, "big.bin", source(data), int64(len(data)), store.Entry{}, opt, nil); !errors.Is(err, stale) {
		t.Fatalf("PutMultipart = %v, want the save's error", err)
	}
	var left []string
	if err := s.ListUploads(ctx, "", func(u store.Upload) error { left = append(left, u.UploadID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(left, []string{holder}) {
		t.Fatalf("uploads left: %q, want only the holder's %q", left, holder)
	}
}

// TestStreamedPutAbortsOthersOnlyOnceDone: a streamed Put (content over
// PutThreshold) leaves the key's other uploads alone while it runs, so a
// late attempt that fails takes nothing down with it, and aborts them
// once its own object is in place, when they can only be orphans or a
// stale attempt that would overwrite it.
func TestStreamedPutAbortsOthersOnlyOnceDone(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	cfg := config(srv, srv.URL, "stream/")
	cfg.PutThreshold, cfg.PartSize = 5*MiB, 5*MiB
	s := open(t, cfg)
	ctx := context.Background()
	holder, err := s.core.NewMultipartUpload(ctx, s.cfg.Bucket, s.fullKey("big.bin"), minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uploads := func() []string {
		var ids []string
		if err := s.ListUploads(ctx, "", func(u store.Upload) error { ids = append(ids, u.UploadID); return nil }); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	data := randomBytes(12*MiB, 8)
	broken := io.MultiReader(bytes.NewReader(data[:7*MiB]), iotest.ErrReader(errors.New("disk read error")))
	if _, err := s.Put(ctx, "big.bin", broken, store.Entry{}, store.PutOptions{}); err == nil {
		t.Fatal("Put of a source that fails: no error")
	}
	if got := uploads(); !slices.Equal(got, []string{holder}) {
		t.Fatalf("after a failed streamed Put, uploads %q; want only the holder's %q", got, holder)
	}
	if _, err := s.Put(ctx, "big.bin", bytes.NewReader(data), store.Entry{}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	checkObject(t, s, "big.bin", data)
	if got := uploads(); len(got) != 0 {
		t.Fatalf("after a streamed Put, uploads %q left", got)
	}
}
