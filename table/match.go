package table

import (
	"fmt"
	"strings"
)

// matchKinds refuses a destination table whose columns would never
// compare equal to the source's (every row would be DIFFERENT), naming
// the column, and one whose text key sorts otherwise than the source's
// (chunks would hold different rows on the two sides). A boolean copied
// into a MySQL TINYINT, MySQL's boolean, is compared as a boolean:
// dst's column is marked so (its 0 and 1 read as false and true).
func matchKinds(src, dst *Schema) error {
	for i, c := range src.Cols {
		d := &dst.Cols[i]
		if c.Kind == KBool && dst.Eng == "mysql" && d.DataType == "tinyint" {
			d.Kind = KBool
		}
		if tagOf(c.Kind) != tagOf(d.Kind) {
			return fmt.Errorf("table %s column %s: the source's %s (%s values) and the destination's %s (%s values) never compare equal; make the destination column a matching type",
				src.Name, c.Name, c.Type, c.Kind, d.Type, d.Kind)
		}
	}
	if src.Eng == dst.Eng {
		return nil
	}
	for _, k := range src.Key {
		c, d := src.Cols[k], dst.Cols[k]
		if c.Kind != KText && c.Kind != KJSON && c.Kind != KOther {
			continue
		}
		if !bytewise(src, c) || !bytewise(dst, d) {
			return fmt.Errorf("table %s key column %s: collation %s at the source and %s at the destination do not both sort as bytes; ferry orders keys alike on both sides, so it needs binary collations on text key columns (utf8mb4_bin in MySQL, \"C\" in PostgreSQL)",
				src.Name, c.Name, collation(src, c), collation(dst, d))
		}
	}
	return nil
}

// collation is the collation c of s sorts by.
func collation(s *Schema, c Col) string {
	if s.Eng == "postgres" && (c.Collate == "" || c.Collate == "default") {
		return s.DBCollate
	}
	return c.Collate
}

// bytewise reports whether text column c of s sorts its values as their
// UTF-8 bytes.
func bytewise(s *Schema, c Col) bool {
	coll := collation(s, c)
	if s.Eng == "postgres" {
		return coll == "C" || coll == "POSIX" || coll == "ucs_basic"
	}
	return strings.HasSuffix(coll, "_bin") || coll == "binary"
}
