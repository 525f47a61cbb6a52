package crc64ecma

import (
	"encoding/binary"
	"errors"
	"hash"
)

// Update returns the result of adding the bytes in p to the crc. It is
// equivalent to crc64.Update(crc, crc64.MakeTable(crc64.ECMA), p).
func Update(crc uint64, p []byte) uint64 {
	return update(crc, p)
}

// Checksum returns the CRC-64/ECMA checksum of p. It is equivalent to
// crc64.Checksum(p, crc64.MakeTable(crc64.ECMA)).
func Checksum(p []byte) uint64 {
	return update(0, p)
}

// New returns a new hash.Hash64 computing the CRC-64/ECMA checksum, like
// crc64.New(crc64.MakeTable(crc64.ECMA)). Its Sum method appends the value
// in big-endian byte order. The returned hash also implements
// encoding.BinaryAppender, encoding.BinaryMarshaler,
// encoding.BinaryUnmarshaler and hash.Cloner, with the same state format
// as hash/crc64's ECMA digest.
func New() hash.Hash64 { return new(digest) }

type digest struct {
	crc uint64
}

func (d *digest) Size() int { return 8 }

func (d *digest) BlockSize() int { return 1 }

func (d *digest) Reset() { d.crc = 0 }

func (d *digest) Write(p []byte) (int, error) {
	d.crc = update(d.crc, p)
	return len(p), nil
}

func (d *digest) Sum64() uint64 { return d.crc }

func (d *digest) Sum(in []byte) []byte {
	return binary.BigEndian.AppendUint64(in, d.crc)
}

func (d *digest) Clone() (hash.Cloner, error) {
	r := *d
	return &r, nil
}

// The marshaled state matches hash/crc64's: magic, the checksum that
// hash/crc64 uses to identify the table (ecmaTableSum), then the crc.
const (
	magic         = "crc\x02"
	marshaledSize = len(magic) + 8 + 8
	// ecmaTableSum is hash/crc64's tableSum(crc64.MakeTable(crc64.ECMA)):
	// the ISO CRC-64 of the 256 table entries in big-endian order.
	// TestMarshalCompat checks it against hash/crc64.
	ecmaTableSum = 0x60269a52e1b7fe65
)

func (d *digest) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint64(b, ecmaTableSum)
	return binary.BigEndian.AppendUint64(b, d.crc), nil
}

func (d *digest) MarshalBinary() ([]byte, error) {
	return d.AppendBinary(make([]byte, 0, marshaledSize))
}

func (d *digest) UnmarshalBinary(b []byte) error {
	if len(b) < len(magic) || string(b[:len(magic)]) != magic {
		return errors.New("crc64ecma: invalid hash state identifier")
	}
	if len(b) != marshaledSize {
		return errors.New("crc64ecma: invalid hash state size")
	}
	if binary.BigEndian.Uint64(b[4:]) != ecmaTableSum {
		return errors.New("crc64ecma: tables do not match")
	}
	d.crc = binary.BigEndian.Uint64(b[12:])
	return nil
}
