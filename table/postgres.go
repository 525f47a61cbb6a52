package table

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// postgres is a PostgreSQL database. Every query runs in the simple
// protocol, so that every value arrives in its type's text form (exact
// for floats since PostgreSQL 12, hex for bytea, ISO dates in UTC): the
// one form that every type has, read into canonical values by kind.
type postgres struct {
	pool *pgxpool.Pool
	db   string
}

var _ DB = (*postgres)(nil)

func openPostgres(ctx context.Context, host string, port uint16, user, password, db string, conns int) (*postgres, error) {
	cfg, err := pgxpool.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cc := cfg.ConnConfig
	cc.Host, cc.Port, cc.User, cc.Password, cc.Database = host, port, user, password, db
	cc.ConnectTimeout = 10 * time.Second
	cc.TLSConfig = nil
	cc.Fallbacks = nil
	cc.RuntimeParams = map[string]string{"timezone": "UTC", "datestyle": "ISO, YMD", "extra_float_digits": "1",
		"bytea_output": "hex", "application_name": "ferry", "client_encoding": "UTF8"}
	cc.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	cfg.MaxConns = int32(max(conns, 2))
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return &postgres{pool: pool, db: db}, nil
}

func (p *postgres) Engine() string { return "postgres" }
func (p *postgres) Close()         { p.pool.Close() }

func (p *postgres) ident(name string) string { return pgx.Identifier{name}.Sanitize() }
func (p *postgres) table(s *Schema) string   { return pgx.Identifier{s.Space, s.Rel}.Sanitize() }

func (p *postgres) param(args *[]any, c Col, v Val) string {
	if v.IsNull() {
		return "NULL"
	}
	*args = append(*args, pgText(v))
	return "$" + strconv.Itoa(len(*args)) + "::" + c.Type
}

// pgText is v in the text form PostgreSQL's input functions read.
func pgText(v Val) string {
	switch v.K {
	case KFloat32, KFloat64:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	case KBytes:
		return `\x` + hex.EncodeToString(v.B)
	case KTimestamp:
		return v.Time().Format(tsLayout)
	case KTimestampTZ:
		return v.Time().Format(tsLayout) + "+00"
	}
	return string(v.B)
}

// pgVal reads a value of kind k from its text form (nil: NULL).
func pgVal(k Kind, raw []byte) (Val, error) {
	if raw == nil {
		return Null, nil
	}
	switch k {
	case KNum:
		return NumVal(string(raw)), nil
	case KFloat32, KFloat64:
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return Null, err
		}
		return FloatVal(k, f), nil
	case KBytes:
		if !bytes.HasPrefix(raw, []byte(`\x`)) {
			return Null, fmt.Errorf("bytea %q: not in hex form", raw)
		}
		b := make([]byte, hex.DecodedLen(len(raw)-2))
		_, err := hex.Decode(b, raw[2:])
		return Val{K: KBytes, B: b}, err
	case KTimestamp:
		t, err := time.Parse(tsLayout, string(raw))
		return TimeVal(k, t), err
	case KTimestampTZ:
		t, err := time.Parse(tsLayout+"-07", string(raw))
		if err != nil {
			t, err = time.Parse(tsLayout+"-07:00", string(raw))
		}
		return TimeVal(k, t), err
	}
	return Val{K: k, B: bytes.Clone(raw)}, nil
}

// pgKind is the kind of a PostgreSQL type by its name (pg_type.typname).
func pgKind(typ string) Kind {
	switch typ {
	case "int2", "int4", "int8", "numeric", "oid":
		return KNum
	case "float4":
		return KFloat32
	case "float8":
		return KFloat64
	case "text", "varchar", "bpchar", "name", "citext":
		return KText
	case "bytea":
		return KBytes
	case "bool":
		return KBool
	case "date":
		return KDate
	case "timestamp":
		return KTimestamp
	case "timestamptz":
		return KTimestampTZ
	case "json", "jsonb":
		return KJSON
	}
	return KOther
}

