package worker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ferry/master"
	"ferry/store"
	"ferry/store/local"
	"ferry/store/s3"
	"ferry/store/s3test"
	"ferry/task"
	"ferry/worker"
)

// s3Job copies the files (name -> content) from a local directory to the
// S3 test server through a counting proxy, with a real master and worker,
// the source store wrapped by wrap (when set), and returns the proxy, the
// destination and the job's state once it ended. Multipart starts at 64
// MiB, above every file here.
func s3Job(t *testing.T, files map[string][]byte, wrap func(store.Store) store.Store, edit func(*task.Spec)) (*s3test.Proxy, store.Store, master.JobStat) {
	t.Helper()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := s3.Config{Endpoint: px.URL, Bucket: srv.Bucket, Prefix: "up/", AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey, Region: srv.Region, RetryBase: time.Millisecond}
	src := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(src, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	openSrc := func(s task.Spec) (store.Store, error) {
		l, err := local.New(s.Src.Prefix, local.Options{})
		if err != nil || wrap == nil {
			return l, err
		}
		return wrap(l), nil
	}
	openDst := func(task.Spec) (store.Store, error) { return s3.New(context.Background(), cfg) }
	m, err := master.Open(master.Config{Dir: t.TempDir(), LeaseDur: time.Minute, OpenSource: openSrc, OpenDest: openDst})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	go m.Run(ctx)
	spec := localSpec("j", src, "up/")
	spec.Dest.Type, spec.Multipart.Threshold, spec.Multipart.PartSize = "s3", 64<<20, 8<<20
	if edit != nil {
		edit(&spec)
	}
	if err := m.Submit(ctx, spec); err != nil {
		t.Fatal(err)
	}
	for {
		st, err := m.Stat(ctx, "j")
		if err != nil {
			t.Fatal(err)
		}
		if st[0].ScanFinished {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	before := map[string]int{}
	for _, k := range []string{s3test.KindPut, s3test.KindHead, s3test.KindGet, s3test.KindList} {
		before[k] = px.Count(k)
	}
	w := worker.New(worker.Config{ID: "w", Host: "h", Threads: 4, OpenSource: openSrc, OpenDest: openDst}, master.NewInProcess(m))
	wctx, stop := context.WithCancel(ctx)
	ended := make(chan struct{})
	go func() { w.Run(wctx); close(ended) }()
	var st []master.JobStat
	for {
		st, err = m.Stat(ctx, "j")
		if err != nil {
			t.Fatal(err)
		}
		if !st[0].Active() {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the job did not end")
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	<-ended
	dst, err := openDst(task.Spec{})
	if err != nil {
		t.Fatal(err)
	}
	return px, dst, st[0]
}

// TestMediumFilesStreamed: a local file of a few MiB or more goes to S3
// digested first and streamed in one PUT (no multipart upload, no copy),
// even above the 32 MiB a Put holds in memory (where Put turned to a
// multipart upload and a copy); a small one in one PUT held in memory.
// Each lands whole, with the CRC64 of its content.
func TestMediumFilesStreamed(t *testing.T) {
	files := map[string][]byte{"medium-a": randomData(5 << 20), "medium-b": randomData(33<<20 + 3), "small": randomData(100 << 10)}
	px, dst, st := s3Job(t, files, nil, nil)
	if st.Counters.FilesDone != 3 || st.Counters.FilesFailed != 0 {
		t.Fatalf("job: %+v; want 3 files copied", st.Counters)
	}
	if px.Count(s3test.KindPut) != 3 || px.Count(s3test.KindCreate)+px.Count(s3test.KindPart)+px.Count(s3test.KindCopy) != 0 {
		t.Fatalf("%v; want one PUT per file and no multipart upload or copy", px)
	}
	// isAuditAfterImport (on by default, general) asks the server nothing
	// more: each PUT's answer proved what landed.
	if px.Count(s3test.KindHead) != 0 {
		t.Fatalf("%v; want no HEAD after a PUT whose ETag is the MD5 the server checked", px)
	}
	for name, data := range files {
		checkLanded(t, dst, name, data)
	}
}

// TestAuditAfterImportKept: in detailed mode, and after a multipart
// upload, isAuditAfterImport still looks at each object (one HEAD); with
// isAuditAfterImport off, nothing does.
func TestAuditAfterImportKept(t *testing.T) {
	files := map[string][]byte{"a": randomData(1000), "b": randomData(2000)}
	for _, c := range []struct {
		name  string
		edit  func(*task.Spec)
		heads int
	}{
		{"detailed", func(s *task.Spec) { s.AuditMode = task.AuditDetailed }, 2},
		{"multipart", func(s *task.Spec) { s.Multipart.Threshold = 1 }, 2},
		{"off", func(s *task.Spec) { s.AuditAfterImport = false }, 0},
	} {
		px, dst, st := s3Job(t, files, nil, c.edit)
		if st.Counters.FilesDone != 2 || st.Counters.FilesFailed != 0 {
			t.Fatalf("%s: job %+v; want 2 files copied", c.name, st.Counters)
		}
		if n := px.Count(s3test.KindHead); n != c.heads {
			t.Errorf("%s: %d HEADs (%v), want %d", c.name, n, px, c.heads)
		}
		for name, data := range files {
			checkLanded(t, dst, name, data)
		}
	}
}

// TestMediumFileChangedAfterItsDigest: the bytes read for sending are not
// those digested (the file changed in between): the PUT fails before its
// body ends, the file fails, and nothing lands.
func TestMediumFileChangedAfterItsDigest(t *testing.T) {
	data := randomData(6 << 20)
	px, dst, st := s3Job(t, map[string][]byte{"moving": data}, func(s store.Store) store.Store { return &flipOnOpen{s} }, nil)
	if st.Counters.FilesDone != 0 || st.Counters.FilesFailed != 1 {
		t.Fatalf("job: %+v; want the file failed", st.Counters)
	}
	if _, err := dst.Stat(context.Background(), "moving"); err == nil {
		t.Fatalf("an object landed from a source read otherwise than digested (%v)", px)
	}
}

// flipOnOpen is a source whose Open gives every file with its last byte
// flipped, as if it changed between its digest and its read; its
// features are the inner store's (PartDigests above all) but OpenStat.
type flipOnOpen struct{ store.Store }

func (f *flipOnOpen) Features() store.Features {
	x := store.FeaturesOf(f.Store)
	x.OpenStat = nil
	return x
}

func (f *flipOnOpen) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	r, err := f.Store.Open(ctx, key, off, n)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	b[len(b)-1] ^= 1
	return io.NopCloser(bytes.NewReader(b)), nil
}

func randomData(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// checkLanded reads key back from dst and compares it with data; its
// entry must carry data's CRC64.
func checkLanded(t *testing.T, dst store.Store, key string, data []byte) {
	t.Helper()
	e, err := dst.Stat(context.Background(), key)
	if err != nil || e.Size != int64(len(data)) || !e.HasCRC || e.CRC64 != store.UpdateCRC64(0, data) {
		t.Fatalf("%s: %+v, %v; want %d bytes with their CRC64", key, e, err, len(data))
	}
	r, err := dst.Open(context.Background(), key, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%s: read back %d bytes (%v), differing from what was sent", key, len(got), err)
	}
}
