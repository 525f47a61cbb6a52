package state

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"ferry/store"
)

// sameManifest compares what the manifest codec keeps: everything but the
// CRC, which the scanner does not know and workers compute.
func sameManifest(got, want []store.Entry) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d entries, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Key != w.Key || g.Size != w.Size || g.ETag != w.ETag || g.Kind != w.Kind || g.Detail != w.Detail ||
			!g.MTime.Equal(w.MTime) || g.MTime.IsZero() != w.MTime.IsZero() {
			return fmt.Errorf("entry %d:\n  got  %+v\n  want %+v", i, g, w)
		}
	}
	return nil
}

func TestManifestRoundTrip(t *testing.T) {
	mt := time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC)
	tests := []struct {
		name    string
		entries []store.Entry
	}{
		{"empty", nil},
		{"one file", []store.Entry{{Key: "a.txt", Size: 5, MTime: mt}}},
		{"zero mtime", []store.Entry{{Key: "a", Size: 0}}},
		{"empty key", []store.Entry{{Key: ""}}},
		{"not utf-8", []store.Entry{{Key: "dir/\xff\xfe\x00name", Size: 1}}},
		{"tabs and newlines", []store.Entry{{Key: "a\tb\nc\r\\", Detail: "x\ty"}}},
		{"non-ascii", []store.Entry{{Key: "日本/é.txt", ETag: "\"d41d8cd9\"", Size: 7, MTime: mt}}},
		{"negative size", []store.Entry{{Key: "n", Size: -1}}},
		{"extremes", []store.Entry{{Key: "max", Size: math.MaxInt64, MTime: time.Unix(0, math.MaxInt64)},
			{Key: "min", Size: math.MinInt64, MTime: time.Unix(0, math.MinInt64+1)}}},
		{"before 1970", []store.Entry{{Key: "old", MTime: time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC)}}},
		{"kinds", []store.Entry{{Key: "l", Kind: store.Symlink, Detail: "symlink not followed"},
			{Key: "s", Kind: store.Special, Detail: "fifo"}, {Key: "f", Kind: store.File, Size: 3}}},
		{"long key", []store.Entry{{Key: string(bytes.Repeat([]byte{'k', 0x80}, 5000)), Size: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := encodeManifest(tt.entries)
			got, err := decodeManifest(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if err := sameManifest(got, tt.entries); err != nil {
				t.Fatal(err)
			}
			// Every proper prefix of a non-empty manifest is corrupt.
			for n := 0; n < len(b) && len(tt.entries) > 0; n++ {
				if _, err := decodeManifest(b[:n]); !errors.Is(err, errBadManifest) {
					t.Fatalf("decode of %d of %d bytes: err %v, want errBadManifest", n, len(b), err)
				}
			}
		})
	}
}

// The decoded manifest must not share memory with the bytes it came from:
// bbolt reuses them when the transaction ends.
func TestManifestCopiesOut(t *testing.T) {
	b := encodeManifest([]store.Entry{{Key: "key", ETag: "etag", Detail: "detail"}})
	got, err := decodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if got[0].Key != "key" || got[0].ETag != "etag" || got[0].Detail != "detail" {
		t.Fatalf("decoded entry changed with its source bytes: %+v", got[0])
	}
}

func TestManifestCorrupt(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{0xff},            // truncated count
		{5},               // five entries, no bytes
		{1, 10, 'a'},      // key longer than what is left
		{1, 1, 'a'},       // no size
		{1, 1, 'a', 0, 0}, // no etag length
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, // huge count
		bytes.Repeat([]byte{0x80}, 11),                               // varint overflow
	} {
		if _, err := decodeManifest(b); !errors.Is(err, errBadManifest) {
			t.Errorf("decode %x: err %v, want errBadManifest", b, err)
		}
	}
}

