package verify

import (
	"testing"

	"ferry/store"
)

// What Quick says of a difference is read back by Sizes and Checksums, and
// nothing else is taken for one.
func TestReasonsReadBack(t *testing.T) {
	s := store.Entry{Key: "k", Size: 5, CRC64: 0xfedcba9876543210, HasCRC: true}
	d := store.Entry{Key: "k", Size: 6, CRC64: 1, HasCRC: true}
	if src, dst, ok := Sizes(Quick(Simple, s, d)); !ok || src != 5 || dst != 6 {
		t.Errorf("Sizes(%q) = %d, %d, %v", Quick(Simple, s, d), src, dst, ok)
	}
	d.Size = 5
	if src, dst, ok := Checksums(Quick(Detailed, s, d)); !ok || src != s.CRC64 || dst != 1 {
		t.Errorf("Checksums(%q) = %x, %x, %v", Quick(Detailed, s, d), src, dst, ok)
	}
	for _, r := range []string{"", "not at the destination", "cannot compare: crc64 1 at the source", Quick(Simple, s, store.Entry{Size: 9})} {
		if _, _, ok := Checksums(r); ok {
			t.Errorf("Checksums(%q) found checksums", r)
		}
	}
	if _, _, ok := Sizes(Quick(Detailed, s, d)); ok {
		t.Errorf("Sizes found sizes in %q", Quick(Detailed, s, d))
	}
}
