//go:build !purego

#include "textflag.h"

// CLMUL folding kernels for CRC-64/ECMA (reflected bit order). See doc.go
// for the method and foldconst.go for the constants: ·foldK+16*(m-1)(SB)
// holds the pair that moves a 128-bit accumulator forward by 128*m bits
// (low qword multiplies the accumulator's low qword, high qword its high
// qword), and ·barrettK the pair for the final reduction to 64 bits.
//
// Both kernels take the raw (non-inverted) crc register and return it
// updated with all of p, len(p) >= 16 (>= 256 for foldAVX512).
//
// Head: once the crc register is XORed into the first 8 bytes, the CRC is
// zero-initialized, and leading zero bytes do not change it. So with
// r = len(p) % 16 != 0, the message is viewed as 16-r zero bytes followed
// by p, which ends on a block boundary. The first block of that view, Z (p[0:r]
// with the crc applied, in its top r bytes), is folded forward by 128 bits
// into the block at p[r:]; the crc bytes that fall into that block are
// XORed in too. The rest is whole blocks from p[r:] to the end.

// shuf<> holds PSHUFB masks: shuf<>+r is "shift left by 16-r bytes" and
// shuf<>+16+r is "shift right by r bytes" (0x80 selects a zero byte).
DATA shuf<>+0(SB)/8, $0x8080808080808080
DATA shuf<>+8(SB)/8, $0x8080808080808080
DATA shuf<>+16(SB)/8, $0x0706050403020100
DATA shuf<>+24(SB)/8, $0x0f0e0d0c0b0a0908
DATA shuf<>+32(SB)/8, $0x8080808080808080
DATA shuf<>+40(SB)/8, $0x8080808080808080
GLOBL shuf<>(SB), RODATA|NOPTR, $48

// FOLD folds accumulator A forward with constants K and XORs in the 16
// input bytes at off(SI). T and L are scratch.
#define FOLD(K, A, T, L, off) \
	MOVOU     off(SI), L;  \
	MOVOA     A, T;        \
	PCLMULQDQ $0x00, K, A; \
	PCLMULQDQ $0x11, K, T; \
	PXOR      L, A;        \
	PXOR      T, A

// FOLDINTO folds accumulator A forward with constants K and XORs the
// result into D. A is clobbered, T is scratch.
#define FOLDINTO(K, A, T, D) \
	MOVOA     A, T;        \
	PCLMULQDQ $0x00, K, A; \
	PCLMULQDQ $0x11, K, T; \
	PXOR      A, D;        \
	PXOR      T, D

// func foldSSE(s uint64, p []byte) uint64
// Requires PCLMULQDQ, SSSE3 and SSE4.1, and len(p) >= 16.
TEXT ·foldSSE(SB), NOSPLIT, $0-40
	MOVQ s+0(FP), X0 // zero-extends into the 128-bit register
	MOVQ p_base+8(FP), SI
	MOVQ p_len+16(FP), CX

	// Head (see above). Afterwards X0 is to be XORed into the block at
	// SI, and CX is a non-zero multiple of 16.
	MOVQ CX, DX
	ANDQ $15, DX
	JZ   sse_body
	MOVOU  (SI), X1
	PXOR   X0, X1
	LEAQ   shuf<>(SB), AX
	MOVOU  (AX)(DX*1), X2
	PSHUFB X2, X1 // Z
	MOVOU  16(AX)(DX*1), X2
	PSHUFB X2, X0 // crc bytes at or after p[r]
	MOVOU  ·foldK+0(SB), X2
	FOLDINTO(X2, X1, X3, X0)
	ADDQ   DX, SI
	SUBQ   DX, CX

sse_body:
	CMPQ CX, $128
	JB   sse_single

	// Eight accumulators, X1..X8, for 128 bytes at a time.
	MOVOU 0(SI), X1
	MOVOU 16(SI), X2
	MOVOU 32(SI), X3
	MOVOU 48(SI), X4
	MOVOU 64(SI), X5
	MOVOU 80(SI), X6
	MOVOU 96(SI), X7
	MOVOU 112(SI), X8
	PXOR  X0, X1
	ADDQ  $128, SI
	SUBQ  $128, CX
	CMPQ  CX, $128
	JB    sse_reduce8

	MOVOU ·foldK+112(SB), X0 // D = 1024

	PCALIGN $16

