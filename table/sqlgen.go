package table

import (
	"strings"
)

// dialect is what the SQL the two engines share differs in.
type dialect interface {
	ident(name string) string
	// param is the placeholder of the next argument, for a value of
	// column c, and the argument itself.
	param(args *[]any, c Col, v Val) string
	table(s *Schema) string
}

// rangeWhere returns the condition lo <= key < hi (a nil bound is open;
// after, when set, replaces lo by key > after) over s's key columns, as a
// lexicographic comparison spelled with AND and OR so that both engines
// use the key's index. "" when nothing bounds the range.
func rangeWhere(d dialect, s *Schema, lo, hi, after Key, args *[]any) string {
	var parts []string
	if after != nil {
		parts = append(parts, cmpKey(d, s, after, ">", args))
	} else if lo != nil {
		parts = append(parts, cmpKey(d, s, lo, ">=", args))
	}
	if hi != nil {
		parts = append(parts, cmpKey(d, s, hi, "<", args))
	}
	return strings.Join(parts, " AND ")
}

// cmpKey spells key op k (op one of > >= < <=) lexicographically:
// for (a,b) >= (x,y): a >= x AND (a > x OR b >= y).
func cmpKey(d dialect, s *Schema, k Key, op string, args *[]any) string {
	strict := op[:1] // > or <
	var b strings.Builder
	var rec func(i int) string
	rec = func(i int) string {
		c := s.Cols[s.Key[i]]
		col := d.ident(c.Name)
		if i == len(s.Key)-1 {
			return col + " " + op + " " + d.param(args, c, k[i])
		}
		p := d.param(args, c, k[i])
		p2 := d.param(args, c, k[i])
		return col + " " + strict + "= " + p + " AND (" + col + " " + strict + " " + p2 + " OR " + rec(i+1) + ")"
	}
	b.WriteString("(")
	b.WriteString(rec(0))
	b.WriteString(")")
	return b.String()
}

// keyIn spells "key IN (k1, k2, ...)" for keys.
func keyIn(d dialect, s *Schema, keys []Key, args *[]any) string {
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteString("(")
		for j, c := range s.Key {
			if j > 0 {
				b.WriteString(" AND ")
			}
			b.WriteString(d.ident(s.Cols[c].Name))
			b.WriteString(" = ")
			b.WriteString(d.param(args, s.Cols[c], k[j]))
		}
		b.WriteString(")")
	}
	return b.String()
}

// selectSQL is SELECT cols FROM t [WHERE where] ORDER BY key [LIMIT n].
func selectSQL(d dialect, s *Schema, cols []string, where string, limit int) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.ident(c))
	}
	b.WriteString(" FROM ")
	b.WriteString(d.table(s))
	if where != "" {
		b.WriteString(" WHERE ")
		b.WriteString(where)
	}
	b.WriteString(" ORDER BY ")
	for i, k := range s.KeyCols() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.ident(k))
	}
	if limit > 0 {
		b.WriteString(" LIMIT ")
		b.WriteString(itoa(limit))
	}
	return b.String()
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}
