package s3

import (
	"context"
	"crypto/md5"
	"errors"
	"strings"
	"testing"

	"ferry/store"
	"ferry/store/s3test"
)

// digestsOfData returns the part digests of data, as a local source gives them.
func digestsOfData(data []byte, partSize int64) []store.PartDigest {
	var ds []store.PartDigest
	for off := int64(0); off < int64(len(data)); off += partSize {
		p := data[off:min(int64(len(data)), off+partSize)]
		ds = append(ds, store.PartDigest{Size: int64(len(p)), CRC64: crcOf(p), MD5: md5.Sum(p)})
	}
	return ds
}

// TestMultipartDigests uploads with the source's part digests known up
// front: the upload carries the CRC64 from its creation (no server-side
// copy), and the parts are sent with the digests' MD5s, which the server
// checks.
func TestMultipartDigests(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	s := open(t, config(srv, px.URL, ""))
	data := randomBytes(22*MiB+3, 4)
	var asked []int64
	opt := store.MultipartOptions{PartSize: 5 * MiB, Threads: 3, Digests: func(_ context.Context, partSize int64) ([]store.PartDigest, error) {
		asked = append(asked, partSize)
		return digestsOfData(data, partSize), nil
	}}
	put, err := s.PutMultipart(context.Background(), "dig.bin", source(data), int64(len(data)), store.Entry{}, opt, nil)
	if err != nil {
		t.Fatalf("PutMultipart: %v", err)
	}
	if len(asked) != 1 || asked[0] != 5*MiB {
		t.Fatalf("Digests asked for part sizes %v, want [5 MiB]", asked)
	}
	if px.Count(s3test.KindPart) != 5 || px.Count(s3test.KindCopy) != 0 {
		t.Fatalf("%v; want 5 parts and no copy (CRC64 known up front)", px)
	}
	if !put.HasCRC || put.CRC64 != crcOf(data) {
		t.Fatalf("PutMultipart returned CRC64 %016x (has %v), want %016x", put.CRC64, put.HasCRC, crcOf(data))
	}
	checkObject(t, s, "dig.bin", data)
}

// TestMultipartDigestsRefused: digests that do not describe what the
// source gives when read, or do not fit the upload, fail it; nothing is
// stored under the key.
func TestMultipartDigestsRefused(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	s := open(t, config(srv, srv.URL, ""))
	data := randomBytes(12*MiB, 5)
	changed := append([]byte(nil), data...)
	changed[11*MiB] ^= 1 // in the third part
	badMD5 := digestsOfData(data, 5*MiB)
	badMD5[1].MD5[0] ^= 1
	for _, c := range []struct {
		name    string
		src     []byte
		e       store.Entry
		digests []store.PartDigest
		want    string
	}{
		{"source changed after its digests", changed, store.Entry{}, digestsOfData(data, 5*MiB), "did the source change"},
		{"a part's MD5 is not its bytes'", data, store.Entry{}, badMD5, "BadDigest"},
		{"digests of other parts", data, store.Entry{}, digestsOfData(data, 4*MiB), "part digests"},
		{"not the CRC64 expected", data, store.Entry{CRC64: crcOf(data) ^ 1, HasCRC: true}, digestsOfData(data, 5*MiB), "did it change"},
	} {
		key := strings.ReplaceAll(c.name, " ", "-")
		opt := store.MultipartOptions{PartSize: 5 * MiB, Threads: 2, Digests: func(context.Context, int64) ([]store.PartDigest, error) {
			return c.digests, nil
		}}
		_, err := s.PutMultipart(context.Background(), key, source(c.src), int64(len(c.src)), c.e, opt, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: PutMultipart = %v, want an error saying %q", c.name, err, c.want)
		}
		if _, err := s.Stat(context.Background(), key); !errors.Is(err, store.ErrNotExist) {
			t.Errorf("%s: Stat = %v, want ErrNotExist", c.name, err)
		}
	}
}
