package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"ferry/store"
)

// BenchmarkPutSmall measures Put of 4 KiB files, 1000 to a directory: the
// cost per file of the temp file, the read-back checksum and the rename.
func BenchmarkPutSmall(b *testing.B) {
	l := newStore(b, Options{})
	data := bytes.Repeat([]byte("0123456789abcdef"), 256)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := fmt.Sprintf("d%04d/f%06d", i/1000, i)
		if _, err := l.Put(ctx, key, bytes.NewReader(data), store.Entry{}, store.PutOptions{}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.StopTimer()
	if err := l.Sync(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

// BenchmarkList measures a full List of 10,000 files in 100 directories.
func BenchmarkList(b *testing.B) {
	l := newStore(b, Options{})
	for d := range 100 {
		dir := filepath.Join(l.Root(), fmt.Sprintf("dir%03d", d))
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 100 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file%03d", f)), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := l.List(ctx, "", "", func(store.Entry) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 10000 {
			b.Fatalf("listed %d files, want 10000", n)
		}
	}
	b.ReportMetric(float64(b.N)*10000/b.Elapsed().Seconds(), "files/s")
}
