package e2e

import (
	"strings"
	"testing"
	"time"

	"ferry/internal/dbtest"
)

// TestTableForeignKeys: `run` of three PostgreSQL tables into a
// destination made beforehand with their foreign keys (lines -> orders ->
// users, names in the reverse of their dependencies), in chunks of 500
// rows, 4 at a time: the run ends with exit 0 and the three tables equal.
// Without parents-first planning and the wait for referenced rows, the
// lines and orders chunks fail on their foreign keys.
func TestTableForeignKeys(t *testing.T) {
	pg := dbtest.Postgres(t)
	src, dst := tableSide{pg, "fk_src"}, tableSide{pg, "fk_dst"}
	schema := []string{
		"CREATE TABLE users (id int PRIMARY KEY, name text)",
		"CREATE TABLE orders (id int PRIMARY KEY, uid int NOT NULL REFERENCES users (id))",
		"CREATE TABLE lines (id int PRIMARY KEY, oid int NOT NULL REFERENCES orders (id), qty int)",
	}
	for _, s := range []tableSide{src, dst} {
		s.srv.CreateDB(t, s.db)
		s.srv.MustExec(t, s.db, schema...)
	}
	src.srv.MustExec(t, src.db,
		"INSERT INTO users SELECT i, 'u' || i FROM generate_series(1, 3000) i",
		"INSERT INTO orders SELECT i, 3001 - i FROM generate_series(1, 3000) i",
		"INSERT INTO lines SELECT i, 1 + (i * 7) % 3000, i % 5 FROM generate_series(1, 3000) i")
	h := newHome(t, "tables_fk")
	h.writeSys(kv{"workerMaxTaskNum", "4"})
	over := append(src.keys("src"), dst.keys("dest")...)
	h.writeJob(h.jobFile, append(over, kv{"tables", "*"}, kv{"tableChunkRows", "500"})...)
	if r := h.ferry(5*time.Minute, "run"); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	for _, q := range []string{"SELECT users::text FROM users ORDER BY id", "SELECT orders::text FROM orders ORDER BY id",
		"SELECT lines::text FROM lines ORDER BY id"} {
		if a, b := src.client(t, q), dst.client(t, q); a != b || strings.Count(a, "\n") != 3000 {
			t.Errorf("%s: the tables differ (%d and %d rows)", q, strings.Count(a, "\n"), strings.Count(b, "\n"))
		}
	}
}