func (p *postgres) Tables(ctx context.Context) ([]*Schema, error) {
	rows, err := p.pool.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg\_%' ORDER BY 1, 2`)
	if err != nil {
		return nil, err
	}
	names, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var ns, rel string
		err := r.Scan(&ns, &rel)
		return pgName(ns, rel), err
	})
	if err != nil {
		return nil, err
	}
	var out []*Schema
	for _, n := range names {
		s, err := p.Describe(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// pgName is a table's name in keys: bare in the public schema.
func pgName(ns, rel string) string {
	if ns == "public" {
		return rel
	}
	return ns + "." + rel
}

// splitName splits "schema.table" (or "table": public).
func splitName(name, def string) (string, string) {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return def, name
}

func (p *postgres) Describe(ctx context.Context, name string) (*Schema, error) {
	ns, rel := splitName(name, "public")
	s := &Schema{Eng: "postgres", Name: pgName(ns, rel), Space: ns, Rel: rel}
	var oid uint32
	err := p.pool.QueryRow(ctx, `SELECT c.oid, d.datcollate FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_database d ON d.datname = current_database()
		WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')`, ns, rel).Scan(&oid, &s.DBCollate)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("table %s: %w", s.Name, ErrNoTable)
	}
	if err != nil {
		return nil, err
	}
	rows, err := p.pool.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typname,
		a.attnotnull, coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text, a.attgenerated::text,
		coalesce(co.collname, '')
		FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> t.typcollation
		WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, oid)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c Col
		var gen string
		if err := rows.Scan(&c.Name, &c.Type, &c.DataType, &c.NotNull, &c.Default, &c.Identity, &gen, &c.Collate); err != nil {
			rows.Close()
			return nil, err
		}
		c.Kind = pgKind(c.DataType)
		if gen != "" { // its expression is in pg_attrdef, read as its default
			s.Generated = append(s.Generated, GenCol{Name: c.Name, Type: c.Type, Expr: c.Default, Stored: gen == "s", Pos: len(s.Cols)})
			continue
		}
		s.Cols = append(s.Cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The key: the primary key, else the first unique index over NOT
	// NULL columns without expressions or predicate.
	rows, err = p.pool.Query(ctx, `SELECT i.indisprimary, i.indisunique, ic.relname, pg_get_indexdef(i.indexrelid),
		array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o), chr(1)),
		i.indexprs IS NULL AND i.indpred IS NULL AND 0 <> ALL (i.indkey)
		FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = $1 ORDER BY NOT i.indisprimary, ic.relname`, oid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var primary, unique, plain bool
		var iname, def, cols string
		if err := rows.Scan(&primary, &unique, &iname, &def, &cols, &plain); err != nil {
			return nil, err
		}
		names := strings.Split(cols, "\x01")
		if primary && s.generatedIn(names) {
			s.Bad = "its primary key " + iname + " holds a generated column; ferry copies tables by key and lets each side compute generated columns"
		}
		if s.Key == nil && (primary && !s.generatedIn(names) || unique && plain && s.allNotNull(names)) {
			for _, n := range names {
				s.Key = append(s.Key, s.col(n))
			}
			s.KeyName = iname
			if primary {
				continue
			}
		}
		s.Indexes = append(s.Indexes, Index{Name: iname, Unique: unique, Cols: names, Def: def})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	checks, err := p.pool.Query(ctx, `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
		WHERE conrelid = $1 AND contype = 'c' AND convalidated ORDER BY conname`, oid)
	if err != nil {
		return nil, err
	}
	if s.PGChecks, err = pgx.CollectRows(checks, func(r pgx.CollectableRow) (c [2]string, err error) {
		err = r.Scan(&c[0], &c[1])
		return c, err
	}); err != nil {
		return nil, err
	}
	refs, err := p.pool.Query(ctx, `SELECT DISTINCT n.nspname, c.relname FROM pg_constraint f
		JOIN pg_class c ON c.oid = f.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE f.contype = 'f' AND f.conrelid = $1 AND f.confrelid <> $1 ORDER BY 1, 2`, oid)
	if err != nil {
		return nil, err
	}
	s.Refs, err = pgx.CollectRows(refs, func(r pgx.CollectableRow) (string, error) {
		var ns, rel string
		err := r.Scan(&ns, &rel)
		return pgName(ns, rel), err
	})
	return s, err
}

func (s *Schema) allNotNull(names []string) bool {
	for _, n := range names {
		if i := s.col(n); i < 0 || !s.Cols[i].NotNull {
			return false
		}
	}
	return true
}

func (p *postgres) Estimate(ctx context.Context, s *Schema) (int64, error) {
	var n float64
	err := p.pool.QueryRow(ctx, `SELECT c.reltuples::float8 FROM pg_class c WHERE c.oid = $1::regclass`, p.table(s)).Scan(&n)
	if n < 0 { // never analyzed
		n = 0
		err = p.pool.QueryRow(ctx, "SELECT count(*) FROM "+p.table(s)).Scan(&n)
	}
	return int64(n), err
}

func (p *postgres) NextBound(ctx context.Context, s *Schema, lo Key, n int) (Key, error) {
	var args []any
	q := selectSQL(p, s, s.KeyCols(), rangeWhere(p, s, lo, nil, nil, &args), 1) + " OFFSET " + strconv.Itoa(n)
	var k Key
	err := p.query(ctx, s, q, args, s.Key, func(r Row) error { k = Key(r); return nil })
	return k, err
}

// query runs q and calls fn with each row's values of the columns cols
// (indexes in s.Cols, giving the kinds).
func (p *postgres) query(ctx context.Context, s *Schema, q string, args []any, cols []int, fn func(Row) error) error {
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		raw := rows.RawValues()
		r := make(Row, len(raw))
		for i, b := range raw {
			if r[i], err = pgVal(s.Cols[cols[i]].Kind, b); err != nil {
				return fmt.Errorf("table %s column %s: %w", s.Name, s.Cols[cols[i]].Name, err)
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func allCols(s *Schema) []int {
	out := make([]int, len(s.Cols))
	for i := range out {
		out[i] = i
	}
	return out
}

func (p *postgres) Scan(ctx context.Context, s *Schema, lo, hi, after Key, limit int, fn func(Row) error) error {
	var args []any
	q := selectSQL(p, s, s.colNames(), rangeWhere(p, s, lo, hi, after, &args), limit)
	return p.query(ctx, s, q, args, allCols(s), fn)
}

func (p *postgres) ScanChanged(ctx context.Context, s *Schema, lo, hi, after Key, col int, since Val, limit int, fn func(Row) error) error {
	var args []any
	where := and(rangeWhere(p, s, lo, hi, after, &args), changedWhere(p, s, col, since, &args))
	return p.query(ctx, s, selectSQL(p, s, s.colNames(), where, limit), args, allCols(s), fn)
}

func (p *postgres) Max(ctx context.Context, s *Schema, col int) (Val, error) {
	v := Null
	q := "SELECT max(" + p.ident(s.Cols[col].Name) + ") FROM " + p.table(s)
	err := p.query(ctx, s, q, nil, []int{col}, func(r Row) error { v = r[0]; return nil })
	return v, err
}

func (p *postgres) Get(ctx context.Context, s *Schema, keys []Key) (map[string]Row, error) {
	out := make(map[string]Row, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), 200)
		var args []any
		q := selectSQL(p, s, s.colNames(), keyIn(p, s, keys[:n], &args), 0)
		err := p.query(ctx, s, q, args, allCols(s), func(r Row) error { out[keyString(s.KeyOf(r))] = r; return nil })
		if err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return out, nil
}

func (p *postgres) Delete(ctx context.Context, s *Schema, keys []Key) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		for len(keys) > 0 {
			n := min(len(keys), 200)
			var args []any
			if _, err := tx.Exec(ctx, "DELETE FROM "+p.table(s)+" WHERE "+keyIn(p, s, keys[:n], &args), args...); err != nil {
				return err
			}
			keys = keys[n:]
		}
		return nil
	})
}

// Write upserts rows in one transaction: straight COPY into the table
// when it has no row in the batch's key range yet (a first copy), else
// COPY into a temporary table and INSERT ... ON CONFLICT DO UPDATE from
// it. A COPY that meets a row written meanwhile falls back to the upsert.
func (p *postgres) Write(ctx context.Context, s *Schema, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	return p.writeCopy(ctx, s, copyText(rows), s.KeyOf(rows[0]), s.KeyOf(rows[len(rows)-1]))
}

// writeCopy is Write of rows in COPY's text format, data, whose first
// and last keys are first and last.
func (p *postgres) writeCopy(ctx context.Context, s *Schema, data []byte, first, last Key) error {
	colList := p.colList(s)
	direct := true
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		var args []any
		where := cmpKey(p, s, first, ">=", &args) + " AND " + cmpKey(p, s, last, "<=", &args)
		var one int
		err := tx.QueryRow(ctx, "SELECT 1 FROM "+p.table(s)+" WHERE "+where+" LIMIT 1", args...).Scan(&one)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			_, err = tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(data), "COPY "+p.table(s)+" ("+colList+") FROM STDIN")
			return err
		case err != nil:
			return err
		}
		direct = false
		return p.upsert(ctx, tx, s, bytes.NewReader(data), "text")
	})
	if direct && isUniqueViolation(err) { // written meanwhile
		err = pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error { return p.upsert(ctx, tx, s, bytes.NewReader(data), "text") })
	}
	return err
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// colList is s's columns, quoted, comma-separated.
func (p *postgres) colList(s *Schema) string {
	cols := make([]string, len(s.Cols))
	for i, c := range s.Cols {
		cols[i] = p.ident(c.Name)
	}
	return strings.Join(cols, ", ")
}

