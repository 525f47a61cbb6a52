package table

import (
	"testing"

	"ferry/internal/dbtest"
)

// A PostgreSQL table made from a PostgreSQL one gets its CHECK
// constraints, with the same definitions, but not one the source never
// validated, which its rows break (the copy would fail on them); the rows
// then land and verify.
func TestPostgresChecksCarried(t *testing.T) {
	pg := dbtest.Postgres(t)
	pg.CreateDB(t, "chk_src")
	pg.MustExec(t, "chk_src",
		`CREATE TABLE c (id int PRIMARY KEY, qty int CONSTRAINT qty_positive CHECK (qty >= 0), a int, b int, CHECK (a < b))`,
		`INSERT INTO c SELECT i, i, -i, i FROM generate_series(1, 100) i`,
		`ALTER TABLE c ADD CONSTRAINT small_a CHECK (a > -50) NOT VALID`)
	pg.CreateDB(t, "chk_dst")
	src, dst := open(t, pg, "chk_src"), open(t, pg, "chk_dst")
	pairs := copyAll(t, src, dst, []string{"c"}, 30)
	if d := verifyAll(t, src, dst, pairs, 30); len(d) != 0 {
		t.Errorf("verify found %v", d)
	}
	q := `SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'c'::regclass AND contype = 'c' ORDER BY conname`
	b := rowsOf(t, pg.MustOpen(t, "chk_dst"), q)
	if want := "[{c_check true} {CHECK ((a < b)) true}]\n[{qty_positive true} {CHECK ((qty >= 0)) true}]\n"; b != want {
		t.Errorf("the destination's CHECK constraints:\n%s\nwant\n%s", b, want)
	}
}
