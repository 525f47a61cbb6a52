package crc64ecma

import (
	"bytes"
	"encoding"
	"fmt"
	"hash"
	"hash/crc64"
	"math/rand/v2"
	"testing"
)

// impl is one code path; use selects it and returns a function that
// restores the default (see implementations in crc64ecma_*_test.go).
type impl struct {
	name string
	use  func() (restore func())
}

var ecma = crc64.MakeTable(crc64.ECMA)

func randBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	rng := rand.New(rand.NewPCG(uint64(n), 0x5eed))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n &^ 7; i < n; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// forEachImpl runs f as a subtest once per implementation.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	for _, im := range implementations() {
		t.Run(im.name, func(t *testing.T) {
			defer im.use()()
			f(t)
		})
	}
}

func TestImplementations(t *testing.T) {
	var names []string
	for _, im := range implementations() {
		names = append(names, im.name)
	}
	t.Logf("implementations on this machine: %v", names)
}

func TestKnownAnswers(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, c := range []struct {
			in   string
			want uint64
		}{
			{"", 0},
			{"a", 0x330284772e652b05},
			{"123456789", 0x995dc9bbdf1939fa}, // CRC-64/XZ check value
		} {
			if got := Checksum([]byte(c.in)); got != c.want {
				t.Errorf("Checksum(%q) = %#016x, want %#016x", c.in, got, c.want)
			}
			if got := crc64.Checksum([]byte(c.in), ecma); got != c.want {
				t.Errorf("test table is wrong: hash/crc64 gives %#016x for %q", got, c.in)
			}
		}
	})
}

// TestAllLengthsAndAlignments compares with hash/crc64 for every length
// 0..1024 at every start offset 0..63, with a random initial crc.
func TestAllLengthsAndAlignments(t *testing.T) {
	const maxLen, maxOff = 1024, 63
	buf := randBytes(t, maxLen+maxOff)
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for off := 0; off <= maxOff; off++ {
			for n := 0; n <= maxLen; n++ {
				p := buf[off : off+n]
				crc := rng.Uint64()
				if got, want := Update(crc, p), crc64.Update(crc, ecma, p); got != want {
					t.Fatalf("Update(%#x, len %d, offset %d) = %#016x, want %#016x", crc, n, off, got, want)
				}
			}
		}
	})
}

// TestLarge compares with hash/crc64 on random lengths up to 4 MiB, at
// every start offset 0..63, with random initial crcs.
func TestLarge(t *testing.T) {
	const maxLen, maxOff = 4 << 20, 63
	buf := randBytes(t, maxLen+maxOff)
	rng := rand.New(rand.NewPCG(5, 6))
	type tc struct {
		off, n    int
		crc, want uint64
	}
	var cases []tc
	for off := 0; off <= maxOff; off++ {
		n := rng.IntN(maxLen + 1)
		switch off {
		case 0:
			n = maxLen
		case 1:
			n = maxLen - 1
		}
		if testing.Short() && n > 64<<10 {
			n = rng.IntN(64 << 10)
		}
		crc := rng.Uint64()
		cases = append(cases, tc{off, n, crc, crc64.Update(crc, ecma, buf[off:off+n])})
	}
	forEachImpl(t, func(t *testing.T) {
		for _, c := range cases {
			if got := Update(c.crc, buf[c.off:c.off+c.n]); got != c.want {
				t.Fatalf("Update(%#x, len %d, offset %d) = %#016x, want %#016x", c.crc, c.n, c.off, got, c.want)
			}
		}
	})
}

// TestChaining splits buffers at random points and chains Update (and
// digest Writes) over the pieces.
func TestChaining(t *testing.T) {
	buf := randBytes(t, 1<<20+63)
	forEachImpl(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for iter := range 300 {
			off := rng.IntN(64)
			n := rng.IntN(1 << (4 + iter%17)) // lengths across all scales
			p := buf[off : off+n]
			// Every other iteration starts from 0 and also feeds a digest.
			useDigest := iter%2 == 0
			crc := uint64(0)
			if !useDigest {
				crc = rng.Uint64()
			}
			want := crc64.Update(crc, ecma, p)
			got := crc
			d := New()
			for q := p; len(q) > 0; {
				k := rng.IntN(len(q) + 1)
				if rng.IntN(4) == 0 {
					k = rng.IntN(min(len(q), 300) + 1) // many short pieces too
				}
				got = Update(got, q[:k])
				if useDigest {
					d.Write(q[:k])
				}
				q = q[k:]
			}
			if got != want {
				t.Fatalf("chained Update(%#x, len %d, offset %d) = %#016x, want %#016x", crc, n, off, got, want)
			}
			if useDigest && d.Sum64() != want {
				t.Fatalf("digest over len %d offset %d = %#016x, want %#016x", n, off, d.Sum64(), want)
			}
		}
	})
}

