package table

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mysqlDB is a MySQL or MariaDB database. Rows are read with prepared
// statements, whose binary protocol carries floats bit-exact (the text
// protocol prints FLOAT with 6 digits); writes go as single statements
// with their values inlined by the driver (one round trip).
type mysqlDB struct {
	rd, wr *sql.DB
	db     string
}

var _ DB = (*mysqlDB)(nil)

func openMySQL(ctx context.Context, addr, user, password, db string, conns int) (*mysqlDB, error) {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = user, password, "tcp", addr, db
	c.ParseTime, c.Loc = true, time.UTC
	c.Timeout = 10 * time.Second
	// Foreign keys are not checked in ferry's sessions, as mariadb-dump's
	// output does not check them: chunks of a table and of the tables it
	// references land in any order, and the rows are the source's, whose
	// own keys held. (Nor do they cascade: a row deleted by mirror or
	// repair is the one the source no longer has, in each table.)
	c.Params = map[string]string{"time_zone": "'+00:00'", "sql_mode": "'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO'",
		"foreign_key_checks": "0"}
	c.MaxAllowedPacket = 0 // ask the server
	open := func(c *mysql.Config) (*sql.DB, error) {
		conn, err := mysql.NewConnector(c)
		if err != nil {
			return nil, err
		}
		d := sql.OpenDB(conn)
		d.SetMaxOpenConns(max(conns, 2))
		d.SetMaxIdleConns(max(conns, 2))
		d.SetConnMaxIdleTime(time.Minute)
		return d, nil
	}
	rd, err := open(c)
	if err != nil {
		return nil, err
	}
	if err := rd.PingContext(ctx); err != nil {
		rd.Close()
		return nil, err
	}
	// The write pool also reads chunks as text (myraw.go): its values
	// interpolated into the statements, times left as the server prints them.
	w := c.Clone()
	w.InterpolateParams = true
	w.ParseTime = false
	// A chunk's read stays open while its rows are written (and the
	// throttle waits): the server must not give up on an unread result.
	w.Params["net_write_timeout"] = "3600"
	wr, err := open(w)
	if err != nil {
		rd.Close()
		return nil, err
	}
	return &mysqlDB{rd: rd, wr: wr, db: db}, nil
}

func (m *mysqlDB) Engine() string { return "mysql" }
func (m *mysqlDB) Close()         { m.rd.Close(); m.wr.Close() }

func (m *mysqlDB) ident(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }
func (m *mysqlDB) table(s *Schema) string   { return m.ident(s.Space) + "." + m.ident(s.Rel) }

func (m *mysqlDB) param(args *[]any, c Col, v Val) string {
	*args = append(*args, mysqlArg(v))
	return "?"
}

// mysqlArg is v as the driver sends it.
func mysqlArg(v Val) any {
	switch v.K {
	case 0:
		return nil
	case KNum:
		s := string(v.B)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n
		}
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n
		}
		return s
	case KFloat32, KFloat64:
		return v.Float()
	case KBytes:
		if v.B == nil {
			return []byte{}
		}
		return v.B
	case KBool:
		if string(v.B) == "t" {
			return int64(1)
		}
		return int64(0)
	case KTimestamp, KTimestampTZ:
		return v.Time()
	}
	return string(v.B)
}

// mysqlVal reads a value of kind k from what the driver returned.
func mysqlVal(k Kind, x any) (Val, error) {
	switch v := x.(type) {
	case nil:
		return Null, nil
	case int64:
		if k == KFloat32 || k == KFloat64 {
			return FloatVal(k, float64(v)), nil
		}
		if k == KBool && (v == 0 || v == 1) { // a TINYINT(1) paired with a boolean (matchKinds)
			return BoolVal(v == 1), nil
		}
		return Val{K: KNum, B: strconv.AppendInt(nil, v, 10)}, nil
	case uint64:
		return Val{K: KNum, B: strconv.AppendUint(nil, v, 10)}, nil
	case float32:
		return FloatVal(k, float64(v)), nil
	case float64:
		return FloatVal(k, v), nil
	case time.Time:
		switch k {
		case KDate:
			return DateVal(v), nil
		case KTimestamp, KTimestampTZ:
			return TimeVal(k, v), nil
		}
		return Null, fmt.Errorf("a time for a %s column", k)
	case []byte:
		switch k {
		case KNum:
			return NumVal(string(v)), nil
		case KFloat32, KFloat64:
			f, err := strconv.ParseFloat(string(v), 64)
			return FloatVal(k, f), err
		case KBytes:
			if v == nil {
				v = []byte{}
			}
		}
		return Val{K: k, B: v}, nil
	case string:
		return mysqlVal(k, []byte(v))
	}
	return Null, fmt.Errorf("unexpected %T for a %s column", x, k)
}

