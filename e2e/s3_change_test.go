package e2e

import (
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/store/s3test"
)

// TestS3SourceChangesDuringUpload changes a large file while its multipart
// upload is under way (throttled so that it takes seconds): in a part
// already sent and in one not read yet. The part read after the change no
// longer matches the digest taken before the upload, so the file fails as
// SOURCE_CHANGED and no object appears. After `retry`, the next run must
// not resume the saved upload (its first part holds the old bytes): the
// object is the new file exactly, and no unfinished upload is left.
func TestS3SourceChangesDuringUpload(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{}) // counts requests
	h := newHome(t, "s3-change")
	data := make([]byte, 12<<20) // parts of 5, 5 and 2 MiB
	rand.NewChaCha8([32]byte{7}).Read(data)
	p := filepath.Join(h.src, "big.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	h.writeJob(h.jobFile, append(s3Side("dest", srv, px.URL, srv.Bucket, "chg/"), kv{"multipartUploadThreshold", "5m"},
		kv{"multipartUploadPartSize", "5m"}, kv{"uploadThreadNumPerLargeFile", "1"}, kv{"maxThroughput", "2M"})...)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := h.background(ctx, "run", h.jobFile)
	// Once the first part is on its way (the digests were taken before),
	// change a byte in it and one in the last part, as a writer would.
	deadline := time.Now().Add(time.Minute)
	for px.Count(s3test.KindPart) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if px.Count(s3test.KindPart) == 0 {
		t.Fatalf("no part was sent within a minute:\n%s", r.out)
	}
	data[100] ^= 0xff
	data[11<<20] ^= 0xff
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data[100:101], 100); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data[11<<20:11<<20+1], 11<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	later := time.Now().Add(time.Second) // an mtime no clock tick can hide
	os.Chtimes(p, later, later)
	<-r.exited
	if code := r.cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("run with the file changed under it: exit %d, want 1:\n%s", code, r.out)
	}
	changed := false
	for _, a := range h.attempts() {
		for _, r := range a.records {
			if r.key == "big.bin" && r.result == "FAIL" && strings.HasPrefix(r.detail, "SOURCE_CHANGED") {
				changed = true
			}
		}
	}
	if !changed {
		t.Fatalf("no FAIL SOURCE_CHANGED record for big.bin; run said:\n%s", r.out)
	}
	if got := s3Snapshot(t, srv, srv.Bucket, "chg/"); len(got) != 0 {
		t.Fatalf("objects after the failed upload: %d, want none", len(got))
	}

	h.must(30*time.Second, "retry", h.job)
	h.s3RunOK()
	got := s3Snapshot(t, srv, srv.Bucket, "chg/")
	if o, ok := got["big.bin"]; !ok || o.size != int64(len(data)) || o.sum != sha256.Sum256(data) {
		t.Fatalf("after retry: big.bin there %v, %d bytes, same bytes as the changed file %v; want the changed file's %d bytes (a resumed upload would keep the old first part)",
			ok, o.size, o.sum == sha256.Sum256(data), len(data))
	}
	if ups := s3Uploads(t, srv, srv.Bucket); len(ups) != 0 {
		t.Errorf("unfinished uploads left: %q", ups)
	}
	h.s3VerifyClean(1)
}
