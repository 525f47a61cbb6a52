package table

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// Schema is one table as its engine describes it: its columns in order,
// which of them make its key, and how to recreate it.
type Schema struct {
	Eng        string // the engine that described it: "mysql" or "postgres"
	Name       string // as keys and reports name it: "t", or "schema.t" outside public
	Space, Rel string // PostgreSQL schema and table; MySQL database and table
	Cols       []Col
	Key        []int // indexes in Cols of the primary key (or a unique key of NOT NULL columns)
	KeyName    string
	Indexes    []Index
	Checks     []string // MySQL: CHECK clauses (JSON columns are found by them)
	// PostgreSQL: validated CHECK constraints, name and
	// pg_get_constraintdef, which a table made from this one in PostgreSQL
	// gets (one NOT VALID at the source may be broken by its rows, which
	// the destination would then refuse).
	PGChecks  [][2]string
	Create    string   // MySQL: SHOW CREATE TABLE, for a MySQL destination
	Refs      []string // the tables its foreign keys reference, by Name (itself excluded)
	DBCollate string   // PostgreSQL: the database's collation, which a column without its own (Collate "") sorts by
	// Generated are its generated columns, which are not among Cols:
	// each engine computes their values from the others, so ferry
	// neither copies nor compares them (generated.go).
	Generated []GenCol
	Bad       string // why this table cannot be moved ("" when it can), beyond its columns'
}

// GenCol is a generated column.
type GenCol struct {
	Name   string
	Type   string // as declared
	Expr   string // PostgreSQL: the expression it is generated from
	Stored bool
	Pos    int // how many of Cols come before it in the table
}

// Col is one column.
type Col struct {
	Name     string
	Type     string // the engine's type as declared: "varchar(20)", "numeric(40,10)", "int(10) unsigned"
	DataType string // the type's name alone: "varchar", "numeric", "int"
	Kind     Kind
	NotNull  bool
	Default  string // the default expression, "" for none
	Identity string // PostgreSQL: "a" (always) or "d" (by default); MySQL: "auto" for auto_increment
	Collate  string // a collation other than the type's default
	Unsigned bool
	Bad      string // why this column cannot be moved ("" when it can)
}

// Index is a secondary index.
type Index struct {
	Name   string
	Unique bool
	Cols   []string
	Def    string // PostgreSQL: pg_get_indexdef
}

// KeyCols returns the names of the key's columns.
func (s *Schema) KeyCols() []string {
	out := make([]string, len(s.Key))
	for i, k := range s.Key {
		out[i] = s.Cols[k].Name
	}
	return out
}

// KeyOf returns the key values of row r.
func (s *Schema) KeyOf(r Row) Key {
	k := make(Key, len(s.Key))
	for i, c := range s.Key {
		k[i] = r[c]
	}
	return k
}

// col finds a column by name.
func (s *Schema) col(name string) int {
	for i, c := range s.Cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// ErrNoTable is the error of a table that does not exist.
var ErrNoTable = errors.New("no such table")

// project returns s with its columns in the order of names (the other
// side's), the key recomputed. A column of names that s lacks is an
// error naming it.
func (s *Schema) project(names []string) (*Schema, error) {
	p := *s
	p.Cols = nil
	for _, n := range names {
		i := s.col(n)
		if i < 0 {
			return nil, fmt.Errorf("table %s: the destination has no column %s", s.Name, n)
		}
		p.Cols = append(p.Cols, s.Cols[i])
	}
	p.Key = nil
	for _, k := range s.Key {
		p.Key = append(p.Key, slices.Index(names, s.Cols[k].Name))
	}
	return &p, nil
}

// colNames returns the names of s's columns.
func (s *Schema) colNames() []string {
	out := make([]string, len(s.Cols))
	for i, c := range s.Cols {
		out[i] = c.Name
	}
	return out
}

// Match returns the tables among all whose name, or space-qualified name,
// matches one of patterns (path.Match syntax: "orders", "shop.*",
// "log_2024_*"), in the order of all. A pattern without a wildcard that
// matches nothing is an error: a table named in tables= must exist.
func Match(all []*Schema, patterns []string) ([]*Schema, error) {
	var out []*Schema
	for _, p := range patterns {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("tables: bad pattern %q: %v", p, err)
		}
		found := false
		for _, s := range all {
			ok1, _ := path.Match(p, s.Name)
			ok2, _ := path.Match(p, s.Space+"."+s.Rel)
			if ok1 || ok2 {
				found = true
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
		if !found && !strings.ContainsAny(p, "*?[") {
			return nil, fmt.Errorf("table %s: %w", p, ErrNoTable)
		}
	}
	slices.SortStableFunc(out, func(a, b *Schema) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Check refuses a table ferry cannot move: one without a primary key (or
// a unique key over NOT NULL columns), or with a column of a type it does
// not move, naming the table and the column.
func (s *Schema) Check() error {
	if s.Bad != "" {
		return fmt.Errorf("table %s: %s", s.Name, s.Bad)
	}
	if len(s.Key) == 0 {
		return fmt.Errorf("table %s has no primary key (nor a unique key of NOT NULL columns): ferry copies and verifies tables by key; add one", s.Name)
	}
	for _, c := range s.Cols {
		if c.Bad != "" {
			return fmt.Errorf("table %s column %s: %s", s.Name, c.Name, c.Bad)
		}
	}
	return nil
}

// DB is one side of a table job: a pool of connections to one database.
type DB interface {
	Engine() string
	// Describe returns every base table of the database (MySQL) or of
	// its non-system schemas (PostgreSQL), with columns and keys.
	Tables(ctx context.Context) ([]*Schema, error)
	// Describe returns one table (ErrNoTable when it does not exist).
	Describe(ctx context.Context, name string) (*Schema, error)
	// Create makes a table like src, from the other engine or the same.
	Create(ctx context.Context, src *Schema) error
	// Estimate is the engine's estimate of the table's rows.
	Estimate(ctx context.Context, s *Schema) (int64, error)
	// NextBound returns the key n rows after lo in key order (from the
	// start when lo is nil), reading only the key: nil when the table has
	// n rows or fewer from lo.
	NextBound(ctx context.Context, s *Schema, lo Key, n int) (Key, error)
	// Scan calls fn for the rows with lo <= key < hi (nil bounds open),
	// after key `after` when set, in key order, at most limit (0: all).
	Scan(ctx context.Context, s *Schema, lo, hi, after Key, limit int, fn func(Row) error) error
	// ScanChanged is Scan of the rows whose column col is at or after
	// since (every row when since is NULL).
	ScanChanged(ctx context.Context, s *Schema, lo, hi, after Key, col int, since Val, limit int, fn func(Row) error) error
	// Max returns the greatest value of column col (NULL for no row).
	Max(ctx context.Context, s *Schema, col int) (Val, error)
	// Get returns the rows with the given keys, keyed by keyString.
	Get(ctx context.Context, s *Schema, keys []Key) (map[string]Row, error)
	// Write upserts rows, in one transaction.
	Write(ctx context.Context, s *Schema, rows []Row) error
	// Delete deletes the rows with the given keys, in one transaction.
	Delete(ctx context.Context, s *Schema, keys []Key) error
	Close()
}

// keyString is a key's identity as a map key.
func keyString(k Key) string { return string(encodeVals(nil, k)) }
