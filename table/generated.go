package table

import (
	"fmt"
	"slices"
)

// Generated columns (GENERATED ALWAYS AS ... in PostgreSQL, VIRTUAL and
// STORED/PERSISTENT ones in MariaDB and MySQL) are computed by each engine
// from a row's other columns, and no engine takes a value for them. ferry
// leaves them out of what it reads, writes and compares (they are not
// among a Schema's Cols), and makes the destination compute them: a table
// it creates gets them with the source's expression (same engine only: an
// expression is in its engine's SQL), and an existing destination table
// must have them generated too. A table whose primary key holds one is
// refused (Schema.Bad).

// generatedIn reports whether any of names is one of s's generated columns.
func (s *Schema) generatedIn(names []string) bool {
	for _, n := range names {
		if s.generated(n) {
			return true
		}
	}
	return false
}

// generated reports whether name is one of s's generated columns.
func (s *Schema) generated(name string) bool {
	return slices.ContainsFunc(s.Generated, func(g GenCol) bool { return g.Name == name })
}

// matchGenerated refuses a destination table whose generated columns are
// not the source's: a column generated at the source and plain at the
// destination would be left without its values, and one generated at the
// destination only cannot be written.
func matchGenerated(src, dst *Schema) error {
	for _, g := range src.Generated {
		if dst.col(g.Name) >= 0 {
			return fmt.Errorf("table %s column %s: generated at the source, a plain column at the destination; ferry does not copy generated values (each side computes them): make it generated at the destination too, or drop it there",
				src.Name, g.Name)
		}
	}
	for _, c := range src.Cols {
		if dst.generated(c.Name) {
			return fmt.Errorf("table %s column %s: generated at the destination but not at the source, so the source's values cannot be written to it",
				src.Name, c.Name)
		}
	}
	return nil
}

// refuseGenerated is the error of creating src's table in the other
// engine when it has generated columns, or nil.
func refuseGenerated(src *Schema, dstEngine string) error {
	if len(src.Generated) == 0 {
		return nil
	}
	return fmt.Errorf("table %s column %s: a generated column's expression is in %s's SQL, which ferry does not translate; create the destination table beforehand with its own generated column %s",
		src.Name, src.Generated[0].Name, engineName(src.Eng), src.Generated[0].Name)
}

// engineName is an engine as users call it.
func engineName(eng string) string {
	if eng == "postgres" {
		return "PostgreSQL"
	}
	return "MySQL"
}