// randomEntries makes entries from r, with keys of arbitrary bytes.
func randomEntries(r *rand.Rand, n int) []store.Entry {
	out := make([]store.Entry, n)
	for i := range out {
		key := make([]byte, r.IntN(40))
		for j := range key {
			key[j] = byte(r.IntN(256))
		}
		e := store.Entry{Key: string(key), Size: r.Int64() - math.MaxInt64/2, Kind: store.Kind(r.IntN(3))}
		if r.IntN(2) == 0 {
			e.MTime = time.Unix(0, r.Int64N(1<<62))
		}
		if r.IntN(3) == 0 {
			e.ETag = fmt.Sprintf("%x", r.Uint64())
		}
		if r.IntN(4) == 0 {
			e.Detail = "detail \xff\t" + string(key)
		}
		out[i] = e
	}
	return out
}

func TestManifestRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		want := randomEntries(r, r.IntN(20))
		got, err := decodeManifest(encodeManifest(want))
		if err != nil {
			t.Fatalf("round %d: decode: %v", i, err)
		}
		if err := sameManifest(got, want); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
}

// FuzzManifest: decoding arbitrary bytes never panics, and what decodes
// encodes back to the same entries; entries made from the input round-trip.
func FuzzManifest(f *testing.F) {
	f.Add([]byte{})
	f.Add(encodeManifest([]store.Entry{{Key: "a\xff", Size: 3, MTime: time.Unix(1, 2), ETag: "e", Kind: store.Symlink, Detail: "d"}}))
	f.Add(encodeManifest(randomEntries(rand.New(rand.NewPCG(3, 4)), 5)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		if es, err := decodeManifest(data); err == nil {
			again, err := decodeManifest(encodeManifest(es))
			if err != nil {
				t.Fatalf("re-decode: %v", err)
			}
			if err := sameManifest(again, es); err != nil {
				t.Fatal(err)
			}
		}
		// Entries whose keys, etags and details are pieces of data.
		var want []store.Entry
		for i, piece := range bytes.Split(data, []byte{0}) {
			e := store.Entry{Key: string(piece), Size: int64(len(piece)) << (i % 50), Kind: store.Kind(i % 3)}
			if i%2 == 1 {
				e.MTime = time.Unix(int64(i)*1e6, int64(len(piece)))
				e.ETag, e.Detail = string(piece), string(data)
			}
			want = append(want, e)
		}
		got, err := decodeManifest(encodeManifest(want))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if err := sameManifest(got, want); err != nil {
			t.Fatal(err)
		}
	})
}

// walkManifest, the allocation-free reading completions use, sees the keys
// and sizes decodeManifest does, and refuses what it refuses.
func TestWalkManifestAgreesWithDecode(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for round := 0; round < 300; round++ {
		want := randomEntries(r, r.IntN(20))
		b := encodeManifest(want)
		var got []store.Entry
		n, err := walkManifest(b, func(i int, key []byte, size int64) {
			if i != len(got) {
				t.Fatalf("round %d: entry %d walked at position %d", round, i, len(got))
			}
			got = append(got, store.Entry{Key: string(key), Size: size})
		})
		if err != nil || n != len(want) {
			t.Fatalf("round %d: walk = %d, %v; want %d entries", round, n, err, len(want))
		}
		for i := range want {
			if got[i].Key != want[i].Key || got[i].Size != want[i].Size {
				t.Fatalf("round %d entry %d: walked %q/%d, want %q/%d", round, i, got[i].Key, got[i].Size, want[i].Key, want[i].Size)
			}
		}
		// Every prefix decodeManifest refuses, walkManifest refuses.
		for cut := 0; cut < len(b); cut++ {
			_, derr := decodeManifest(b[:cut])
			_, werr := walkManifest(b[:cut], nil)
			if (derr == nil) != (werr == nil) {
				t.Fatalf("round %d, %d of %d bytes: decode err %v, walk err %v", round, cut, len(b), derr, werr)
			}
		}
	}
}