sse_loop128:
	FOLD(X0, X1, X9, X10, 0)
	FOLD(X0, X2, X11, X12, 16)
	FOLD(X0, X3, X13, X14, 32)
	FOLD(X0, X4, X15, X9, 48)
	FOLD(X0, X5, X10, X11, 64)
	FOLD(X0, X6, X12, X13, 80)
	FOLD(X0, X7, X14, X15, 96)
	FOLD(X0, X8, X9, X10, 112)
	ADDQ $128, SI
	SUBQ $128, CX
	CMPQ CX, $128
	JAE  sse_loop128

sse_reduce8:
	// X8 ^= X1*x^896 ^ X2*x^768 ^ ... ^ X7*x^128 (mod P).
	MOVOU ·foldK+96(SB), X0
	FOLDINTO(X0, X1, X9, X8)
	MOVOU ·foldK+80(SB), X10
	FOLDINTO(X10, X2, X11, X8)
	MOVOU ·foldK+64(SB), X12
	FOLDINTO(X12, X3, X13, X8)
	MOVOU ·foldK+48(SB), X14
	FOLDINTO(X14, X4, X15, X8)
	MOVOU ·foldK+32(SB), X0
	FOLDINTO(X0, X5, X9, X8)
	MOVOU ·foldK+16(SB), X10
	FOLDINTO(X10, X6, X11, X8)
	MOVOU ·foldK+0(SB), X12
	FOLDINTO(X12, X7, X13, X8)
	MOVOA X8, X1
	JMP   sse_tail

sse_single:
	CMPQ CX, $64
	JB   sse_one

	// 64 to 127 bytes: four accumulators, X1..X4, folded at once into X4:
	// X4 ^= X1*x^384 ^ X2*x^256 ^ X3*x^128 (mod P).
	MOVOU 0(SI), X1
	MOVOU 16(SI), X2
	MOVOU 32(SI), X3
	MOVOU 48(SI), X4
	PXOR  X0, X1
	ADDQ  $64, SI
	SUBQ  $64, CX
	MOVOU ·foldK+32(SB), X0
	FOLDINTO(X0, X1, X9, X4)
	MOVOU ·foldK+16(SB), X10
	FOLDINTO(X10, X2, X11, X4)
	MOVOU ·foldK+0(SB), X12
	FOLDINTO(X12, X3, X13, X4)
	MOVOA X4, X1
	JMP   sse_tail

sse_one:
	MOVOU (SI), X1
	PXOR  X0, X1
	ADDQ  $16, SI
	SUBQ  $16, CX

sse_tail:
	// One accumulator, X1, for the remaining 16-byte blocks.
	MOVOU ·foldK+0(SB), X0 // D = 128
	CMPQ  CX, $16
	JB    sse_reduce

sse_loop16:
	FOLD(X0, X1, X9, X10, 0)
	ADDQ $16, SI
	SUBQ $16, CX
	CMPQ CX, $16
	JAE  sse_loop16

sse_reduce:
	// X1 = L (low qword), H. Y = L*x^128 + H*x^64 (mod P), 128 bits:
	MOVOA     X1, X2
	PCLMULQDQ $0x10, X0, X1 // L * reflect(x^127 mod P)
	PSRLDQ    $8, X2
	PXOR      X2, X1
	// Barrett: q = floor(Yh*mu / x^64), crc = Yl ^ low64(q*P).
	MOVOU     ·barrettK(SB), X0
	MOVOA     X1, X3
	PCLMULQDQ $0x00, X0, X1 // q in the low qword
	MOVOA     X1, X2
	PCLMULQDQ $0x10, X0, X1 // q*P + q, low 64 coefficients in the high qword
	PSLLDQ    $8, X2
	PXOR      X3, X1
	PXOR      X2, X1
	PEXTRQ    $1, X1, AX
	MOVQ      AX, ret+32(FP)
	RET

// ZFOLD folds the 512-bit accumulator A (four 128-bit lanes) forward with
// the broadcast constants K and XORs in the 64 bytes at off(SI).
#define ZFOLD(K, A, T, off) \
	VPCLMULQDQ $0x00, K, A, T; \
	VPCLMULQDQ $0x11, K, A, A; \
	VPTERNLOGQ $0x96, off(SI), T, A

// ZFOLDINTO folds A forward with K and XORs the result into D. Also used
// on X registers.
#define ZFOLDINTO(K, A, T, D) \
	VPCLMULQDQ $0x00, K, A, T; \
	VPCLMULQDQ $0x11, K, A, A; \
	VPTERNLOGQ $0x96, T, A, D

