package store

import (
	"hash/crc64"
	"math/rand/v2"
	"testing"
)

func TestCombineCRC64(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 1<<16)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	crc := func(b []byte) uint64 { return crc64.Checksum(b, CRC64Table) }
	for _, cut := range []int{0, 1, 7, 8, 9, 1000, 1 << 15, len(data) - 1, len(data)} {
		a, b := data[:cut], data[cut:]
		if got, want := CombineCRC64(crc(a), crc(b), int64(len(b))), crc(data); got != want {
			t.Errorf("cut %d: combined %#x, want %#x", cut, got, want)
		}
	}
	// Many parts, folded left as a multipart upload does.
	var acc uint64
	for off := 0; off < len(data); {
		n := min(len(data)-off, 1+r.IntN(5000))
		acc = CombineCRC64(acc, crc(data[off:off+n]), int64(n))
		off += n
	}
	if acc != crc(data) {
		t.Fatalf("folded parts: %#x, want %#x", acc, crc(data))
	}
}

func BenchmarkCombineCRC64(b *testing.B) {
	for b.Loop() {
		CombineCRC64(0x1234, 0x5678, 5<<20)
	}
}
