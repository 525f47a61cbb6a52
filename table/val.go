package table

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"time"
)

// Kind is what a column holds, as both engines' readers and writers see
// it: the canonical form of its values.
type Kind uint8

const (
	KNum         Kind = iota + 1 // integers and decimals: exact decimal text
	KFloat32                     // 4-byte floats, bit-exact
	KFloat64                     // 8-byte floats, bit-exact
	KText                        // character data, the bytes of its UTF-8
	KBytes                       // binary data, exact (trailing 0x00 kept)
	KBool                        // true or false
	KDate                        // a calendar date, YYYY-MM-DD
	KTimestamp                   // date and time without time zone: UTC microseconds
	KTimestampTZ                 // an instant: UTC microseconds
	KJSON                        // JSON text as stored
	KOther                       // PostgreSQL to PostgreSQL only: the type's text form
)

var kindNames = [...]string{"", "number", "float4", "float8", "text", "binary", "bool", "date", "timestamp", "timestamptz", "json", "text-form"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "?"
}

// Val is one value in canonical form: its kind's tag and payload. A NULL
// has tag 0. Canonical payloads: KNum the decimal text without needless
// zeros ("-1.5", "0", "18446744073709551615"); floats their IEEE bits (8
// bytes, big-endian, a float4 widened to float8 exactly); KText, KJSON and
// KOther the text's bytes; KBytes the bytes; KBool "t" or "f"; KDate
// "YYYY-MM-DD"; the timestamps the microseconds since 1970 UTC, 8 bytes
// big-endian. NULL, the empty string and 0 are thus three different values.
type Val struct {
	K Kind // 0: NULL
	B []byte
}

// Null is the NULL value.
var Null = Val{}

// IsNull reports whether v is NULL.
func (v Val) IsNull() bool { return v.K == 0 }

// Equal reports whether two values are the same canonical value.
func (v Val) Equal(w Val) bool { return tagOf(v.K) == tagOf(w.K) && bytes.Equal(v.B, w.B) }

// tagOf folds kinds whose canonical forms compare equal across engines:
// JSON is text, and a text-form value is text.
func tagOf(k Kind) Kind {
	switch k {
	case KJSON, KOther:
		return KText
	case KFloat32:
		return KFloat64
	case KTimestampTZ:
		return KTimestamp
	}
	return k
}

// NumVal is the canonical KNum of decimal text s (as a server prints it).
func NumVal(s string) Val { return Val{K: KNum, B: []byte(normNum(s))} }

// normNum drops a leading '+', leading zeros of the integer part, trailing
// zeros of the fraction and a bare '.', and the sign of zero.
func normNum(s string) string {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if strings.IndexByte(s, '.') >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	s = strings.TrimLeft(s, "0")
	if s == "" || s[0] == '.' {
		s = "0" + s
	}
	if s == "0" || strings.Trim(s, "0.") == "" {
		return "0"
	}
	if neg {
		return "-" + s
	}
	return s
}

// FloatVal is the canonical value of a float of kind k (KFloat32 rounds
// f to float32 first).
func FloatVal(k Kind, f float64) Val {
	if k == KFloat32 {
		f = float64(float32(f))
	}
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, math.Float64bits(f))
	return Val{K: k, B: b}
}

// Float returns a float value's number.
func (v Val) Float() float64 { return math.Float64frombits(binary.BigEndian.Uint64(v.B)) }

// TimeVal is the canonical value of a timestamp of kind k: t's instant
// for KTimestampTZ, its wall clock read as UTC for KTimestamp, to the
// microsecond.
func TimeVal(k Kind, t time.Time) Val {
	if k == KTimestamp {
		t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	}
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(t.UnixMicro()))
	return Val{K: k, B: b}
}

// Time returns a timestamp value's instant, in UTC.
func (v Val) Time() time.Time { return time.UnixMicro(int64(binary.BigEndian.Uint64(v.B))).UTC() }

// DateVal is the canonical value of the date of t.
func DateVal(t time.Time) Val { return Val{K: KDate, B: []byte(t.Format("2006-01-02"))} }

// BoolVal is the canonical value of b.
func BoolVal(b bool) Val {
	if b {
		return Val{K: KBool, B: []byte("t")}
	}
	return Val{K: KBool, B: []byte("f")}
}

// Row is one row's values, in the table's column order.
type Row []Val

// appendVal appends v's framing (tag, length, payload) to b: the bytes a
// digest hashes and a key map is keyed by.
func appendVal(b []byte, v Val) []byte {
	b = append(b, byte(tagOf(v.K)))
	b = binary.AppendUvarint(b, uint64(len(v.B)))
	return append(b, v.B...)
}

// encodeVals is the framing of vs, one after the other.
func encodeVals(b []byte, vs []Val) []byte {
	for _, v := range vs {
		b = appendVal(b, v)
	}
	return b
}
