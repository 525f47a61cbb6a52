package crc64ecma

import (
	"fmt"
	"hash/crc64"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
)

// polyNormal is P(x) - x^64 in normal (non-reflected) bit order:
// bit i is the coefficient of x^i.
var polyNormal = bits.Reverse64(crc64.ECMA)

// xPowMod returns x^n mod P in normal bit order, by multiplying by x one
// bit at a time.
func xPowMod(n int) uint64 {
	r := uint64(1) // x^0
	for range n {
		carry := r >> 63
		r <<= 1
		if carry != 0 {
			r ^= polyNormal // x^64 == P - x^64 (mod P)
		}
	}
	return r
}

// deriveFoldK computes foldK from first principles.
func deriveFoldK() (k [16][2]uint64) {
	for i := range k {
		d := 128 * (i + 1)
		k[i][0] = bits.Reverse64(xPowMod(d + 63))
		k[i][1] = bits.Reverse64(xPowMod(d - 1))
	}
	return k
}

func TestFoldConstants(t *testing.T) {
	if polyNormal != 0x42F0E1EBA9EA3693 {
		t.Fatalf("normal-form ECMA polynomial = %#x", polyNormal)
	}
	// Sanity-check xPowMod: x^64 mod P is P's low part, and
	// x^a * x^b == x^(a+b) (mod P) via a bit-by-bit multiply.
	if got := xPowMod(64); got != polyNormal {
		t.Fatalf("x^64 mod P = %#x, want %#x", got, polyNormal)
	}
	for _, ab := range [][2]int{{0, 0}, {1, 63}, {64, 64}, {100, 1000}, {1023, 1025}} {
		if got, want := mulMod(xPowMod(ab[0]), xPowMod(ab[1])), xPowMod(ab[0]+ab[1]); got != want {
			t.Fatalf("x^%d * x^%d mod P = %#x, want %#x", ab[0], ab[1], got, want)
		}
	}
	want := deriveFoldK()
	if foldK != want {
		var b strings.Builder
		b.WriteString("var foldK = [16][2]uint64{\n")
		for i, k := range want {
			fmt.Fprintf(&b, "\t{%#016x, %#016x}, // D = %d\n", k[0], k[1], 128*(i+1))
		}
		b.WriteString("}\n")
		t.Fatalf("foldK does not match the derived constants; want:\n%s", b.String())
	}
}

// mulMod multiplies two normal-order polynomials modulo P, bit by bit.
func mulMod(a, b uint64) uint64 {
	var r uint64
	for i := 63; i >= 0; i-- {
		carry := r >> 63
		r <<= 1
		if carry != 0 {
			r ^= polyNormal
		}
		if b>>i&1 != 0 {
			r ^= a
		}
	}
	return r
}

// clmul is a software PCLMULQDQ: the 128-bit carry-less product of a and b.
func clmul(a, b uint64) (lo, hi uint64) {
	for i := range 64 {
		if b>>i&1 != 0 {
			lo ^= a << i
			if i > 0 {
				hi ^= a >> (64 - i)
			}
		}
	}
	return lo, hi
}

// fold128 models "fold accumulator x forward by 128*(i+1) bits":
// PCLMULQDQ $0x00 and $0x11 with foldK[i], XORed together.
func fold128(x [2]uint64, i int) [2]uint64 {
	l0, h0 := clmul(x[0], foldK[i][0])
	l1, h1 := clmul(x[1], foldK[i][1])
	return [2]uint64{l0 ^ l1, h0 ^ h1}
}

func load128(p []byte) [2]uint64 {
	return [2]uint64{le64(p), le64(p[8:])}
}

func le64(p []byte) uint64 {
	_ = p[7]
	return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
		uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
}

// modelUpdate is a pure-Go model of the folding algorithm (the structure
// of the assembly, with lanes 16-byte accumulators, but with the <16-byte
// tail done bit by bit at the end instead of at the head) using a software
// carry-less multiply, so it checks what the constants mean independently
// of the assembly.
func modelUpdate(crc uint64, p []byte, lanes int) uint64 {
	s := ^crc
	if len(p) < 16*lanes {
		return ^bitwise(s, p)
	}
	acc := make([][2]uint64, lanes)
	for j := range acc {
		acc[j] = load128(p[16*j:])
	}
	acc[0][0] ^= s
	p = p[16*lanes:]
	for len(p) >= 16*lanes {
		for j := range acc {
			f := fold128(acc[j], lanes-1)
			b := load128(p[16*j:])
			acc[j] = [2]uint64{f[0] ^ b[0], f[1] ^ b[1]}
		}
		p = p[16*lanes:]
	}
	x := acc[lanes-1]
	for j := 0; j < lanes-1; j++ {
		f := fold128(acc[j], lanes-2-j)
		x = [2]uint64{x[0] ^ f[0], x[1] ^ f[1]}
	}
	for len(p) >= 16 {
		f := fold128(x, 0)
		b := load128(p)
		x = [2]uint64{f[0] ^ b[0], f[1] ^ b[1]}
		p = p[16:]
	}
	return ^bitwise(modelBarrett(x), p)
}

