package table

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"ferry/internal/dbtest"
	"ferry/task"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Run(m)) }

func endpoint(s *dbtest.Server, db string) task.Endpoint {
	return task.Endpoint{Type: s.Engine, Domain: s.Addr(), Bucket: db, AccessKey: s.User, SecretKey: task.Secret(s.Password)}
}

func open(t *testing.T, s *dbtest.Server, db string) DB {
	t.Helper()
	d, err := Open(context.Background(), "src", endpoint(s, db), 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// mariaFixture makes the three tables of the acceptance tests in a fresh
// MariaDB database: big (n rows), comp (a composite key), awkward (NULL
// and the empty string, binary keys ending in 0x00, 4-byte UTF-8, microseconds, 30-digit
// decimals, floats, JSON, enum).
func mariaFixture(t *testing.T, s *dbtest.Server, db string, n int) {
	s.CreateDB(t, db)
	s.MustExec(t, db,
		"CREATE TABLE big (id BIGINT PRIMARY KEY, v VARCHAR(40) NOT NULL, x INT, KEY by_x (x))",
		fmt.Sprintf("INSERT INTO big SELECT seq, CONCAT('row-', seq), seq %% 97 FROM seq_1_to_%d", n),
		"CREATE TABLE comp (a INT NOT NULL, b VARCHAR(20) COLLATE utf8mb4_bin NOT NULL, v INT, PRIMARY KEY (a, b))",
		"INSERT INTO comp SELECT seq % 7, CONCAT('k', seq), seq FROM seq_1_to_3000",
		`CREATE TABLE awkward (k VARBINARY(16) NOT NULL PRIMARY KEY, s VARCHAR(50) NULL, t TEXT, n INT NULL,
			d DECIMAL(40,10), f FLOAT, g DOUBLE, ts DATETIME(6), tz TIMESTAMP(6) NULL DEFAULT NULL, dt DATE,
			b BLOB, j JSON, e ENUM('a','b'), u BIGINT UNSIGNED, tiny TINYINT(1) DEFAULT 1)`,
		`INSERT INTO awkward VALUES
			(x'00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
			(x'0000', '', '', 0, 0, 0, 0, '1970-01-01 00:00:00', '1970-01-01 00:00:01', '1000-01-01', x'', '{}', 'a', 0, 0),
			(x'01', 'tab\there', 'new\nline\\back', -2147483648, '12345678901234567890.1234567890', 1.1, 0.1,
			 '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07.999999', '9999-12-31', x'00ff00', '{"b": 1, "a": [1.50, "x"]}', 'b',
			 18446744073709551615, 1),
			(x'0100', '😀 4-byte', 'ümlaut 𝄞', 2147483647, '-0.0000000001', -3.4e38, 1.7976931348623157e308,
			 '0001-01-01 00:00:00.000001', NULL, '2000-01-01', x'000000', 'null', NULL, 1, -1),
			(x'6100', 'a', 'it''s', 7, '99999999999999999999999999999.9999999999', 16777217, 2.5e-300,
			 '2024-01-01 00:00:00.5', '2024-01-01 00:00:00.5', NULL, x'', '[]', 'a', NULL, NULL)`)
}

// copyAll resolves the tables, plans them and copies every chunk.
func copyAll(t *testing.T, src, dst DB, patterns []string, chunkRows int) []Pair {
	t.Helper()
	ctx := context.Background()
	pairs, err := Resolve(ctx, src, dst, patterns, true)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Pair{}
	for _, p := range pairs {
		byName[p.Src.Name] = p
	}
	err = Plan(ctx, src, pairs, chunkRows, "", func(c Chunk) error {
		_, err := CopyChunk(ctx, src, dst, byName[c.Table], c, CopyOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return pairs
}

// verifyAll verifies every chunk and returns the diffs as "KIND name".
func verifyAll(t *testing.T, src, dst DB, pairs []Pair, chunkRows int) []string {
	t.Helper()
	ctx := context.Background()
	byName := map[string]Pair{}
	for _, p := range pairs {
		byName[p.Src.Name] = p
	}
	var out []string
	err := Plan(ctx, src, pairs, chunkRows, "", func(c Chunk) error {
		r, err := VerifyChunk(ctx, src, dst, byName[c.Table], c, Options{})
		for _, d := range r.Diffs {
			out = append(out, d.Kind+" "+d.Name())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMariaDBToPostgres(t *testing.T) {
	maria, pg := dbtest.MariaDB(t), dbtest.Postgres(t)
	mariaFixture(t, maria, "m2p", 5000)
	pg.CreateDB(t, "m2p")
	src, dst := open(t, maria, "m2p"), open(t, pg, "m2p")
	pairs := copyAll(t, src, dst, []string{"*"}, 1000)
	if len(pairs) != 3 {
		t.Fatalf("%d tables, want 3", len(pairs))
	}
	if d := verifyAll(t, src, dst, pairs, 1000); len(d) != 0 {
		t.Fatalf("after the copy, verify found %v", d)
	}
	// Values as the destination's own client shows them.
	c := pg.MustOpen(t, "m2p")
	var s, j, d, ts string
	if err := c.QueryRow(`SELECT s, j::text, d::text, ts::text FROM awkward WHERE k = '\x01'::bytea`).Scan(&s, &j, &d, &ts); err != nil {
		t.Fatal(err)
	}
	if s != "tab\there" || j != `{"b": 1, "a": [1.50, "x"]}` || d != "12345678901234567890.1234567890" || ts != "2024-02-29 23:59:59.123456" {
		t.Errorf("row x'01' at the destination: %q %q %q %q", s, j, d, ts)
	}
	// Change the destination behind ferry's back.
	pg.MustExec(t, "m2p",
		"UPDATE big SET v = 'changed' WHERE id IN (17, 2500)",
		"DELETE FROM big WHERE id = 4999",
		"INSERT INTO big VALUES (999999, 'extra', 1)",
		`UPDATE awkward SET s = NULL WHERE k = '\x0000'::bytea`,
		`UPDATE awkward SET f = 1.1000001 WHERE k = '\x01'::bytea`,
		`DELETE FROM awkward WHERE k = '\x00'::bytea`,
		"UPDATE comp SET v = v + 1 WHERE a = 3 AND b = 'k10'")
	got := verifyAll(t, src, dst, pairs, 1000)
	want := []string{"DIFFERENT awkward/x'0000'", "DIFFERENT awkward/x'01'", "MISSING awkward/x'00'",
		"DIFFERENT big/17", "DIFFERENT big/2500", "MISSING big/4999", "EXTRA big/999999", "DIFFERENT comp/(3,'k10')"}
	if !sameSet(got, want) {
		t.Fatalf("verify found %v\nwant %v", got, want)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

var _ = strings.Join

func TestPostgresToPostgres(t *testing.T) {
	pg := dbtest.Postgres(t)
	pg.CreateDB(t, "p2p_src")
	pg.CreateDB(t, "p2p_dst")
	pg.MustExec(t, "p2p_src",
		"CREATE SCHEMA shop",
		`CREATE TABLE shop.orders (id serial PRIMARY KEY, who text NOT NULL DEFAULT 'nobody', amount numeric(32,2),
			paid boolean, tags text[], meta jsonb, uid uuid, at timestamptz(6), raw bytea, r real, d double precision)`,
		"CREATE INDEX orders_who ON shop.orders (who, at DESC)",
		`INSERT INTO shop.orders (who, amount, paid, tags, meta, uid, at, raw, r, d)
			SELECT 'w' || i, i * 1.25, i % 2 = 0, ARRAY['a', i::text], jsonb_build_object('i', i), md5(i::text)::uuid,
			'2024-01-01'::timestamptz + i * interval '1.000001 second', decode(lpad(to_hex(i), 8, '0'), 'hex'), i / 3.0, i / 7.0
			FROM generate_series(1, 4000) i`,
		"INSERT INTO shop.orders (who, raw, r, d) VALUES ('', '\\x00', 'NaN', '-Infinity'), ('x', '', NULL, 0)",
		`CREATE TABLE lines (o int, n bytea, qty int GENERATED BY DEFAULT AS IDENTITY, PRIMARY KEY (o, n))`,
		`INSERT INTO lines SELECT i % 50, decode(lpad(to_hex(i), 4, '0') || '00', 'hex') FROM generate_series(1, 2000) i`)
	src, dst := open(t, pg, "p2p_src"), open(t, pg, "p2p_dst")
	pairs := copyAll(t, src, dst, []string{"shop.*", "lines"}, 700)
	if len(pairs) != 2 {
		t.Fatalf("%d tables, want 2", len(pairs))
	}
	if d := verifyAll(t, src, dst, pairs, 700); len(d) != 0 {
		t.Fatalf("after the copy, verify found %v", d)
	}
	// The same definition: columns, defaults, indexes.
	c := pg.MustOpen(t, "p2p_dst")
	var def string
	if err := c.QueryRow(`SELECT string_agg(column_name || ' ' || data_type || ' ' || coalesce(column_default, '-'), ', ' ORDER BY ordinal_position)
		FROM information_schema.columns WHERE table_schema = 'shop' AND table_name = 'orders'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "id integer nextval('shop.orders_id_seq'::regclass)") || !strings.Contains(def, "who text 'nobody'::text") {
		t.Errorf("destination columns: %s", def)
	}
	var idx string
	if err := c.QueryRow(`SELECT indexdef FROM pg_indexes WHERE indexname = 'orders_who'`).Scan(&idx); err != nil {
		t.Fatalf("index orders_who not created: %v", err)
	}
	// Repair: 37 rows changed, deleted or added behind ferry's back.
	pg.MustExec(t, "p2p_dst",
		"UPDATE shop.orders SET amount = amount + 0.01 WHERE id <= 12",
		"UPDATE shop.orders SET tags = NULL WHERE id BETWEEN 100 AND 104",
		"DELETE FROM shop.orders WHERE id BETWEEN 3000 AND 3009",
		`DELETE FROM lines WHERE o = 7 AND n IN (SELECT n FROM lines WHERE o = 7 ORDER BY n LIMIT 5)`,
		`INSERT INTO lines (o, n) VALUES (999, '\x00'), (999, '\x0000'), (-1, '\x'), (60, '\x01'), (61, '\x02')`)
	got := verifyAll(t, src, dst, pairs, 700)
	if len(got) != 37 {
		t.Fatalf("verify found %d rows, want 37: %v", len(got), got)
	}
	ctx := context.Background()
	for _, mirror := range []bool{false, true} {
		for _, p := range pairs {
			err := Plan(ctx, src, []Pair{p}, 700, "", func(ch Chunk) error {
				r, err := VerifyChunk(ctx, src, dst, p, ch, Options{})
				if err == nil {
					_, _, err = Repair(ctx, src, dst, p, r.Diffs, mirror)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		got = verifyAll(t, src, dst, pairs, 700)
		if !mirror && len(got) != 5 {
			t.Fatalf("after a repair without mirror, %v; want the 5 extra rows kept", got)
		}
	}
	if len(got) != 0 {
		t.Fatalf("after a repair with mirror, verify found %v", got)
	}
}

func TestMariaDBToMariaDB(t *testing.T) {
	maria := dbtest.MariaDB(t)
	mariaFixture(t, maria, "m2m_src", 3000)
	maria.CreateDB(t, "m2m_dst")
	src, dst := open(t, maria, "m2m_src"), open(t, maria, "m2m_dst")
	pairs := copyAll(t, src, dst, []string{"*"}, 1000)
	if d := verifyAll(t, src, dst, pairs, 1000); len(d) != 0 || len(pairs) != 3 {
		t.Fatalf("%d tables; verify found %v", len(pairs), d)
	}
	var a, b string
	c1, c2 := maria.MustOpen(t, "m2m_src"), maria.MustOpen(t, "m2m_dst")
	c1.QueryRow("SHOW CREATE TABLE awkward").Scan(&a, &a)
	c2.QueryRow("SHOW CREATE TABLE awkward").Scan(&b, &b)
	if a != b {
		t.Errorf("definitions differ:\n%s\n%s", a, b)
	}
}

func TestRefusals(t *testing.T) {
	maria, pg := dbtest.MariaDB(t), dbtest.Postgres(t)
	maria.CreateDB(t, "refuse")
	maria.MustExec(t, "refuse",
		"CREATE TABLE nokey (a INT, b INT)",
		"CREATE TABLE geo (id INT PRIMARY KEY, p POINT)",
		"CREATE TABLE ci (k VARCHAR(10) COLLATE utf8mb4_general_ci PRIMARY KEY)")
	pg.CreateDB(t, "refuse")
	src, dst := open(t, maria, "refuse"), open(t, pg, "refuse")
	ctx := context.Background()
	for table, want := range map[string]string{
		"nokey": "table nokey has no primary key",
		"geo":   "table geo column p: type point is not moved",
		"ci":    "table ci key column k: collation utf8mb4_general_ci",
		"nope":  "table nope: no such table",
	} {
		_, err := Resolve(ctx, src, dst, []string{table}, true)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", table, err, want)
		}
	}
	var n int
	pg.MustOpen(t, "refuse").QueryRow("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n)
	if n != 0 {
		t.Errorf("%d tables created in the destination by refused jobs", n)
	}
	// Connection errors say which.
	bad := endpoint(pg, "refuse")
	bad.SecretKey = "wrong-password"
	if _, err := Open(ctx, "dest", bad, 1); err == nil || !strings.Contains(err.Error(), "authentication failed for user") || strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("wrong password: %v", err)
	}
	bad = endpoint(maria, "nodb")
	if _, err := Open(ctx, "src", bad, 1); err == nil || !strings.Contains(err.Error(), "no such database \"nodb\"") {
		t.Errorf("missing database: %v", err)
	}
	bad = endpoint(pg, "refuse")
	bad.Domain = "127.0.0.1:1"
	if _, err := Open(ctx, "src", bad, 1); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("nothing listening: %v", err)
	}
}

// A chunk copied onto a destination that already holds rows of its range
// (an earlier attempt, rows written behind ferry's back) ends with the
// source's rows: different ones rewritten, extra ones kept and counted,
// or deleted with mirror.
func TestCopyOverExisting(t *testing.T) {
	pg := dbtest.Postgres(t)
	pg.CreateDB(t, "over_src")
	pg.CreateDB(t, "over_dst")
	pg.MustExec(t, "over_src", "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 100) i")
	pg.MustExec(t, "over_dst", "CREATE TABLE t (id int PRIMARY KEY, v text)",
		"INSERT INTO t VALUES (5, 'old'), (50, 'v50'), (1000, 'extra'), (-3, 'extra')")
	src, dst := open(t, pg, "over_src"), open(t, pg, "over_dst")
	ctx := context.Background()
	pairs, err := Resolve(ctx, src, dst, []string{"t"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, mirror := range []bool{false, true} {
		res, err := CopyChunk(ctx, src, dst, pairs[0], Chunk{Table: "t"}, CopyOptions{Mirror: mirror, Batch: 30})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]int{false: 2, true: 2}[mirror]; res.Extra != want || res.Rows != 100 {
			t.Errorf("mirror=%v: %+v, want 100 rows and %d extra", mirror, res, want)
		}
		var n int
		dbx := pg.MustOpen(t, "over_dst")
		dbx.QueryRow("SELECT count(*) FROM t").Scan(&n)
		if want := map[bool]int{false: 102, true: 100}[mirror]; n != want {
			t.Errorf("mirror=%v: %d rows at the destination, want %d", mirror, n, want)
		}
		var v string
		dbx.QueryRow("SELECT v FROM t WHERE id = 5").Scan(&v)
		if v != "v5" {
			t.Errorf("row 5 is %q", v)
		}
	}
}