// mysqlKind is the kind of a MySQL type by its DATA_TYPE, "" when ferry
// does not move it.
func mysqlKind(dataType string) Kind {
	switch dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric":
		return KNum
	case "float":
		return KFloat32
	case "double", "real":
		return KFloat64
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum":
		return KText
	case "json":
		return KJSON
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return KBytes
	case "date":
		return KDate
	case "datetime":
		return KTimestamp
	case "timestamp":
		return KTimestampTZ
	}
	return 0
}

func (m *mysqlDB) Tables(ctx context.Context) ([]*Schema, error) {
	rows, err := m.rd.QueryContext(ctx, `SELECT TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`, m.db)
	if err != nil {
		return nil, err
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []*Schema
	for _, n := range names {
		s, err := m.Describe(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (m *mysqlDB) Describe(ctx context.Context, name string) (*Schema, error) {
	db, rel := splitName(name, m.db)
	if db != m.db {
		// "db.t" names a table of this job's database only.
		return nil, fmt.Errorf("table %s: not in database %s: %w", name, m.db, ErrNoTable)
	}
	s := &Schema{Eng: "mysql", Name: rel, Space: db, Rel: rel, Checks: []string{}}
	rows, err := m.rd.QueryContext(ctx, `SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
		COALESCE(COLLATION_NAME, ''), EXTRA FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, db, rel)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c Col
		var nullable, extra string
		var def sql.NullString
		if err := rows.Scan(&c.Name, &c.DataType, &c.Type, &nullable, &def, &c.Collate, &extra); err != nil {
			rows.Close()
			return nil, err
		}
		c.DataType = strings.ToLower(c.DataType)
		c.NotNull = nullable == "NO"
		c.Default = def.String
		c.Unsigned = strings.Contains(strings.ToLower(c.Type), "unsigned")
		if strings.Contains(strings.ToLower(extra), "auto_increment") {
			c.Identity = "auto"
		}
		// "VIRTUAL GENERATED", "STORED GENERATED" (MariaDB also
		// "PERSISTENT GENERATED"); not MySQL 8's DEFAULT_GENERATED, a
		// default that is an expression.
		if x := strings.ToUpper(extra); strings.Contains(x, "VIRTUAL GENERATED") || strings.Contains(x, "STORED GENERATED") ||
			strings.Contains(x, "PERSISTENT GENERATED") {
			s.Generated = append(s.Generated, GenCol{Name: c.Name, Type: c.Type, Stored: !strings.Contains(x, "VIRTUAL"), Pos: len(s.Cols)})
			continue
		}
		if c.Kind = mysqlKind(c.DataType); c.Kind == 0 {
			c.Bad = "type " + c.Type + " is not moved by ferry (it moves integers, decimal, float, double, char, varchar, text, enum, binary, blob, date, datetime, timestamp, json)"
		}
		s.Cols = append(s.Cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(s.Cols) == 0 {
		return nil, fmt.Errorf("table %s: %w", rel, ErrNoTable)
	}
	// MariaDB's JSON is LONGTEXT with CHECK (json_valid(`col`)).
	if rows, err := m.rd.QueryContext(ctx, `SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, db, rel); err == nil {
		for rows.Next() {
			var cl string
			if rows.Scan(&cl) == nil {
				s.Checks = append(s.Checks, cl)
			}
		}
		rows.Close()
	}
	for i, c := range s.Cols {
		for _, cl := range s.Checks {
			if strings.EqualFold(strings.ReplaceAll(cl, " ", ""), "json_valid("+m.ident(c.Name)+")") && c.DataType == "longtext" {
				s.Cols[i].Kind = KJSON
			}
		}
	}
	rows, err = m.rd.QueryContext(ctx, `SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, COALESCE(SUB_PART, 0), INDEX_TYPE
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?
		ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX`, db, rel)
	if err != nil {
		return nil, err
	}
	var order []string
	idx := map[string]*Index{}
	skip := map[string]bool{}
	for rows.Next() {
		var iname, col, typ string
		var nonUnique, sub int
		if err := rows.Scan(&iname, &nonUnique, &col, &sub, &typ); err != nil {
			rows.Close()
			return nil, err
		}
		if idx[iname] == nil {
			idx[iname] = &Index{Name: iname, Unique: nonUnique == 0}
			order = append(order, iname)
		}
		idx[iname].Cols = append(idx[iname].Cols, col)
		if sub > 0 || typ != "BTREE" {
			skip[iname] = true // prefix, FULLTEXT and SPATIAL indexes are not carried to PostgreSQL
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, n := range order {
		ix := idx[n]
		if n == "PRIMARY" && s.generatedIn(ix.Cols) {
			s.Bad = "its primary key holds a generated column; ferry copies tables by key and lets each side compute generated columns"
		}
		if s.Key == nil && (n == "PRIMARY" && !s.generatedIn(ix.Cols) || ix.Unique && !skip[n] && s.allNotNull(ix.Cols)) {
			for _, c := range ix.Cols {
				s.Key = append(s.Key, s.col(c))
			}
			s.KeyName = n
			if n == "PRIMARY" {
				continue
			}
		}
		if !skip[n] {
			s.Indexes = append(s.Indexes, *ix)
		}
	}
	var tn string
	if err := m.rd.QueryRowContext(ctx, "SHOW CREATE TABLE "+m.table(s)).Scan(&tn, &s.Create); err != nil {
		return nil, err
	}
	rows, err = m.rd.QueryContext(ctx, `SELECT DISTINCT REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND UNIQUE_CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME <> ?
		ORDER BY 1`, db, rel, db, rel)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			return nil, err
		}
		s.Refs = append(s.Refs, ref)
	}
	return s, rows.Err()
}

func (m *mysqlDB) Create(ctx context.Context, src *Schema) error {
	if err := src.Check(); err != nil {
		return err
	}
	q := src.Create
	if src.Eng != "mysql" {
		if err := refuseGenerated(src, "mysql"); err != nil {
			return err
		}
		var err error
		if q, err = m.createMySQL(src); err != nil {
			return err
		}
	}
	conn, err := m.wr.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "USE "+m.ident(m.db)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("create table %s: %w", src.Name, err)
	}
	return nil
}

func (m *mysqlDB) Estimate(ctx context.Context, s *Schema) (int64, error) {
	var n sql.NullInt64
	err := m.rd.QueryRowContext(ctx, `SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
		s.Space, s.Rel).Scan(&n)
	return n.Int64, err
}

// query runs q as a prepared statement and calls fn with each row's
// values of the columns cols (indexes in s.Cols).
func (m *mysqlDB) query(ctx context.Context, s *Schema, q string, args []any, cols []int, fn func(Row) error) error {
	st, err := m.rd.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := st.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		r := make(Row, len(cols))
		for i, x := range vals {
			if r[i], err = mysqlVal(s.Cols[cols[i]].Kind, x); err != nil {
				return fmt.Errorf("table %s column %s: %w", s.Name, s.Cols[cols[i]].Name, err)
			}
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (m *mysqlDB) NextBound(ctx context.Context, s *Schema, lo Key, n int) (Key, error) {
	var args []any
	q := selectSQL(m, s, s.KeyCols(), rangeWhere(m, s, lo, nil, nil, &args), 1) + " OFFSET " + strconv.Itoa(n)
	var k Key
	err := m.query(ctx, s, q, args, s.Key, func(r Row) error { k = Key(r); return nil })
	return k, err
}

func (m *mysqlDB) Scan(ctx context.Context, s *Schema, lo, hi, after Key, limit int, fn func(Row) error) error {
	var args []any
	q := selectSQL(m, s, s.colNames(), rangeWhere(m, s, lo, hi, after, &args), limit)
	return m.query(ctx, s, q, args, allCols(s), fn)
}

func (m *mysqlDB) ScanChanged(ctx context.Context, s *Schema, lo, hi, after Key, col int, since Val, limit int, fn func(Row) error) error {
	var args []any
	where := and(rangeWhere(m, s, lo, hi, after, &args), changedWhere(m, s, col, since, &args))
	return m.query(ctx, s, selectSQL(m, s, s.colNames(), where, limit), args, allCols(s), fn)
}

func (m *mysqlDB) Max(ctx context.Context, s *Schema, col int) (Val, error) {
	v := Null
	q := "SELECT max(" + m.ident(s.Cols[col].Name) + ") FROM " + m.table(s)
	err := m.query(ctx, s, q, nil, []int{col}, func(r Row) error { v = r[0]; return nil })
	return v, err
}

func (m *mysqlDB) Get(ctx context.Context, s *Schema, keys []Key) (map[string]Row, error) {
	out := make(map[string]Row, len(keys))
	for len(keys) > 0 {
		n := min(len(keys), 200)
		var args []any
		q := selectSQL(m, s, s.colNames(), keyIn(m, s, keys[:n], &args), 0)
		if err := m.query(ctx, s, q, args, allCols(s), func(r Row) error { out[keyString(s.KeyOf(r))] = r; return nil }); err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return out, nil
}

func (m *mysqlDB) Delete(ctx context.Context, s *Schema, keys []Key) error {
	return m.inTx(ctx, func(tx *sql.Tx) error {
		for len(keys) > 0 {
			n := min(len(keys), 200)
			var args []any
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+m.table(s)+" WHERE "+keyIn(m, s, keys[:n], &args), args...); err != nil {
				return err
			}
			keys = keys[n:]
		}
		return nil
	})
}

func (m *mysqlDB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := m.wr.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// maxStatement bounds one INSERT's size and its placeholders.
const (
	maxStatement    = 4 << 20
	maxPlaceholders = 60000
)

// Write upserts rows in one transaction: INSERT ... ON DUPLICATE KEY
// UPDATE, in statements of at most maxStatement bytes.
func (m *mysqlDB) Write(ctx context.Context, s *Schema, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	head, tail := m.upsertSQL(s)
	ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(s.Cols)), ", ") + ")"
	cols := s.Cols
	return m.inTx(ctx, func(tx *sql.Tx) error {
		for len(rows) > 0 {
			var b strings.Builder
			b.WriteString(head)
			var args []any
			size, n := 0, 0
			for n < len(rows) && (n == 0 || size < maxStatement && len(args)+len(cols) <= maxPlaceholders) {
				if n > 0 {
					b.WriteString(", ")
				}
				b.WriteString(ph)
				for _, v := range rows[n] {
					args = append(args, mysqlArg(v))
					size += len(v.B)*2 + 8
				}
				n++
			}
			b.WriteString(tail)
			if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
				return err
			}
			rows = rows[n:]
		}
		return nil
	})
}

// upsertSQL is the text around an upsert's rows: "INSERT INTO t (cols)
// VALUES " and " ON DUPLICATE KEY UPDATE c = VALUES(c), ...".
func (m *mysqlDB) upsertSQL(s *Schema) (head, tail string) {
	var cols, set []string
	for i, c := range s.Cols {
		cols = append(cols, m.ident(c.Name))
		if !contains(s.Key, i) {
			set = append(set, m.ident(c.Name)+" = VALUES("+m.ident(c.Name)+")")
		}
	}
	if len(set) == 0 {
		k := m.ident(s.Cols[s.Key[0]].Name)
		set = append(set, k+" = "+k)
	}
	return "INSERT INTO " + m.table(s) + " (" + strings.Join(cols, ", ") + ") VALUES ",
		" ON DUPLICATE KEY UPDATE " + strings.Join(set, ", ")
}

// isMySQLCode reports whether err is a MySQL server error with one of
// the numbers.
func isMySQLCode(err error, codes ...uint16) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	for _, c := range codes {
		if me.Number == c {
			return true
		}
	}
	return false
}
