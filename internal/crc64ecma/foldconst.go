package crc64ecma

// foldK holds the carry-less multiplication constants used to fold a
// 128-bit accumulator forward over D = 128*(i+1) bits of input:
//
//	foldK[i][0] = reflect64(x^(D+63) mod P)  multiplies the low  qword (bytes 0-7)
//	foldK[i][1] = reflect64(x^(D-1)  mod P)  multiplies the high qword (bytes 8-15)
//
// where P is the ECMA-182 polynomial (x^64 + 0x42F0E1EBA9EA3693, which is
// crc64.ECMA bit-reversed). The "-1" is because PCLMULQDQ of two
// bit-reflected 64-bit operands a and b yields a*b*x as a bit-reflected
// 128-bit value.
// TestFoldConstants (foldconst_test.go) derives every entry with
// bit-by-bit polynomial arithmetic and compares.
//
// The assembly addresses entries as ·foldK+16*(i)(SB); keep the layout.
var foldK = [16][2]uint64{
	{0xe05dd497ca393ae4, 0xdabe95afc7875f40}, // D = 128
	{0x60095b008a9efa44, 0x3be653a30fe1af51}, // D = 256
	{0xb5ea1af9c013aca4, 0x69a35d91c3730254}, // D = 384
	{0x6ae3efbb9dd441f3, 0x081f6054a7842df4}, // D = 512
	{0x2e30203212cac325, 0x0e31d519421a63a5}, // D = 640
	{0x2fe3fd2920ce82ec, 0xe4ce2cd55fea0037}, // D = 768
	{0x9e735cb59b4724da, 0x947874de595052cb}, // D = 896
	{0x8757d71d4fcc1000, 0xd7d86b2af73de740}, // D = 1024
	{0x5d1adbb9d3f6e8b9, 0x586aa86e22ed6674}, // D = 1152
	{0x98dcdb9596c7a6d4, 0x42c626bf46ee3b25}, // D = 1280
	{0x83ae94b2f9b37107, 0x27e0a7dc07da10ec}, // D = 1408
	{0x47b00921f036ff71, 0xb0382771eb06c453}, // D = 1536
	{0xab4fb9b09dea92b8, 0x35436b39686011be}, // D = 1664
	{0xcb43888867d937cc, 0x8161c4608bf31486}, // D = 1792
	{0x2ecbc6dd0447c685, 0xedeb55d8dba532a0}, // D = 1920
	{0x8260adf2381ad81c, 0xf31fd9271e228b79}, // D = 2048
}

// barrettK holds the constants for reducing the final 128-bit remainder
// to the 64-bit crc (Barrett reduction), with mu = floor(x^128 / P):
//
//	barrettK[0] = reflect64(floor(mu / x))
//	barrettK[1] = reflect64(floor(P / x))
//
// Dropping the constant terms makes the 65-bit mu and P fit in 64 bits,
// and PCLMULQDQ's one-bit shift puts the x back; the dropped term of mu
// cannot change the quotient and the dropped 1 of P is added back by XOR.
// TestBarrettConstants derives them; TestBarrettModel checks the method.
var barrettK = [2]uint64{0x9c3e466c172963d5, 0x92d8af2baf0e1e85}
