package table

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Pair is one table on both sides: Dst has Src's columns in Src's order,
// so that rows read from one are written to and compared with the other
// as they are.
type Pair struct {
	Src, Dst *Schema
	Created  bool // the destination table was created by Resolve
}

// Resolve finds the source tables that patterns name, refuses those
// ferry cannot move (no key, a type it does not move), and pairs each
// with its destination table, creating it when missing and create is set.
// A destination missing a column, or (MySQL to PostgreSQL) a text key
// column whose collation does not sort as bytes, is refused naming them.
func Resolve(ctx context.Context, src, dst DB, patterns []string, create bool) ([]Pair, error) {
	all, err := src.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("list source tables: %w", err)
	}
	tables, err := Match(all, patterns)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("tables %s: no source table matches", strings.Join(patterns, ","))
	}
	// Every table is checked before any is created.
	for _, s := range tables {
		if err := checkPair(s, dst.Engine()); err != nil {
			return nil, err
		}
	}
	var out []Pair
	for _, s := range tables {
		p, err := PairOf(ctx, s, dst, create)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return parentsFirst(out), nil
}

// PairOf pairs source table s with its destination table, refusing what
// Resolve refuses, creating the destination table when missing and
// create is set.
func PairOf(ctx context.Context, s *Schema, dst DB, create bool) (Pair, error) {
	if err := checkPair(s, dst.Engine()); err != nil {
		return Pair{}, err
	}
	name := s.Name
	if s.Eng != dst.Engine() {
		name = s.Rel
	}
	p := Pair{Src: s}
	d, err := dst.Describe(ctx, name)
	if errors.Is(err, ErrNoTable) && create {
		if err = dst.Create(ctx, s); err == nil {
			p.Created = true
			d, err = dst.Describe(ctx, name)
		}
	}
	if err != nil {
		return Pair{}, fmt.Errorf("destination table %s: %w", name, err)
	}
	if err := matchGenerated(s, d); err != nil {
		return Pair{}, err
	}
	if p.Dst, err = d.project(s.colNames()); err != nil {
		return Pair{}, err
	}
	if err := matchKinds(s, p.Dst); err != nil {
		return Pair{}, err
	}
	p.Dst.Key = nil
	for _, k := range s.Key {
		p.Dst.Key = append(p.Dst.Key, k)
	}
	p.Dst.Name = s.Name
	return p, nil
}

// checkPair refuses a source table ferry cannot move to a destination of
// engine dstEngine.
func checkPair(s *Schema, dstEngine string) error {
	if err := s.Check(); err != nil {
		return err
	}
	if s.Eng == dstEngine {
		return nil
	}
	// Between engines both sides must cut chunks at the same keys.
	need, as := `a binary collation (such as utf8mb4_bin)`, `PostgreSQL's "C" does`
	if s.Eng == "postgres" {
		need, as = `the "C" collation`, `MySQL's binary collations do`
	}
	for _, k := range s.Key {
		if c := s.Cols[k]; c.Kind == KText && !bytewise(s, c) {
			return fmt.Errorf("table %s key column %s: collation %s does not sort as bytes; ferry needs %s on text key columns to order keys as %s",
				s.Name, c.Name, collation(s, c), need, as)
		}
	}
	for i, c := range s.Cols {
		var err error
		if dstEngine == "postgres" {
			_, err = MapToPostgres(s, c)
		} else {
			_, err = MapToMySQL(s, c, contains(s.Key, i))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
