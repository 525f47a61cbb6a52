package md5lanes

import (
	"crypto/md5"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// TestMatchesCryptoMD5 hashes streams of awkward lengths, written in
// awkward pieces, many at once (so the lanes are shared), and compares each
// with crypto/md5.
func TestMatchesCryptoMD5(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	lengths := []int{0, 1, 63, 64, 65, 4095, 4096, 32 << 10, 32<<10 + 1, 1 << 20, 3<<20 - 7}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 40 {
		n := lengths[i%len(lengths)]
		piece := []int{1, 7, 64, 1000, 32 << 10, 1 << 20}[i%6]
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := New()
			defer h.Close()
			for r := range 2 { // and again after Reset
				for off := 0; off < n; off += piece {
					h.Write(data[off:min(n, off+piece)])
				}
				want := md5.Sum(data[:n])
				if got := h.Sum(nil); string(got) != string(want[:]) {
					errs <- fmt.Errorf("stream %d (%d bytes in pieces of %d, round %d): %x, want %x", i, n, piece, r, got, want)
					return
				}
				h.Reset()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkLanes(b *testing.B) {
	data := make([]byte, 8<<20)
	for _, streams := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			b.SetBytes(int64(len(data) * streams))
			for b.Loop() {
				var wg sync.WaitGroup
				for range streams {
					wg.Add(1)
					go func() {
						defer wg.Done()
						h := New()
						defer h.Close()
						for off := 0; off < len(data); off += 1 << 20 {
							h.Write(data[off : off+1<<20])
						}
						h.Sum(nil)
					}()
				}
				wg.Wait()
			}
		})
	}
}
