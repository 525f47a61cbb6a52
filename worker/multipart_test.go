package worker_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"ferry/master"
	"ferry/store"
	"ferry/store/local"
	"ferry/store/s3"
	"ferry/store/s3test"
	"ferry/task"
	"ferry/worker"
)

// recording is a Client that notes every upload state saved, and fails
// the calls to SaveUpload that fail says to fail (by their number, from 1)
// with the error it returns, without passing them on.
type recording struct {
	worker.Client
	fail   func(call int) error
	mu     sync.Mutex
	calls  int
	failed int
	saved  []store.MultipartState
}

func (r *recording) SaveUpload(ctx context.Context, id string, ref task.LeaseRef, u task.UploadState) error {
	r.mu.Lock()
	r.calls++
	if r.fail != nil {
		if err := r.fail(r.calls); err != nil {
			r.failed++
			r.mu.Unlock()
			return err
		}
	}
	var st store.MultipartState
	json.Unmarshal(u.State, &st)
	r.saved = append(r.saved, st)
	r.mu.Unlock()
	return r.Client.SaveUpload(ctx, id, ref, u)
}

// TestUploadSavedBeforeCreated: before a worker creates a multipart upload
// it saves, with the task, that the key is about to be uploaded (a state
// without an upload ID), so that a crash between the creation and the
// first saved ID leaves something for clean to abort; then it saves the
// upload's ID as parts finish. The file lands whole.
func TestUploadSavedBeforeCreated(t *testing.T) {
	rec := &recording{}
	uploadJob(t, rec)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.saved) < 2 || rec.saved[0].UploadID != "" || len(rec.saved[0].Parts) != 0 {
		t.Fatalf("saved states %+v: want first one without an upload ID, before the upload was created", rec.saved)
	}
	if last := rec.saved[len(rec.saved)-1]; last.UploadID == "" {
		t.Fatalf("saved states %+v: want the upload's ID saved after", rec.saved)
	}
}

// TestUploadSavedThroughMasterRestart: saving an upload's state fails
// while the master restarts (the chaos run found a file failed with
// WRITE_ERROR when the master was killed in the middle of a multipart
// upload). The worker saves it again until the master answers: the file
// lands, nothing fails.
func TestUploadSavedThroughMasterRestart(t *testing.T) {
	down := status.Error(codes.Unavailable, "connection error: desc = \"transport: Error while dialing: connect: connection refused\"")
	rec := &recording{fail: func(call int) error {
		if call == 1 || call == 3 || call == 4 { // before the upload is created, and after its first part
			return down
		}
		return nil
	}}
	uploadJob(t, rec)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.failed != 3 {
		t.Fatalf("%d calls to SaveUpload failed, want 3", rec.failed)
	}
}

// uploadJob copies one file of 11 MiB in parts of 5 MiB to the S3 test
// server with a worker whose client is rec (over the master's in-process
// client), and checks that it lands whole, the job counting it copied.
func uploadJob(t *testing.T, rec *recording) {
	srv := s3test.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := s3.Config{Endpoint: srv.URL, Bucket: srv.Bucket, Prefix: "up/", AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey, Region: srv.Region, RetryBase: time.Millisecond}
	src := t.TempDir()
	data := make([]byte, 11<<20)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(src, "big"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	openSrc := func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) }
	openDst := func(task.Spec) (store.Store, error) { return s3.New(context.Background(), cfg) }
	m, err := master.Open(master.Config{Dir: t.TempDir(), LeaseDur: time.Minute, OpenSource: openSrc, OpenDest: openDst})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	go m.Run(ctx)
	spec := localSpec("j", src, "up/")
	spec.Dest.Type, spec.Multipart.Threshold, spec.Multipart.PartSize = "s3", 5<<20, 5<<20
	if err := m.Submit(ctx, spec); err != nil {
		t.Fatal(err)
	}
	rec.Client = master.NewInProcess(m)
	done := make(chan struct{}, 1)
	w := worker.New(worker.Config{ID: "w", Host: "h", Threads: 2, OpenSource: openSrc, OpenDest: openDst,
		TaskDone: func() { done <- struct{}{} }}, rec)
	wctx, stop := context.WithCancel(ctx)
	ended := make(chan struct{})
	go func() { w.Run(wctx); close(ended) }()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the task did not complete")
	}
	stop()
	<-ended

	if st, err := m.Stat(ctx, "j"); err != nil || st[0].Counters.FilesDone != 1 || st[0].Counters.FilesFailed != 0 {
		t.Fatalf("job: %+v, %v; want the file copied", st, err)
	}
	dst, _ := openDst(task.Spec{})
	if e, err := dst.Stat(ctx, "big"); err != nil || e.Size != int64(len(data)) {
		t.Fatalf("object: %+v, %v", e, err)
	}
}
