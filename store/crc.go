package store

import (
	"hash"
	"hash/crc64"
)

// CRC64Table is the CRC-64/ECMA-182 table (reflected, initial value and final
// XOR all ones, as hash/crc64 computes it). Alibaba OSS reports the same
// checksum in x-oss-hash-crc64ecma, so a copy to OSS is verified without
// reading it back. crc64.MakeTable returns Go's slicing-by-8 table for ECMA.
var CRC64Table = crc64.MakeTable(crc64.ECMA)

// NewCRC64 returns a hash computing the CRC64 stored in Entry.CRC64.
func NewCRC64() hash.Hash64 { return crc64.New(CRC64Table) }

// UpdateCRC64 returns crc (a CRC64 as NewCRC64 computes it, 0 for nothing
// yet) updated with p.
func UpdateCRC64(crc uint64, p []byte) uint64 { return crc64.Update(crc, CRC64Table, p) }
