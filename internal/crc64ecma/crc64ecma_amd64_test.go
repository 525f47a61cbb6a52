//go:build !purego

package crc64ecma

import (
	"hash/crc64"
	"testing"
)

// implementations lists every code path this machine can run, each with a
// function that selects it and returns a function restoring the default.
func implementations() []impl {
	set := func(clmul, avx512 bool) func() func() {
		return func() func() {
			c, a := useCLMUL, useAVX512
			useCLMUL, useAVX512 = clmul, avx512
			return func() { useCLMUL, useAVX512 = c, a }
		}
	}
	var impls []impl
	if useAVX512 {
		impls = append(impls, impl{"avx512", set(true, true)})
	}
	if useCLMUL {
		impls = append(impls, impl{"sse", set(true, false)})
	}
	return append(impls, impl{"generic", set(false, false)})
}

// TestKernels calls the folding kernels directly at every length they
// accept up to 4 KiB, not only at the lengths the dispatcher gives them.
func TestKernels(t *testing.T) {
	tab := crc64.MakeTable(crc64.ECMA)
	buf := randBytes(t, 4096+64)
	type kernel struct {
		name string
		ok   bool
		min  int
		fold func(uint64, []byte) uint64
	}
	for _, k := range []kernel{
		{"sse", useCLMUL, 16, foldSSE},
		{"avx512", useAVX512, 256, foldAVX512},
	} {
		if !k.ok {
			t.Logf("%s: not supported by this CPU, skipped", k.name)
			continue
		}
		for n := k.min; n <= 4096; n++ {
			for _, off := range []int{0, 1, 8, 15, 63} {
				p := buf[off : off+n]
				crc := uint64(n)*0x9E3779B97F4A7C15 ^ uint64(off)
				if got, want := ^k.fold(^crc, p), crc64.Update(crc, tab, p); got != want {
					t.Fatalf("%s: len %d offset %d: got %#016x, want %#016x", k.name, n, off, got, want)
				}
			}
		}
	}
}

// TestSlicing8 checks the table code on its own.
func TestSlicing8(t *testing.T) {
	tab := crc64.MakeTable(crc64.ECMA)
	buf := randBytes(t, 300)
	for n := 0; n <= len(buf); n++ {
		crc := uint64(n) * 0xD6E8FEB86659FD93
		if got, want := ^updateSlicing8(^crc, buf[:n]), crc64.Update(crc, tab, buf[:n]); got != want {
			t.Fatalf("len %d: got %#016x, want %#016x", n, got, want)
		}
	}
	for i := range slicing8[0] {
		if slicing8[0][i] != tab[i] {
			t.Fatalf("slicing8[0][%d] = %#x, hash/crc64 has %#x", i, slicing8[0][i], tab[i])
		}
	}
}
