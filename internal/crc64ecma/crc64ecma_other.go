//go:build !amd64 || purego

package crc64ecma

import "hash/crc64"

// Portable fallback (other architectures, or the purego build tag):
// hash/crc64 with the ECMA table.

var ecmaTable = crc64.MakeTable(crc64.ECMA)

func update(crc uint64, p []byte) uint64 {
	return crc64.Update(crc, ecmaTable, p)
}
