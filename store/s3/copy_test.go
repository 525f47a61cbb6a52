package s3

import (
	"bytes"
	"context"
	"errors"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"testing"

	"ferry/store"
	"ferry/store/s3test"
)

// A server-side copy between two buckets of one server: one CopyObject
// below the threshold, UploadPartCopy parts above it; the bytes never pass
// through the client (no GET), the copy carries the source's CRC64 and
// mtime, and a copy into a bucket where copies are refused is
// ErrCopyRefused, as is one from another server.
func TestServerCopy(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "dst")
	srv.CreateBucket(t, "nocopy")
	srv.DenyCopy("nocopy")
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	ctx := context.Background()
	src := open(t, config(srv, px.URL, "from/"))
	dcfg := config(srv, px.URL, "to/")
	dcfg.Bucket = "dst"
	dst := open(t, dcfg)
	small := make([]byte, 100_000)
	big := make([]byte, 12<<20+7)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(small)
	r.Read(big)
	for k, b := range map[string][]byte{"small": small, "big": big} {
		if _, err := src.Put(ctx, k, bytes.NewReader(b), store.Entry{}, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	px.SetFaults(s3test.Faults{}) // count from here
	for k, b := range map[string][]byte{"small": small, "big": big} {
		e, err := src.Stat(ctx, k)
		if err != nil || !e.HasCRC {
			t.Fatalf("stat %s: %+v %v", k, e, err)
		}
		cs := src.CopySource(k)
		cs.ETag = e.ETag
		landed, err := dst.ServerCopy(ctx, k, cs, e.Size, e, 8<<20, store.MultipartOptions{PartSize: 5 << 20, Threads: 2})
		if err != nil {
			t.Fatalf("copy %s: %v", k, err)
		}
		want := crc64.Checksum(b, store.CRC64Table)
		if !landed.HasCRC || landed.CRC64 != want || landed.Size != int64(len(b)) {
			t.Errorf("%s landed %+v, want CRC64 %016x", k, landed, want)
		}
		got, err := dst.Open(ctx, k, 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		gb, _ := io.ReadAll(got)
		got.Close()
		if !bytes.Equal(gb, b) {
			t.Errorf("%s: the copy's bytes differ", k)
		}
		if st, _ := dst.Stat(ctx, k); !st.MTime.Equal(e.MTime) {
			t.Errorf("%s: mtime %v, want the source's %v", k, st.MTime, e.MTime)
		}
	}
	if n := px.Count(s3test.KindCopy); n != 1 {
		t.Errorf("%d CopyObject requests, want 1 (%s)", n, px)
	}
	if n := px.Count(s3test.KindPart); n != 3 {
		t.Errorf("%d part requests, want 3 copied parts of 5 MiB (%s)", n, px)
	}
	if n := px.Count(s3test.KindGet); n != 2 {
		t.Errorf("%d GETs, want only the 2 reads of the test (%s)", n, px)
	}

	ncfg := config(srv, px.URL, "")
	ncfg.Bucket = "nocopy"
	nocopy := open(t, ncfg)
	e, _ := src.Stat(ctx, "small")
	for _, th := range []int64{1 << 30, 1} {
		_, err := nocopy.ServerCopy(ctx, "small", src.CopySource("small"), e.Size, e, th, store.MultipartOptions{})
		if !errors.Is(err, store.ErrCopyRefused) || store.IsRetryable(err) {
			t.Errorf("threshold %d: copy into a bucket that refuses copies: %v, want ErrCopyRefused, not retried", th, err)
		}
	}
	other := src.CopySource("small")
	other.AccessKey = "SOMEONEELSE"
	if _, err := dst.ServerCopy(ctx, "x", other, e.Size, e, 1<<30, store.MultipartOptions{}); !errors.Is(err, store.ErrCopyRefused) {
		t.Errorf("copy under other credentials: %v, want ErrCopyRefused", err)
	}
}
