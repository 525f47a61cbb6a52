package store

// CombineCRC64 returns the CRC64 (as NewCRC64 computes it) of the
// concatenation a+b, given crcA of a, crcB of b and the length of b. It is
// zlib's crc32_combine carried over to 64 bits: appending lenB zero bytes
// to a CRC is a linear map over GF(2), applied by repeated squaring in
// O(log lenB) 64x64 matrix products. The all-ones initial value and final
// XOR of CRC-64/XZ cancel out, as they do for zlib's CRC-32.
//
// Multipart uploads use it to know the CRC of a whole object from the CRCs
// of parts uploaded in any order, without reading the object again.
func CombineCRC64(crcA, crcB uint64, lenB int64) uint64 {
	if lenB <= 0 {
		return crcA ^ crcB // crcB is 0 for an empty b
	}
	var even, odd gf2Matrix
	// odd: the operator for one zero bit.
	odd[0] = crc64ECMAReflected
	row := uint64(1)
	for n := 1; n < 64; n++ {
		odd[n] = row
		row <<= 1
	}
	even.square(&odd) // two zero bits
	odd.square(&even) // four zero bits
	// Apply lenB zero bytes to crcA: the first square below gives one byte.
	for {
		even.square(&odd)
		if lenB&1 != 0 {
			crcA = even.times(crcA)
		}
		lenB >>= 1
		if lenB == 0 {
			break
		}
		odd.square(&even)
		if lenB&1 != 0 {
			crcA = odd.times(crcA)
		}
		lenB >>= 1
		if lenB == 0 {
			break
		}
	}
	return crcA ^ crcB
}

// crc64ECMAReflected is the ECMA-182 polynomial in reflected bit order, as
// hash/crc64 uses it.
const crc64ECMAReflected = 0xC96C5795D7870F42

// gf2Matrix is a 64x64 matrix over GF(2), one column a word.
type gf2Matrix [64]uint64

// times returns m applied to vec.
func (m *gf2Matrix) times(vec uint64) uint64 {
	var sum uint64
	for i := 0; vec != 0; i, vec = i+1, vec>>1 {
		if vec&1 != 0 {
			sum ^= m[i]
		}
	}
	return sum
}

// square sets m to a*a.
func (m *gf2Matrix) square(a *gf2Matrix) {
	for n := range a {
		m[n] = a.times(a[n])
	}
}
