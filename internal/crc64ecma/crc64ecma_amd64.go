//go:build !purego

package crc64ecma

import (
	"hash/crc64"

	"golang.org/x/sys/cpu"
)

// Implementation switches, set once from CPU features. Tests flip them to
// cover every path on one machine.
var (
	// useCLMUL selects the PCLMULQDQ kernel (and the slicing-by-8 table
	// for inputs shorter than clmulMin) over plain hash/crc64.
	useCLMUL = cpu.X86.HasPCLMULQDQ && cpu.X86.HasSSSE3 && cpu.X86.HasSSE41
	// useAVX512 additionally selects the 512-bit VPCLMULQDQ kernel for
	// inputs of at least avx512Min bytes.
	useAVX512 = useCLMUL && cpu.X86.HasAVX && cpu.X86.HasAVX512F &&
		cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VPCLMULQDQ
)

const (
	// clmulMin is the shortest input given to a CLMUL kernel; shorter
	// ones go through the slicing-by-8 table. (The kernels need 16.)
	clmulMin = 16
	// avx512Min is the shortest input given to foldAVX512 (which needs
	// 256).
	avx512Min = 256
)

var ecmaTable = crc64.MakeTable(crc64.ECMA)

// foldSSE returns the raw (non-inverted) crc register s updated with p,
// using eight 128-bit PCLMULQDQ accumulators (fewer below 128 bytes).
// len(p) must be at least 16. Requires PCLMULQDQ, SSSE3 and SSE4.1.
//
//go:noescape
func foldSSE(s uint64, p []byte) uint64

// foldAVX512 is foldSSE with four 512-bit VPCLMULQDQ accumulators.
// len(p) must be at least 256. Requires AVX, AVX-512F, AVX-512VL and
// VPCLMULQDQ.
//
//go:noescape
func foldAVX512(s uint64, p []byte) uint64

func update(crc uint64, p []byte) uint64 {
	switch {
	case !useCLMUL:
		return crc64.Update(crc, ecmaTable, p)
	case len(p) < clmulMin:
		return ^updateSlicing8(^crc, p)
	case useAVX512 && len(p) >= avx512Min:
		return ^foldAVX512(^crc, p)
	default:
		return ^foldSSE(^crc, p)
	}
}
