package table

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
)

// Digest is what one side holds of a key range: its row count and the
// SHA-256 of its rows' canonical encodings in key order, each row framed
// by its length. Equal digests mean equal rows (the same keys, the same
// values, NULL, the empty string and 0 told apart).
type Digest struct {
	Rows int64
	h    hash.Hash
	buf  []byte
}

func newDigest() *Digest { return &Digest{h: sha256.New()} }

// Add hashes one row.
func (d *Digest) Add(r Row) {
	d.buf = encodeVals(d.buf[:0], r)
	var n [binary.MaxVarintLen64]byte
	d.h.Write(n[:binary.PutUvarint(n[:], uint64(len(d.buf)))])
	d.h.Write(d.buf)
	d.Rows++
}

// Sum is the digest's hex, 32 digits.
func (d *Digest) Sum() string { return hex.EncodeToString(d.h.Sum(nil)[:16]) }

// scanBatch is how many rows one query of a range reads.
const scanBatch = 5000

// scanRange calls fn for every row of [lo, hi) in key order, in queries of
// scanBatch rows (each after the last key of the one before), so that no
// query holds a large range open.
func scanRange(ctx context.Context, db DB, s *Schema, lo, hi Key, fn func(Row) error) error {
	var after Key
	for {
		n := 0
		err := db.Scan(ctx, s, lo, hi, after, scanBatch, func(r Row) error {
			n++
			after = s.KeyOf(r)
			return fn(r)
		})
		if err != nil || n < scanBatch {
			return err
		}
	}
}

// digestRange is the digest of a side's rows in [lo, hi).
func digestRange(ctx context.Context, db DB, s *Schema, lo, hi Key) (*Digest, error) {
	d := newDigest()
	err := scanRange(ctx, db, s, lo, hi, func(r Row) error { d.Add(r); return nil })
	return d, err
}