// func foldAVX512(s uint64, p []byte) uint64
// Requires AVX, AVX-512F, AVX-512VL and VPCLMULQDQ, and len(p) >= 256.
TEXT ·foldAVX512(SB), NOSPLIT, $0-40
	VMOVQ s+0(FP), X0 // zero-extends into Z0
	MOVQ  p_base+8(FP), SI
	MOVQ  p_len+16(FP), CX

	// Head, as in foldSSE.
	MOVQ CX, DX
	ANDQ $15, DX
	JZ   avx_body
	VMOVDQU (SI), X1
	VPXOR   X0, X1, X1
	LEAQ    shuf<>(SB), AX
	VMOVDQU (AX)(DX*1), X2
	VPSHUFB X2, X1, X1 // Z
	VMOVDQU 16(AX)(DX*1), X2
	VPSHUFB X2, X0, X0 // crc bytes at or after p[r]
	VMOVDQU ·foldK+0(SB), X2
	ZFOLDINTO(X2, X1, X3, X0)
	ADDQ    DX, SI
	SUBQ    DX, CX

avx_body:
	// Four accumulators, Z1..Z4, for 256 bytes at a time.
	VMOVDQU64 0(SI), Z1
	VMOVDQU64 64(SI), Z2
	VMOVDQU64 128(SI), Z3
	VMOVDQU64 192(SI), Z4
	VPXORQ    Z0, Z1, Z1
	ADDQ      $256, SI
	SUBQ      $256, CX
	CMPQ      CX, $256
	JB        avx_reduce4

	VBROADCASTI32X4 ·foldK+240(SB), Z0 // D = 2048

	PCALIGN $16

avx_loop256:
	ZFOLD(Z0, Z1, Z5, 0)
	ZFOLD(Z0, Z2, Z6, 64)
	ZFOLD(Z0, Z3, Z7, 128)
	ZFOLD(Z0, Z4, Z8, 192)
	ADDQ $256, SI
	SUBQ $256, CX
	CMPQ CX, $256
	JAE  avx_loop256

avx_reduce4:
	// Z4 ^= Z1*x^1536 ^ Z2*x^1024 ^ Z3*x^512 (mod P), lane by lane.
	VBROADCASTI32X4 ·foldK+176(SB), Z0
	ZFOLDINTO(Z0, Z1, Z5, Z4)
	VBROADCASTI32X4 ·foldK+112(SB), Z9
	ZFOLDINTO(Z9, Z2, Z6, Z4)
	VBROADCASTI32X4 ·foldK+48(SB), Z0 // D = 512, also for the loop below
	ZFOLDINTO(Z0, Z3, Z7, Z4)

	CMPQ CX, $64
	JB   avx_reduce1

avx_loop64:
	ZFOLD(Z0, Z4, Z5, 0)
	ADDQ $64, SI
	SUBQ $64, CX
	CMPQ CX, $64
	JAE  avx_loop64

avx_reduce1:
	// Lanes of Z4 are a (bytes 0-15), b, c, d:
	// X1 = d ^ a*x^384 ^ b*x^256 ^ c*x^128 (mod P).
	VEXTRACTI32X4 $1, Z4, X5
	VEXTRACTI32X4 $2, Z4, X6
	VEXTRACTI32X4 $3, Z4, X1
	VMOVDQU       ·foldK+32(SB), X0
	ZFOLDINTO(X0, X4, X7, X1)
	VMOVDQU       ·foldK+16(SB), X9
	ZFOLDINTO(X9, X5, X8, X1)
	VMOVDQU       ·foldK+0(SB), X0 // D = 128, also below
	ZFOLDINTO(X0, X6, X7, X1)

	CMPQ CX, $16
	JB   avx_reduce

avx_loop16:
	VPCLMULQDQ $0x00, X0, X1, X7
	VPCLMULQDQ $0x11, X0, X1, X1
	VPTERNLOGQ $0x96, (SI), X7, X1
	ADDQ       $16, SI
	SUBQ       $16, CX
	CMPQ       CX, $16
	JAE        avx_loop16

avx_reduce:
	// As in foldSSE.
	VPCLMULQDQ $0x10, X0, X1, X2 // L * reflect(x^127 mod P)
	VPSRLDQ    $8, X1, X1
	VPXOR      X2, X1, X1
	VMOVDQU    ·barrettK(SB), X0
	VPCLMULQDQ $0x00, X0, X1, X2 // q in the low qword
	VPCLMULQDQ $0x10, X0, X2, X3 // q*P + q, low 64 coefficients in the high qword
	VPSLLDQ    $8, X2, X2
	VPTERNLOGQ $0x96, X2, X3, X1
	VPEXTRQ    $1, X1, AX
	MOVQ       AX, ret+32(FP)
	VZEROUPPER
	RET
