//go:build !purego

package crc64ecma

import (
	"encoding/binary"
	"hash/crc64"
)

// Slicing-by-8 table code for inputs too short for the CLMUL kernels on
// amd64. It works on the raw (non-inverted) register value.

// slicing8 is the slicing-by-8 table for crc64.ECMA: slicing8[0] is the
// classic byte table, and slicing8[k][b] is the register after feeding
// byte b followed by k zero bytes.
var slicing8 = makeSlicing8()

func makeSlicing8() *[8][256]uint64 {
	t := new([8][256]uint64)
	for i := range 256 {
		crc := uint64(i)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ crc64.ECMA
			} else {
				crc >>= 1
			}
		}
		t[0][i] = crc
	}
	for i := range 256 {
		crc := t[0][i]
		for k := 1; k < 8; k++ {
			crc = t[0][crc&0xff] ^ crc>>8
			t[k][i] = crc
		}
	}
	return t
}

// updateSlicing8 feeds p into the raw register s.
func updateSlicing8(s uint64, p []byte) uint64 {
	t := slicing8
	for len(p) >= 8 {
		s ^= binary.LittleEndian.Uint64(p)
		s = t[7][s&0xff] ^ t[6][s>>8&0xff] ^ t[5][s>>16&0xff] ^ t[4][s>>24&0xff] ^
			t[3][s>>32&0xff] ^ t[2][s>>40&0xff] ^ t[1][s>>48&0xff] ^ t[0][s>>56]
		p = p[8:]
	}
	for _, b := range p {
		s = t[0][byte(s)^b] ^ s>>8
	}
	return s
}
