package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"ferry/store"
	"ferry/store/s3test"
)

// TestPutDigested sends a body whose digest was read before in one PUT,
// streamed from the source, through a proxy that answers 503 and cuts
// connections: every attempt reads the source again, and what lands is
// the source whole, with its CRC64 and MD5 in its metadata.
func TestPutDigested(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	cfg := config(srv, px.URL, "dig/")
	cfg.MaxRetries = 30
	s := open(t, cfg)
	data := randomBytes(9*MiB+5, 7)
	d := digestsOfData(data, int64(len(data)))[0]
	var opened atomic.Int32
	src := func() (io.ReadCloser, error) {
		opened.Add(1)
		return io.NopCloser(bytes.NewReader(data)), nil
	}
	px.SetFaults(s3test.Faults{Rate503: 0.3, CutRate: 0.2, Seed: 3})
	for i := range 6 {
		key := "f" + string(rune('a'+i))
		got, err := s.PutDigested(context.Background(), key, src, d, store.Entry{})
		if err != nil {
			t.Fatalf("PutDigested %s: %v", key, err)
		}
		if !got.HasCRC || got.CRC64 != crcOf(data) || got.Size != int64(len(data)) {
			t.Fatalf("PutDigested %s returned %+v, want %d bytes with CRC64 %016x", key, got, len(data), crcOf(data))
		}
	}
	if px.Injected(s3test.KindPut) == 0 {
		t.Fatalf("no fault injected: %v", px)
	}
	if n := int(opened.Load()); n <= 6 {
		t.Fatalf("the source was opened %d times for 6 objects and %d faults: a retry must read it again", n, px.Injected(s3test.KindPut))
	}
	t.Logf("%v; the source opened %d times", px, opened.Load())
	px.SetFaults(s3test.Faults{})
	for i := range 6 {
		e := checkObject(t, s, "f"+string(rune('a'+i)), data)
		if e.Meta == nil && !e.HasCRC {
			t.Fatalf("no CRC64 stored with the object")
		}
	}
}

// TestPutDigestedRefused: a source that reads otherwise than its digest
// (changed after it was digested, shorter, longer) or a digest whose MD5
// is not its bytes' fails the PUT, and nothing is stored under the key.
// The changed source is refused by the client before the body's last
// byte: the server saw no PUT complete.
func TestPutDigestedRefused(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	s := open(t, config(srv, px.URL, ""))
	data := randomBytes(6*MiB, 8)
	d := digestsOfData(data, int64(len(data)))[0]
	changed := append([]byte(nil), data...)
	changed[len(changed)-1] ^= 1 // the very last byte
	badMD5 := d
	badMD5.MD5[3] ^= 1
	for _, c := range []struct {
		name string
		src  []byte
		d    store.PartDigest
		want string
	}{
		{"source changed after its digest", changed, d, "did the source change"},
		{"source shorter than its digest", data[:len(data)-1], d, "the source ended"},
		{"MD5 not the bytes'", data, badMD5, "BadDigest"},
	} {
		key := strings.ReplaceAll(c.name, " ", "-")
		src := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(c.src)), nil }
		_, err := s.PutDigested(context.Background(), key, src, c.d, store.Entry{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: PutDigested = %v, want an error saying %q", c.name, err, c.want)
		}
		if _, err := s.Stat(context.Background(), key); !errors.Is(err, store.ErrNotExist) {
			t.Errorf("%s: Stat = %v, want ErrNotExist", c.name, err)
		}
	}
	// Longer than the digest: only the digest's bytes are sent, which
	// match it; what follows is not the file that was digested, and the
	// caller's check of the source's size after the copy says so.
	src := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(append(data, 'x'))), nil }
	if got, err := s.PutDigested(context.Background(), "longer", src, d, store.Entry{}); err != nil || got.Size != int64(len(data)) {
		t.Errorf("longer source: PutDigested = %+v, %v; want the digest's %d bytes", got, err, len(data))
	}
	// A failing source is not retried.
	var n atomic.Int32
	boom := errors.New("disk on fire")
	failing := func() (io.ReadCloser, error) {
		n.Add(1)
		return io.NopCloser(io.MultiReader(bytes.NewReader(data[:MiB]), errReader{boom})), nil
	}
	if _, err := s.PutDigested(context.Background(), "failing", failing, d, store.Entry{}); !errors.Is(err, boom) || n.Load() != 1 {
		t.Errorf("failing source: PutDigested = %v after %d reads; want %v after one", err, n.Load(), boom)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// TestConfirmed: a single PUT's entry is Confirmed (its ETag, the MD5 the
// server checked the body against, says what is stored); a multipart
// upload's is not, nor a Put streamed in parts.
func TestConfirmed(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	cfg := config(srv, srv.URL, "conf/")
	cfg.PutThreshold, cfg.PartSize = 6*MiB, 5*MiB
	s := open(t, cfg)
	ctx := context.Background()
	small := randomBytes(1000, 1)
	if e, err := s.Put(ctx, "small", bytes.NewReader(small), store.Entry{}, store.PutOptions{}); err != nil || !e.Confirmed {
		t.Errorf("single PUT: %+v, %v; want Confirmed", e, err)
	}
	big := randomBytes(7*MiB, 2)
	if e, err := s.Put(ctx, "streamed", bytes.NewReader(big), store.Entry{}, store.PutOptions{}); err != nil || e.Confirmed {
		t.Errorf("Put in parts: %+v, %v; want not Confirmed", e, err)
	}
	if e, err := s.PutMultipart(ctx, "multi", source(big), int64(len(big)), store.Entry{}, store.MultipartOptions{PartSize: 5 * MiB}, nil); err != nil || e.Confirmed {
		t.Errorf("PutMultipart: %+v, %v; want not Confirmed", e, err)
	}
	src := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(big)), nil }
	if e, err := s.PutDigested(ctx, "digested", src, digestsOfData(big, int64(len(big)))[0], store.Entry{}); err != nil || !e.Confirmed {
		t.Errorf("PutDigested: %+v, %v; want Confirmed", e, err)
	}
}
