package table

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Key is a row's primary-key values, in the key's column order. A nil Key
// as a chunk bound means unbounded.
type Key []Val

// String is the key as written in audit lines, reports and chunk names:
// one value, or (v1,v2,...) for a composite key. Numbers are bare, text
// is quoted as in SQL, a quote inside doubled; binary is x'00ff', and the other kinds
// carry a prefix: d'2024-01-02', ts'2024-01-02 03:04:05.000001',
// tz'...', f4'1.5', f8'...', j'...', o'...', true, false, NULL.
// ParseKey reads it back exactly.
func (k Key) String() string {
	var b strings.Builder
	if len(k) != 1 {
		b.WriteByte('(')
	}
	for i, v := range k {
		if i > 0 {
			b.WriteByte(',')
		}
		writeLit(&b, v)
	}
	if len(k) != 1 {
		b.WriteByte(')')
	}
	return b.String()
}

func writeLit(b *strings.Builder, v Val) {
	quoted := func(prefix, s string) {
		b.WriteString(prefix)
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(s, "'", "''"))
		b.WriteByte('\'')
	}
	switch v.K {
	case 0:
		b.WriteString("NULL")
	case KNum:
		b.Write(v.B)
	case KText:
		quoted("", string(v.B))
	case KBytes:
		b.WriteString("x'")
		b.WriteString(hex.EncodeToString(v.B))
		b.WriteByte('\'')
	case KBool:
		if string(v.B) == "t" {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case KDate:
		quoted("d", string(v.B))
	case KTimestamp:
		quoted("ts", v.Time().Format(tsLayout))
	case KTimestampTZ:
		quoted("tz", v.Time().Format(tsLayout))
	case KFloat32:
		quoted("f4", strconv.FormatFloat(v.Float(), 'g', -1, 32))
	case KFloat64:
		quoted("f8", strconv.FormatFloat(v.Float(), 'g', -1, 64))
	case KJSON:
		quoted("j", string(v.B))
	default:
		quoted("o", string(v.B))
	}
}

// tsLayout writes timestamps in keys: UTC, microseconds.
const tsLayout = "2006-01-02 15:04:05.999999"

// ParseKey reads a key written by Key.String.
func ParseKey(s string) (Key, error) {
	k, rest, err := parseKey(s)
	if err == nil && rest != "" {
		err = fmt.Errorf("key %q: unexpected %q after it", s, rest)
	}
	return k, err
}

// parseKey reads one key from the start of s and returns what follows.
func parseKey(s string) (Key, string, error) {
	if !strings.HasPrefix(s, "(") {
		v, rest, err := parseLit(s)
		if err != nil {
			return nil, "", err
		}
		return Key{v}, rest, nil
	}
	rest := s[1:]
	var k Key
	for {
		v, r, err := parseLit(rest)
		if err != nil {
			return nil, "", err
		}
		k = append(k, v)
		switch {
		case strings.HasPrefix(r, ","):
			rest = r[1:]
		case strings.HasPrefix(r, ")"):
			return k, r[1:], nil
		default:
			return nil, "", fmt.Errorf("key %q: expected , or ) at %q", s, r)
		}
	}
}

func parseLit(s string) (Val, string, error) {
	for _, w := range []struct {
		word string
		v    Val
	}{{"NULL", Null}, {"true", BoolVal(true)}, {"false", BoolVal(false)}} {
		if strings.HasPrefix(s, w.word) {
			return w.v, s[len(w.word):], nil
		}
	}
	if s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') {
		i := 1
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
			i++
		}
		return Val{K: KNum, B: []byte(s[:i])}, s[i:], nil
	}
	q := strings.IndexByte(s, '\'')
	if q < 0 {
		return Val{}, "", fmt.Errorf("not a key value: %q", s)
	}
	prefix := s[:q]
	var body strings.Builder
	i := q + 1
	for {
		if i >= len(s) {
			return Val{}, "", fmt.Errorf("unterminated quote in key value %q", s)
		}
		if s[i] == '\'' {
			if i+1 < len(s) && s[i+1] == '\'' {
				body.WriteByte('\'')
				i += 2
				continue
			}
			i++
			break
		}
		body.WriteByte(s[i])
		i++
	}
	text, rest := body.String(), s[i:]
	switch prefix {
	case "":
		return Val{K: KText, B: []byte(text)}, rest, nil
	case "x":
		b, err := hex.DecodeString(text)
		return Val{K: KBytes, B: b}, rest, err
	case "d":
		return Val{K: KDate, B: []byte(text)}, rest, nil
	case "ts", "tz":
		t, err := time.Parse(tsLayout, text)
		k := KTimestamp
		if prefix == "tz" {
			k = KTimestampTZ
		}
		return TimeVal(k, t), rest, err
	case "f4", "f8":
		f, err := strconv.ParseFloat(text, 64)
		k := KFloat64
		if prefix == "f4" {
			k = KFloat32
		}
		return FloatVal(k, f), rest, err
	case "j":
		return Val{K: KJSON, B: []byte(text)}, rest, nil
	case "o":
		return Val{K: KOther, B: []byte(text)}, rest, nil
	}
	return Val{}, "", fmt.Errorf("unknown key value prefix %q in %q", prefix, s)
}

// Chunk is one task of a table job: the rows of Table whose key is in
// [Lo, Hi); a nil bound is open.
type Chunk struct {
	Table  string
	Lo, Hi Key
}

// Name is the chunk as audit lines and reports name it: "table/[lo,hi)",
// an open bound written as nothing ("t/[,100)", "t/[9900,)").
func (c Chunk) Name() string {
	lo, hi := "", ""
	if c.Lo != nil {
		lo = c.Lo.String()
	}
	if c.Hi != nil {
		hi = c.Hi.String()
	}
	return c.Table + "/[" + lo + "," + hi + ")"
}

// RowName names one row of a table: "table/pk".
func RowName(table string, k Key) string { return table + "/" + k.String() }

// ParseChunk reads back a chunk's Name.
func ParseChunk(name string) (Chunk, error) {
	i := strings.LastIndex(name, "/[")
	if i < 0 || !strings.HasSuffix(name, ")") {
		return Chunk{}, fmt.Errorf("chunk %q: not table/[lo,hi)", name)
	}
	c := Chunk{Table: name[:i]}
	rest := name[i+2:]
	var err error
	if !strings.HasPrefix(rest, ",") {
		if c.Lo, rest, err = parseKey(rest); err != nil {
			return Chunk{}, fmt.Errorf("chunk %q: %w", name, err)
		}
	}
	if !strings.HasPrefix(rest, ",") {
		return Chunk{}, fmt.Errorf("chunk %q: no comma between the bounds", name)
	}
	rest = rest[1:]
	if rest != ")" {
		if c.Hi, rest, err = parseKey(rest); err != nil {
			return Chunk{}, fmt.Errorf("chunk %q: %w", name, err)
		}
	}
	if rest != ")" {
		return Chunk{}, fmt.Errorf("chunk %q: unexpected %q", name, rest)
	}
	return c, nil
}
