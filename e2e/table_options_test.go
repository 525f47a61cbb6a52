package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"ferry/internal/dbtest"
)

// TestTableDryRunAndThrottle: `submit --dry-run` of a table job lists
// each table with its estimated rows, its chunks and whether its
// destination table exists, and the totals, and writes nothing; then
// `run` with maxRowsPerSecond=1000 moves its 6,000 rows in no less than
// the 5.9 s the limit allows (a burst of a tenth of a second's rows
// aside), and the tables are equal.
func TestTableDryRunAndThrottle(t *testing.T) {
	pg := dbtest.Postgres(t)
	src, dst := tableSide{pg, "opt_src"}, tableSide{pg, "opt_dst"}
	src.srv.CreateDB(t, src.db)
	src.srv.MustExec(t, src.db,
		"CREATE TABLE big (id bigint PRIMARY KEY, v text)",
		"INSERT INTO big SELECT i, 'v' || i FROM generate_series(1, 4500) i",
		"CREATE TABLE small (a int, b text COLLATE \"C\", PRIMARY KEY (a, b))",
		"INSERT INTO small SELECT i % 3, 'k' || i FROM generate_series(1, 1500) i",
		"CREATE TABLE skipped (id int PRIMARY KEY)",
		"ANALYZE")
	dst.srv.CreateDB(t, dst.db)
	dst.srv.MustExec(t, dst.db, "CREATE TABLE small (a int, b text COLLATE \"C\", PRIMARY KEY (a, b))")
	h := newHome(t, "tables_opts")
	over := append(src.keys("src"), dst.keys("dest")...)
	over = append(over, kv{"tables", "big,small"}, kv{"tableChunkRows", "2000"}, kv{"maxRowsPerSecond", "1000"})
	h.writeJob(h.jobFile, over...)

	out := h.must(time.Minute, "submit", "--dry-run", h.jobFile)
	t.Logf("dry run:\n%s", out)
	for _, want := range []string{
		`(?m)^dry run of job \S+: .*opt_src.* -> .*opt_dst.* \(nothing written\)$`,
		`(?m)^  table +big +~4500 rows +3 chunks +destination: created at the start$`,
		`(?m)^  table +small +~1500 rows +1 chunks +destination: exists$`,
		`(?m)^  total +2 tables, ~6000 rows \(the engines' estimates\), ~4 chunks of 2000 rows$`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("dry run output lacks %s", want)
		}
	}
	if strings.Contains(out, "skipped") {
		t.Errorf("the dry run names a table the job does not move")
	}
	if got := dst.client(t, "SELECT count(*) FROM pg_tables WHERE tablename = 'big'"); got != "0\n" {
		t.Fatalf("the dry run created the destination table big (%q)", got)
	}
	if got := dst.client(t, "SELECT count(*) FROM small"); got != "0\n" {
		t.Fatalf("the dry run wrote %s rows", got)
	}

	start := time.Now()
	r := h.ferry(5*time.Minute, "run")
	took := time.Since(start)
	if r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	t.Logf("run of 6000 rows at maxRowsPerSecond=1000 took %s", took.Round(time.Millisecond))
	if took < 5900*time.Millisecond {
		t.Errorf("6000 rows moved in %s: faster than maxRowsPerSecond=1000 allows (5.9 s)", took)
	}
	for _, q := range []string{"SELECT big::text FROM big ORDER BY id", "SELECT small::text FROM small ORDER BY a, b"} {
		if a, b := src.client(t, q), dst.client(t, q); a != b || strings.Count(a, "\n") < 1500 {
			t.Errorf("%s: the tables differ (%d and %d rows)", q, strings.Count(a, "\n"), strings.Count(b, "\n"))
		}
	}
}
