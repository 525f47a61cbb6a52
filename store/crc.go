package store

import (
	"hash"
	"hash/crc64"

	"ferry/internal/crc64ecma"
)

// CRC64Table is the CRC-64/ECMA-182 table (reflected, initial value and final
// XOR all ones, as hash/crc64 computes it). Alibaba OSS reports the same
// checksum in x-oss-hash-crc64ecma, so a copy to OSS is verified without
// reading it back. Tests compute expected values with it through hash/crc64;
// ferry itself uses NewCRC64 and UpdateCRC64.
var CRC64Table = crc64.MakeTable(crc64.ECMA)

// NewCRC64 returns a hash computing the CRC64 stored in Entry.CRC64. It is
// internal/crc64ecma: the same checksum as hash/crc64 with CRC64Table, by
// carry-less multiplication (about 16 GB/s per core with PCLMULQDQ, 60+ with
// AVX-512, against hash/crc64's 1.1), since every copied byte is checked
// twice.
func NewCRC64() hash.Hash64 { return crc64ecma.New() }

// UpdateCRC64 returns crc (a CRC64 as NewCRC64 computes it, 0 for nothing
// yet) updated with p.
func UpdateCRC64(crc uint64, p []byte) uint64 { return crc64ecma.Update(crc, p) }
