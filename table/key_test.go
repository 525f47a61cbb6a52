package table

import (
	"testing"
	"time"
)

func TestKeyRoundTrip(t *testing.T) {
	ts := time.Date(2024, 2, 29, 23, 59, 59, 123456000, time.UTC)
	keys := []Key{
		{NumVal("42")},
		{NumVal("-0.50")},
		{Val{K: KText, B: []byte("it's, (a) 'key'")}},
		{Val{K: KBytes, B: []byte{0xff, 0x00, 0x00}}},
		{NumVal("7"), Val{K: KText, B: []byte("😀")}, Val{K: KBytes, B: []byte{}}},
		{DateVal(ts), TimeVal(KTimestamp, ts), TimeVal(KTimestampTZ, ts), BoolVal(true)},
		{FloatVal(KFloat32, 1.1), FloatVal(KFloat64, 0.1), Val{K: KOther, B: []byte("a7e1c0de-0000-4000-8000-000000000000")}},
	}
	for _, k := range keys {
		s := k.String()
		got, err := ParseKey(s)
		if err != nil {
			t.Fatalf("ParseKey(%s): %v", s, err)
		}
		if len(got) != len(k) {
			t.Fatalf("ParseKey(%s) = %d values, want %d", s, len(got), len(k))
		}
		for i := range k {
			if !got[i].Equal(k[i]) {
				t.Errorf("ParseKey(%s)[%d] = %v, want %v", s, i, got[i], k[i])
			}
		}
		for _, c := range []Chunk{{Table: "s.t", Lo: k, Hi: k}, {Table: "t", Hi: k}, {Table: "t", Lo: k}, {Table: "t/x"}} {
			back, err := ParseChunk(c.Name())
			if err != nil || back.Name() != c.Name() {
				t.Errorf("ParseChunk(%s) = %s, %v", c.Name(), back.Name(), err)
			}
		}
	}
}

func TestNormNum(t *testing.T) {
	for in, want := range map[string]string{"1.500": "1.5", "-0.000": "0", "+007": "7", "0.0001": "0.0001",
		"100": "100", "100.00": "100", "-12345678901234567890.123456789012300": "-12345678901234567890.1234567890123",
		".5": "0.5", "0": "0"} {
		if got := normNum(in); got != want {
			t.Errorf("normNum(%q) = %q, want %q", in, got, want)
		}
	}
}