// upsert writes the rows of r, in COPY's format (text or binary), into
// s's table within tx: COPY into a temporary table, then INSERT ... ON
// CONFLICT DO UPDATE from it.
func (p *postgres) upsert(ctx context.Context, tx pgx.Tx, s *Schema, r io.Reader, format string) error {
	colList := p.colList(s)
	h := fnv.New32a()
	h.Write([]byte(s.Space + "." + s.Rel))
	stage := p.ident(fmt.Sprintf("ferry_stage_%08x", h.Sum32()))
	if _, err := tx.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+stage+" (LIKE "+p.table(s)+") ON COMMIT DELETE ROWS"); err != nil {
		return err
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, r, "COPY "+stage+" ("+colList+") FROM STDIN (FORMAT "+format+")"); err != nil {
		return err
	}
	var set []string
	keys := make([]string, len(s.Key))
	for i, k := range s.Key {
		keys[i] = p.ident(s.Cols[k].Name)
	}
	override := ""
	for i, c := range s.Cols {
		if !contains(s.Key, i) {
			set = append(set, p.ident(c.Name)+" = EXCLUDED."+p.ident(c.Name))
		}
		if c.Identity == "a" {
			override = " OVERRIDING SYSTEM VALUE"
		}
	}
	conflict := " DO NOTHING"
	if len(set) > 0 {
		conflict = " DO UPDATE SET " + strings.Join(set, ", ")
	}
	_, err := tx.Exec(ctx, "INSERT INTO "+p.table(s)+" ("+colList+")"+override+" SELECT "+colList+" FROM "+stage+
		" ON CONFLICT ("+strings.Join(keys, ", ")+")"+conflict)
	return err
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// copyText is rows in COPY's text format.
func copyText(rows []Row) []byte {
	var b []byte
	for _, r := range rows {
		for i, v := range r {
			if i > 0 {
				b = append(b, '\t')
			}
			if v.IsNull() {
				b = append(b, `\N`...)
				continue
			}
			s := pgText(v)
			for j := 0; j < len(s); j++ {
				switch c := s[j]; c {
				case '\\':
					b = append(b, `\\`...)
				case '\n':
					b = append(b, `\n`...)
				case '\r':
					b = append(b, `\r`...)
				case '\t':
					b = append(b, `\t`...)
				default:
					b = append(b, c)
				}
			}
		}
		b = append(b, '\n')
	}
	return b
}