// bitwise is the textbook bit-at-a-time reflected CRC on a raw
// (non-inverted) state.
func bitwise(s uint64, p []byte) uint64 {
	for _, b := range p {
		s ^= uint64(b)
		for range 8 {
			if s&1 != 0 {
				s = s>>1 ^ crc64.ECMA
			} else {
				s >>= 1
			}
		}
	}
	return s
}

// TestFoldModel runs the pure-Go model of the folding algorithm with the
// derived constants against hash/crc64, for every lane count 1..16.
func TestFoldModel(t *testing.T) {
	tab := crc64.MakeTable(crc64.ECMA)
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 700)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for lanes := 1; lanes <= 16; lanes++ {
		for n := 0; n <= len(buf); n += 1 + rng.IntN(23) {
			crc := rng.Uint64()
			if got, want := modelUpdate(crc, buf[:n], lanes), crc64.Update(crc, tab, buf[:n]); got != want {
				t.Fatalf("lanes=%d len=%d: model %#x, hash/crc64 %#x", lanes, n, got, want)
			}
		}
	}
}

// polyDivMod divides GF(2) polynomials held as big.Int bit sets (bit i is
// the coefficient of x^i) by plain long division.
func polyDivMod(a, b *big.Int) (q, r *big.Int) {
	q, r = new(big.Int), new(big.Int).Set(a)
	for r.BitLen() >= b.BitLen() {
		s := r.BitLen() - b.BitLen()
		q.SetBit(q, s, 1)
		r.Xor(r, new(big.Int).Lsh(b, uint(s)))
	}
	return q, r
}

// deriveBarrettK computes barrettK from first principles: with
// mu = floor(x^128 / P), the constants are reflect64(floor(mu / x)) and
// reflect64(floor(P / x)).
func deriveBarrettK() [2]uint64 {
	p := new(big.Int).SetUint64(polyNormal)
	p.SetBit(p, 64, 1)
	x128 := new(big.Int).Lsh(big.NewInt(1), 128)
	mu, _ := polyDivMod(x128, p)
	m := new(big.Int).Rsh(mu, 1)
	pp := new(big.Int).Rsh(p, 1)
	if m.BitLen() > 64 || pp.BitLen() > 64 {
		panic("constant does not fit in 64 bits")
	}
	return [2]uint64{bits.Reverse64(m.Uint64()), bits.Reverse64(pp.Uint64())}
}

func TestBarrettConstants(t *testing.T) {
	// Cross-check xPowMod against long division.
	p := new(big.Int).SetUint64(polyNormal)
	p.SetBit(p, 64, 1)
	for _, n := range []int{0, 63, 64, 65, 127, 128, 1000, 2111} {
		_, r := polyDivMod(new(big.Int).Lsh(big.NewInt(1), uint(n)), p)
		if r.Uint64() != xPowMod(n) {
			t.Fatalf("x^%d mod P: long division %#x, xPowMod %#x", n, r.Uint64(), xPowMod(n))
		}
	}
	if want := deriveBarrettK(); barrettK != want {
		t.Fatalf("barrettK = {%#016x, %#016x}, derived {%#016x, %#016x}", barrettK[0], barrettK[1], want[0], want[1])
	}
}

// modelBarrett reduces the 128-bit folded remainder x the way the
// assembly does: one fold by 64 bits and a Barrett reduction, giving the
// raw crc register.
func modelBarrett(x [2]uint64) uint64 {
	// Y = L*x^128 + H*x^64 (mod P), as a 128-bit value.
	ylo, yhi := clmul(x[0], foldK[0][1])
	ylo ^= x[1]
	// q = floor(Yh*mu / x^64), then R = Yl + low64(q*P).
	q, _ := clmul(ylo, barrettK[0])
	_, u := clmul(q, barrettK[1])
	return yhi ^ u ^ q
}

func TestBarrettModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for range 10000 {
		x := [2]uint64{rng.Uint64(), rng.Uint64()}
		var b [16]byte
		for i := range 8 {
			b[i] = byte(x[0] >> (8 * i))
			b[8+i] = byte(x[1] >> (8 * i))
		}
		if got, want := modelBarrett(x), bitwise(0, b[:]); got != want {
			t.Fatalf("Barrett(%#x) = %#x, want %#x", x, got, want)
		}
	}
}
