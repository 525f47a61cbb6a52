package verify

import "fmt"

// The reasons Quick and Deep give for a difference in size or content, and
// what the per-entry report reads back from them in a verify report.
const (
	sizeReason = "size %d at the source, %d at the destination"
	crcReason  = "crc64 %016x at the source, %016x at the destination"
)

// Sizes reads the source's and the destination's sizes back from a
// reason for a difference in size.
func Sizes(reason string) (src, dst int64, ok bool) {
	n, err := fmt.Sscanf(reason, sizeReason, &src, &dst)
	return src, dst, err == nil && n == 2
}

// Checksums reads the source's and the destination's CRC64s back from a
// reason for a difference in content.
func Checksums(reason string) (src, dst uint64, ok bool) {
	n, err := fmt.Sscanf(reason, "crc64 %x at the source, %x at the destination", &src, &dst)
	return src, dst, err == nil && n == 2
}
