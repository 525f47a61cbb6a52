package table

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"ferry/internal/dbtest"
)

// rowsOf is every row of q as one string, for comparing two databases.
func rowsOf(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var b strings.Builder
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// copyCompare copies table g from src to dst and verifies it (nothing may
// differ), then compares query q's rows on both sides, read by the
// engines' own drivers (a and b), and looks for row want among them.
func copyCompare(t *testing.T, what string, src, dst DB, a, b *sql.DB, q, want string) {
	t.Helper()
	pairs := copyAll(t, src, dst, []string{"g"}, 30)
	if d := verifyAll(t, src, dst, pairs, 30); len(d) != 0 {
		t.Errorf("%s: verify found %v", what, d)
	}
	if ra, rb := rowsOf(t, a, q), rowsOf(t, b, q); ra != rb || !strings.Contains(rb, want) {
		t.Errorf("%s: the destination's rows (generated columns computed there) differ from the source's, or lack %s:\n%s\nwant\n%s", what, want, rb, ra)
	}
}

// Generated columns are computed by the destination, not copied: a
// PostgreSQL table with stored generated columns (one indexed), and a
// MariaDB table with a VIRTUAL and a PERSISTENT one, are made at the
// destination with them and copied; the destination's computed values
// equal the source's, read by each engine's own client, and verify finds
// nothing. (These tables were refused before: "generated columns are not
// copied by ferry yet".)
func TestGeneratedColumns(t *testing.T) {
	pg, maria := dbtest.Postgres(t), dbtest.MariaDB(t)
	pg.CreateDB(t, "gen_src")
	pg.MustExec(t, "gen_src",
		`CREATE TABLE g (id int PRIMARY KEY, price numeric(10,2), total numeric(12,2) GENERATED ALWAYS AS (price * qty) STORED,
			qty int, note text, up text GENERATED ALWAYS AS (upper(note)) STORED)`,
		`CREATE INDEX g_total ON g (total)`,
		`INSERT INTO g (id, price, qty, note) SELECT i, i * 1.25, i % 7, CASE WHEN i % 5 = 0 THEN NULL ELSE 'n' || i END FROM generate_series(1, 200) i`)
	pg.CreateDB(t, "gen_dst")
	src, dst := open(t, pg, "gen_src"), open(t, pg, "gen_dst")
	copyCompare(t, "PostgreSQL", src, dst, pg.MustOpen(t, "gen_src"), pg.MustOpen(t, "gen_dst"),
		"SELECT id, price, total, qty, note, up FROM g ORDER BY id", "[{8 true} {10.00 true} {10.00 true} {1 true} {n8 true} {N8 true}]")
	var gen, idx int
	pg.MustOpen(t, "gen_dst").QueryRow(`SELECT count(*) FROM pg_attribute WHERE attrelid = 'g'::regclass AND attgenerated = 's'`).Scan(&gen)
	pg.MustOpen(t, "gen_dst").QueryRow(`SELECT count(*) FROM pg_indexes WHERE tablename = 'g' AND indexname = 'g_total'`).Scan(&idx)
	if gen != 2 || idx != 1 {
		t.Errorf("the destination table has %d generated columns and %d g_total index, want 2 and 1", gen, idx)
	}

	maria.CreateDB(t, "gen_msrc")
	maria.MustExec(t, "gen_msrc",
		"CREATE TABLE g (id INT PRIMARY KEY, a INT, b INT AS (a * 2) VIRTUAL, c VARCHAR(20) AS (CONCAT('x', a)) PERSISTENT, d INT, KEY by_c (c))",
		"INSERT INTO g (id, a, d) SELECT seq, seq % 11, seq FROM seq_1_to_200")
	maria.CreateDB(t, "gen_mdst")
	msrc, mdst := open(t, maria, "gen_msrc"), open(t, maria, "gen_mdst")
	mq := "SELECT id, a, b, c, d FROM g ORDER BY id"
	copyCompare(t, "MariaDB", msrc, mdst, maria.MustOpen(t, "gen_msrc"), maria.MustOpen(t, "gen_mdst"), mq, "[{10 true} {10 true} {20 true} {x10 true} {10 true}]")

	// MariaDB to PostgreSQL into a table made beforehand with its own
	// generated column: copied and verified.
	pg.CreateDB(t, "gen_m2p")
	pg.MustExec(t, "gen_m2p", `CREATE TABLE g (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a * 2) STORED,
		c varchar(20) GENERATED ALWAYS AS ('x' || a) STORED, d int)`)
	copyCompare(t, "MariaDB to PostgreSQL", msrc, open(t, pg, "gen_m2p"), maria.MustOpen(t, "gen_msrc"), pg.MustOpen(t, "gen_m2p"),
		mq, "[{10 true} {10 true} {20 true} {x10 true} {10 true}]")
}

// What ferry cannot do with generated columns is refused before a row
// moves, naming the table and column.
func TestGeneratedRefusals(t *testing.T) {
	pg, maria := dbtest.Postgres(t), dbtest.MariaDB(t)
	pg.CreateDB(t, "genr_src")
	pg.MustExec(t, "genr_src",
		`CREATE TABLE plain_dst (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a + 1) STORED)`,
		`CREATE TABLE gen_dst (id int PRIMARY KEY, a int, b int)`,
		`CREATE TABLE gkey (a int, b int GENERATED ALWAYS AS (a * 2) STORED, PRIMARY KEY (b))`,
		`CREATE TABLE tomy (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a + 1) STORED)`)
	pg.CreateDB(t, "genr_dst")
	pg.MustExec(t, "genr_dst",
		`CREATE TABLE plain_dst (id int PRIMARY KEY, a int, b int)`,
		`CREATE TABLE gen_dst (id int PRIMARY KEY, a int, b int GENERATED ALWAYS AS (a + 1) STORED)`)
	maria.CreateDB(t, "genr_msrc")
	maria.MustExec(t, "genr_msrc", "CREATE TABLE topg (id INT PRIMARY KEY, a INT, b INT AS (a + 1) VIRTUAL)")
	maria.CreateDB(t, "genr_mdst")
	src, dst := open(t, pg, "genr_src"), open(t, pg, "genr_dst")
	msrc, mdst := open(t, maria, "genr_msrc"), open(t, maria, "genr_mdst")
	for _, c := range []struct {
		src, dst DB
		table    string
		want     string
	}{
		{src, dst, "plain_dst", "table plain_dst column b: generated at the source, a plain column at the destination"},
		{src, dst, "gen_dst", "table gen_dst column b: generated at the destination but not at the source"},
		{src, dst, "gkey", "table gkey: its primary key gkey_pkey holds a generated column"},
		{src, mdst, "tomy", "table tomy column b: a generated column's expression is in PostgreSQL's SQL, which ferry does not translate"},
		{msrc, dst, "topg", "table topg column b: a generated column's expression is in MySQL's SQL, which ferry does not translate"},
	} {
		_, err := Resolve(context.Background(), c.src, c.dst, []string{c.table}, true)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("table %s: %v, want an error saying %q", c.table, err, c.want)
		}
	}
}