func TestDigest(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		data := randBytes(t, 10000)
		d, ref := New(), crc64.New(ecma)
		if d.Size() != ref.Size() || d.BlockSize() != ref.BlockSize() || d.Size() != 8 || d.BlockSize() != 1 {
			t.Fatalf("Size/BlockSize = %d/%d, hash/crc64 has %d/%d", d.Size(), d.BlockSize(), ref.Size(), ref.BlockSize())
		}
		for _, n := range []int{0, 1, 7, 100, 1000, 8892} {
			d.Write(data[:n])
			ref.Write(data[:n])
			data = data[n:]
			if d.Sum64() != ref.Sum64() {
				t.Fatalf("Sum64 = %#016x, want %#016x", d.Sum64(), ref.Sum64())
			}
			prefix := []byte("prefix")
			if got, want := d.Sum(bytes.Clone(prefix)), ref.Sum(bytes.Clone(prefix)); !bytes.Equal(got, want) {
				t.Fatalf("Sum = %x, want %x", got, want)
			}
		}
		if got := d.Sum(nil); got[0] != byte(d.Sum64()>>56) || got[7] != byte(d.Sum64()) {
			t.Fatalf("Sum %x is not big-endian %#016x", got, d.Sum64())
		}
		c, err := d.(hash.Cloner).Clone()
		if err != nil {
			t.Fatal(err)
		}
		d.Reset()
		if d.Sum64() != 0 || c.(hash.Hash64).Sum64() != ref.Sum64() {
			t.Fatalf("after Reset: Sum64 = %#x, clone has %#x (want %#x)", d.Sum64(), c.(hash.Hash64).Sum64(), ref.Sum64())
		}
		if _, err := d.Write([]byte("123456789")); err != nil || d.Sum64() != 0x995dc9bbdf1939fa {
			t.Fatalf("after Reset: Write gives %#016x, %v", d.Sum64(), err)
		}
	})
}

// TestMarshalCompat checks that digest states round-trip, in both
// directions, with hash/crc64's ECMA digest.
func TestMarshalCompat(t *testing.T) {
	data := randBytes(t, 5000)
	ours, ref := New(), crc64.New(ecma)
	ours.Write(data[:3000])
	ref.Write(data[:3000])
	a, err := ours.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ref.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatalf("MarshalBinary = %x, hash/crc64 gives %x", a, b)
	}
	if c, _ := ours.(encoding.BinaryAppender).AppendBinary([]byte("x")); !bytes.Equal(c, append([]byte("x"), a...)) {
		t.Fatalf("AppendBinary = %x", c)
	}
	ours2, ref2 := New(), crc64.New(ecma)
	if err := ours2.(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if err := ref2.(encoding.BinaryUnmarshaler).UnmarshalBinary(a); err != nil {
		t.Fatal(err)
	}
	ours2.Write(data[3000:])
	ref2.Write(data[3000:])
	if want := crc64.Checksum(data, ecma); ours2.Sum64() != want || ref2.Sum64() != want {
		t.Fatalf("resumed states give %#x / %#x, want %#x", ours2.Sum64(), ref2.Sum64(), want)
	}
	// Bad states are rejected.
	iso := crc64.New(crc64.MakeTable(crc64.ISO))
	isoState, _ := iso.(encoding.BinaryMarshaler).MarshalBinary()
	for _, bad := range [][]byte{nil, []byte("crc"), []byte("abc\x02" + string(a[4:])), a[:len(a)-1], append(bytes.Clone(a), 0), isoState} {
		if err := ours2.(encoding.BinaryUnmarshaler).UnmarshalBinary(bad); err == nil {
			t.Errorf("UnmarshalBinary(%x) succeeded", bad)
		}
	}
}

func FuzzUpdate(f *testing.F) {
	for _, n := range []int{0, 1, 15, 16, 63, 64, 127, 128, 255, 256, 511, 512, 1000, 4096, 5000} {
		f.Add(randBytes(f, n), uint64(n), uint(n/3), uint8(n))
	}
	impls := implementations()
	f.Fuzz(func(t *testing.T, data []byte, crc uint64, split uint, off uint8) {
		// Move data to start off%64 bytes into a buffer, to vary alignment.
		o := int(off % 64)
		buf := make([]byte, o+len(data))
		p := buf[o:]
		copy(p, data)
		want := crc64.Update(crc, ecma, p)
		k := int(split % uint(len(p)+1))
		for _, im := range impls {
			restore := im.use()
			got := Update(crc, p)
			chained := Update(Update(crc, p[:k]), p[k:])
			restore()
			if got != want {
				t.Fatalf("%s: Update(%#x, len %d, offset %d) = %#016x, want %#016x", im.name, crc, len(p), o, got, want)
			}
			if chained != want {
				t.Fatalf("%s: Update chained at %d (%#x, len %d, offset %d) = %#016x, want %#016x", im.name, k, crc, len(p), o, chained, want)
			}
		}
	})
}

var benchSizes = []struct {
	name string
	n    int
}{{"64B", 64}, {"4KiB", 4 << 10}, {"1MiB", 1 << 20}}

var sink uint64

// BenchmarkUpdate measures Update with the implementation this machine
// selects; BenchmarkHashCRC64 is hash/crc64 on the same inputs.
func BenchmarkUpdate(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			p := randBytes(b, s.n)
			b.SetBytes(int64(s.n))
			crc := uint64(0)
			for b.Loop() {
				crc = Update(crc, p)
			}
			sink = crc
		})
	}
}

func BenchmarkHashCRC64(b *testing.B) {
	for _, s := range benchSizes {
		b.Run(s.name, func(b *testing.B) {
			p := randBytes(b, s.n)
			b.SetBytes(int64(s.n))
			crc := uint64(0)
			for b.Loop() {
				crc = crc64.Update(crc, ecma, p)
			}
			sink = crc
		})
	}
}

// BenchmarkImpl measures each implementation over more sizes, for tuning
// the thresholds in crc64ecma_amd64.go.
func BenchmarkImpl(b *testing.B) {
	for _, im := range implementations() {
		for _, n := range []int{16, 32, 48, 64, 96, 128, 256, 512, 1024, 4 << 10, 64 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("%s/%d", im.name, n), func(b *testing.B) {
				defer im.use()()
				p := randBytes(b, n)
				b.SetBytes(int64(n))
				crc := uint64(0)
				for b.Loop() {
					crc = Update(crc, p)
				}
				sink = crc
			})
		}
	}
}
