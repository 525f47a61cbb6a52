package netns

import (
	"crypto/rand"
	"crypto/sha512"
	"strings"
)

// crypt64 is crypt(3)'s base64 alphabet.
const crypt64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randSalt returns 16 random salt characters.
func randSalt() string {
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = crypt64[b[i]&63]
	}
	return string(b)
}

// sha512Crypt hashes password the way crypt(3) does for "$6$salt$" with the
// default 5000 rounds (Ulrich Drepper's SHA-crypt specification), so that
// sshd can check a password written into a shadow file.
func sha512Crypt(password, salt string) string {
	const rounds = 5000
	p, s := []byte(password), []byte(salt)
	if len(s) > 16 {
		s = s[:16]
	}
	b := sum(p, s, p)
	a := sha512.New()
	a.Write(p)
	a.Write(s)
	a.Write(repeat(b, len(p)))
	for i := len(p); i > 0; i >>= 1 {
		if i&1 != 0 {
			a.Write(b)
		} else {
			a.Write(p)
		}
	}
	da := a.Sum(nil)

	dp := sha512.New()
	for range p {
		dp.Write(p)
	}
	pp := repeat(dp.Sum(nil), len(p))
	ds := sha512.New()
	for range 16 + int(da[0]) {
		ds.Write(s)
	}
	sp := repeat(ds.Sum(nil), len(s))

	c := da
	for r := range rounds {
		h := sha512.New()
		if r&1 != 0 {
			h.Write(pp)
		} else {
			h.Write(c)
		}
		if r%3 != 0 {
			h.Write(sp)
		}
		if r%7 != 0 {
			h.Write(pp)
		}
		if r&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pp)
		}
		c = h.Sum(nil)
	}

	var out strings.Builder
	out.WriteString("$6$" + string(s) + "$")
	enc := func(b2, b1, b0 byte, n int) {
		w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
		for range n {
			out.WriteByte(crypt64[w&63])
			w >>= 6
		}
	}
	for i := range 21 {
		// Bytes i, i+21, i+42, rotated as the specification orders them.
		x, y, z := i, i+21, i+42
		switch i % 3 {
		case 1:
			x, y, z = i+21, i+42, i
		case 2:
			x, y, z = i+42, i, i+21
		}
		enc(c[x], c[y], c[z], 4)
	}
	enc(0, 0, c[63], 2)
	return out.String()
}

func sum(parts ...[]byte) []byte {
	h := sha512.New()
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// repeat returns n bytes of b repeated.
func repeat(b []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, b[:min(len(b), n-len(out))]...)
	}
	return out
}
