package bench

import (
	"context"
	"crypto/md5"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"ferry/store"
	"ferry/store/local"
)

// BenchmarkPartDigests measures what a local file costs before its
// multipart upload to S3: the CRC64 and MD5 of each 50 MiB part (ferry's
// default part size) of a 256 MiB file, read from the page cache.
// "lanes" is store/local.PartDigests (8 parts at a time, MD5s side by side
// in internal/md5lanes); "serial" is the same work one part at a time with
// crypto/md5, as each part used to be hashed when sent.
func BenchmarkPartDigests(b *testing.B) {
	dir := b.TempDir()
	data := make([]byte, 256<<20)
	rand.NewChaCha8([32]byte{2}).Read(data)
	if err := os.WriteFile(filepath.Join(dir, "f"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	const part = 50 << 20
	b.Run("lanes", func(b *testing.B) {
		l, err := local.New(dir, local.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := l.PartDigests(context.Background(), "f", part); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("serial", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			for off := 0; off < len(data); off += part {
				p := data[off:min(off+part, len(data))]
				_ = md5.Sum(p)
				_ = store.UpdateCRC64(0, p)
			}
		}
	})
}
