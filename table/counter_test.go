package table

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"ferry/internal/dbtest"
)

// TestCountersAdvance: after a copy of rows with their own identity,
// serial and AUTO_INCREMENT values, the destination's next insert that
// leaves the value to the table gets one past the largest copied (a
// PostgreSQL sequence exactly that; InnoDB may keep the source's gap
// above it), not a value a copied row holds; so it does after verify
// --repair wrote 200 rows the source gained above them all.
func TestCountersAdvance(t *testing.T) {
	pg := dbtest.Postgres(t)
	maria := dbtest.MariaDB(t)
	for _, tc := range []struct {
		name     string
		src, dst *dbtest.Server
		create   []string // on the source: t with 500 rows
		insert   string   // on the destination, the counter's value returned
		col      string   // the counter's column
	}{
		{"postgres_identity", pg, pg, []string{
			"CREATE TABLE t (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text)",
			"INSERT INTO t (v) SELECT 'v' || i FROM generate_series(1, 500) i"},
			"INSERT INTO t (v) VALUES ('next') RETURNING id", "id"},
		{"postgres_serial", pg, pg, []string{
			"CREATE TABLE t (k text PRIMARY KEY, n serial UNIQUE)",
			"INSERT INTO t (k) SELECT 'k' || lpad(i::text, 4, '0') FROM generate_series(1, 500) i"},
			"INSERT INTO t (k) VALUES ('next') RETURNING n", "n"},
		{"mariadb_to_postgres", maria, pg, []string{
			"CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))",
			"INSERT INTO t (v) SELECT CONCAT('v', seq) FROM seq_1_to_500"},
			"INSERT INTO t (v) VALUES ('next') RETURNING id", "id"},
		{"mariadb", maria, maria, []string{
			"CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))",
			"INSERT INTO t (v) SELECT CONCAT('v', seq) FROM seq_1_to_500"},
			"INSERT INTO t (v) VALUES ('next') RETURNING id", "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := "ctr_" + tc.name
			tc.src.CreateDB(t, db+"_src")
			tc.dst.CreateDB(t, db+"_dst")
			tc.src.MustExec(t, db+"_src", tc.create...)
			src, dst := open(t, tc.src, db+"_src"), open(t, tc.dst, db+"_dst")
			pairs := copyAll(t, src, dst, []string{"t"}, 200)
			next := func(c *sql.DB) int64 {
				t.Helper()
				var n int64
				if err := c.QueryRow(tc.insert).Scan(&n); err != nil {
					t.Fatalf("insert on the destination: %v", err)
				}
				return n
			}
			d, sc := tc.dst.MustOpen(t, db+"_dst"), tc.src.MustOpen(t, db+"_src")
			check := func(when string) {
				t.Helper()
				var top int64
				if err := sc.QueryRow("SELECT max(" + tc.col + ") FROM t").Scan(&top); err != nil {
					t.Fatal(err)
				}
				n := next(d)
				if _, err := d.Exec(fmt.Sprintf("DELETE FROM t WHERE %s = %d", tc.col, n)); err != nil { // the probe goes
					t.Fatal(err)
				}
				if n <= top || tc.dst.Engine == "postgres" && n != top+1 {
					t.Errorf("the destination's next value after the %s: %d, the largest copied %d", when, n, top)
				}
			}
			check("copy")
			// A row the repair writes above every value the counter gave.
			grow := "INSERT INTO t (v) SELECT 'x' FROM generate_series(1, 200)"
			if tc.name == "postgres_serial" {
				grow = "INSERT INTO t (k) SELECT 'z' || i FROM generate_series(1, 200) i"
			} else if tc.src.Engine == "mysql" {
				grow = "INSERT INTO t (v) SELECT 'x' FROM seq_1_to_200"
			}
			tc.src.MustExec(t, db+"_src", grow)
			v, err := VerifyChunk(ctx, src, dst, pairs[0], Chunk{Table: "t"}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var fix []Diff
			for _, df := range v.Diffs {
				if df.Kind == Missing {
					fix = append(fix, df)
				}
			}
			if _, _, err := Repair(ctx, src, dst, pairs[0], fix, false); err != nil || len(fix) != 200 {
				t.Fatalf("repair of %d missing rows: %v", len(fix), err)
			}
			check("repair")
		})
	}
}
