package e2e

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/internal/dbtest"
)

// tableRows is the size of the big table of the table acceptance tests:
// 1,000,000 as the issue asks, or FERRY_TABLE_ROWS.
func tableRows(t *testing.T) int {
	if v := os.Getenv("FERRY_TABLE_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("FERRY_TABLE_ROWS=%q: %v", v, err)
		}
		return n
	}
	return 1_000_000
}

// tableSide is one database of a table test.
type tableSide struct {
	srv *dbtest.Server
	db  string
}

func (s tableSide) conn(t *testing.T) *sql.DB { return s.srv.MustOpen(t, s.db) }

// keys are the job.cfg keys naming the side.
func (s tableSide) keys(role string) []kv {
	return []kv{{role + "Type", s.srv.Engine}, {role + "Domain", s.srv.Addr()}, {role + "Bucket", s.db},
		{role + "AccessKey", s.srv.User}, {role + "SecretKey", s.srv.Password}, {role + "Prefix", ""}}
}

// client runs the engine's own command-line client (psql, mariadb) with
// query and returns its output: one line a row, tab-separated, NULL as
// NULL. The password goes in the environment.
func (s tableSide) client(t *testing.T, query string) string {
	t.Helper()
	var cmd *exec.Cmd
	if s.srv.Engine == "postgres" {
		cmd = exec.Command("psql", "-X", "-q", "-At", "-F", "\t", "-P", "null=NULL", "-v", "ON_ERROR_STOP=1",
			"-h", s.srv.Host, "-p", strconv.Itoa(s.srv.Port), "-U", s.srv.User, "-d", s.db, "-c", query)
		cmd.Env = append(os.Environ(), "PGPASSWORD="+s.srv.Password, "PGTZ=UTC")
	} else {
		cmd = exec.Command("mariadb", "--no-defaults", "-N", "-B", "-h", s.srv.Host, "-P", strconv.Itoa(s.srv.Port),
			"-u", s.srv.User, s.db, "-e", "SET time_zone = '+00:00'; "+query)
		cmd.Env = append(os.Environ(), "MYSQL_PWD="+s.srv.Password)
	}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v: %s", cmd.Args[0], err, out)
	}
	return string(out)
}

// tableFixture makes the three tables at the source: big (n
// rows), comp (a composite key), awkward (NULL and ”, binary keys ending
// in 0x00, 4-byte UTF-8, microseconds, 30-digit decimals).
func tableFixture(t *testing.T, s tableSide, n int) {
	t.Helper()
	s.srv.CreateDB(t, s.db)
	if s.srv.Engine == "mysql" {
		s.srv.MustExec(t, s.db,
			"CREATE TABLE big (id BIGINT PRIMARY KEY, v VARCHAR(40) NOT NULL, x INT)",
			fmt.Sprintf("INSERT INTO big SELECT seq, CONCAT('row-', seq), seq %% 97 FROM seq_1_to_%d", n),
			"CREATE TABLE comp (a INT NOT NULL, b VARCHAR(20) COLLATE utf8mb4_bin NOT NULL, v INT, PRIMARY KEY (a, b))",
			"INSERT INTO comp SELECT seq % 7, CONCAT('k', seq), seq FROM seq_1_to_3000",
			`CREATE TABLE awkward (k VARBINARY(16) NOT NULL PRIMARY KEY, s VARCHAR(50) NULL, t TEXT, n INT NULL,
				d DECIMAL(40,10), f FLOAT, g DOUBLE, ts DATETIME(6), tz TIMESTAMP(6) NULL DEFAULT NULL, dt DATE,
				b BLOB, j JSON, e ENUM('a','b'), u BIGINT UNSIGNED)`,
			`INSERT INTO awkward VALUES
				(x'00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
				(x'0000', '', '', 0, 0, 0, 0, '1970-01-01 00:00:00', '1970-01-01 00:00:01', '1000-01-01', x'', '{}', 'a', 0),
				(x'01', 'tab here', 'new line', -2147483648, '12345678901234567890.1234567890', 1.1, 0.1,
				 '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07.999999', '9999-12-31', x'00ff00', '{"b": 1, "a": [1.50, "x"]}', 'b', 18446744073709551615),
				(x'0100', '😀 4-byte', 'ümlaut 𝄞', 2147483647, '-0.0000000001', -3.4e38, 1.7976931348623157e308,
				 '0001-01-01 00:00:00.000001', NULL, '2000-01-01', x'000000', 'null', NULL, 1),
				(x'6100', 'a', 'it''s', 7, '99999999999999999999999999999.9999999999', 16777217, 2.5e-300,
				 '2024-01-01 00:00:00.5', '2024-01-01 00:00:00.5', NULL, x'', '[]', 'a', NULL)`)
		return
	}
	s.srv.MustExec(t, s.db,
		"CREATE TABLE big (id bigint PRIMARY KEY, v varchar(40) NOT NULL, x int)",
		fmt.Sprintf("INSERT INTO big SELECT i, 'row-' || i, i %% 97 FROM generate_series(1, %d) i", n),
		"CREATE TABLE comp (a int NOT NULL, b varchar(20) COLLATE \"C\" NOT NULL, v int, PRIMARY KEY (a, b))",
		"INSERT INTO comp SELECT i % 7, 'k' || i, i FROM generate_series(1, 3000) i",
		`CREATE TABLE awkward (k bytea PRIMARY KEY, s varchar(50), t text, n int, d numeric(40,10), f real,
			g double precision, ts timestamp(6), tz timestamptz(6), dt date, b bytea, j jsonb, e text, u numeric(20))`,
		`INSERT INTO awkward VALUES
			('\x00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
			('\x0000', '', '', 0, 0, 0, 0, '1970-01-01 00:00:00', '1970-01-01 00:00:01+00', '1000-01-01', '\x', '{}', 'a', 0),
			('\x01', 'tab here', 'new line', -2147483648, '12345678901234567890.1234567890', 1.1, 0.1,
			 '2024-02-29 23:59:59.123456', '2038-01-19 03:14:07.999999+00', '9999-12-31', '\x00ff00', '{"b": 1, "a": [1.50, "x"]}', 'b', 18446744073709551615),
			('\x0100', '😀 4-byte', 'ümlaut 𝄞', 2147483647, '-0.0000000001', -3.4e38, 1.7976931348623157e308,
			 '0001-01-01 00:00:00.000001', NULL, '2000-01-01', '\x000000', 'null', NULL, 1),
			('\x6100', 'a', 'it''s', 7, '99999999999999999999999999999.9999999999', 16777217, 2.5e-300,
			 '2024-01-01 00:00:00.5', '2024-01-01 00:00:00.5+00', NULL, '\x', '[]', 'a', NULL)`)
}

// dumpQueries are, per table, a query for each engine's client that
// prints the table in key order in one form: text as the hex of its
// UTF-8, binary as hex, decimals and timestamps (UTC, microseconds) as
// text, NULL as NULL. (Floats are left to ferry's bit-exact digest: the
// clients print them differently.)
var dumpQueries = map[string][2]string{ // table: {mysql, postgres}
	"big": {"SELECT id, HEX(v), x FROM big ORDER BY id",
		"SELECT id, upper(encode(convert_to(v, 'UTF8'), 'hex')), x FROM big ORDER BY id"},
	"comp": {"SELECT a, HEX(b), v FROM comp ORDER BY a, b",
		"SELECT a, upper(encode(convert_to(b, 'UTF8'), 'hex')), v FROM comp ORDER BY a, b"},
	"awkward": {
		"SELECT HEX(k), HEX(s), HEX(t), n, CAST(d AS CHAR), DATE_FORMAT(ts, '%Y-%m-%d %H:%i:%s.%f'), " +
			"DATE_FORMAT(tz, '%Y-%m-%d %H:%i:%s.%f'), CAST(dt AS CHAR), HEX(b), j, e, CAST(u AS CHAR) FROM awkward ORDER BY k",
		"SELECT upper(encode(k, 'hex')), upper(encode(convert_to(s, 'UTF8'), 'hex')), upper(encode(convert_to(t, 'UTF8'), 'hex')), n, d::text, " +
			"to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US'), to_char(tz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), dt::text, " +
			"upper(encode(b, 'hex')), j::text, e, u::text FROM awkward ORDER BY k"},
}

// sameTables compares the three tables at both sides with the engines'
// own clients.
func sameTables(t *testing.T, src, dst tableSide, wantBig int) {
	t.Helper()
	for _, table := range []string{"big", "comp", "awkward"} {
		q := func(s tableSide) string {
			key := map[string]string{"big": "id", "comp": "a, b", "awkward": "k"}[table]
			if src.srv.Engine == "postgres" { // PostgreSQL to PostgreSQL: every column as PostgreSQL prints it
				return "SELECT " + table + "::text FROM " + table + " ORDER BY " + key
			}
			if dst.srv.Engine == "mysql" { // MariaDB to MariaDB: every column as the client prints it
				return "SELECT * FROM " + table + " ORDER BY " + key
			}
			if s.srv.Engine == "mysql" {
				return dumpQueries[table][0]
			}
			return dumpQueries[table][1]
		}
		a, b := src.client(t, q(src)), dst.client(t, q(dst))
		if table == "big" && strings.Count(a, "\n") != wantBig {
			t.Fatalf("source big has %d rows, want %d", strings.Count(a, "\n"), wantBig)
		}
		if sha256.Sum256([]byte(a)) != sha256.Sum256([]byte(b)) {
			al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
			for i := range min(len(al), len(bl)) {
				if al[i] != bl[i] {
					t.Fatalf("table %s differs at row %d (of %d and %d):\n  source %q\n  dest   %q", table, i+1, len(al)-1, len(bl)-1, al[i], bl[i])
				}
			}
			t.Fatalf("table %s: %d rows at the source, %d at the destination", table, len(al)-1, len(bl)-1)
		}
		if table == "awkward" {
			t.Logf("awkward as the clients print it:\n%s", a)
		}
	}
}

var diffLine = regexp.MustCompile(`(?m)^(MISSING|DIFFERENT|EXTRA) +(\S+?)(:.*)?$`)

// verifyFindings returns the "KIND table/pk" lines of a verify's output.
func verifyFindings(out string) []string {
	var found []string
	for _, m := range diffLine.FindAllStringSubmatch(out, -1) {
		found = append(found, m[1]+" "+m[2])
	}
	sort.Strings(found)
	return found
}

func TestTableMariaDBToPostgres(t *testing.T) {
	tableAcceptance(t, tableSide{dbtest.MariaDB(t), "accept_m2p"}, tableSide{dbtest.Postgres(t), "accept_m2p"})
}

// TestTableMariaDBKilled: MariaDB to MariaDB, where chunks move as text
// (table/myraw.go), a run killed with SIGKILL during the copy, then run
// again: equal tables, every column compared with the mariadb client, and
// each chunk one OK line.
func TestTableMariaDBKilled(t *testing.T) {
	my := dbtest.MariaDB(t)
	src, dst := tableSide{my, "kill_m2m_src"}, tableSide{my, "kill_m2m_dst"}
	n := max(tableRows(t)/5, 100_000)
	tableFixture(t, src, n)
	dst.srv.CreateDB(t, dst.db)
	h := newHome(t, "tables")
	over := append(src.keys("src"), dst.keys("dest")...)
	over = append(over, kv{"tables", "big,comp,awkward"}, kv{"tableChunkRows", "20000"})
	h.writeJob(h.jobFile, over...)
	h.writeSys(kv{"taskLeaseSeconds", "5"})
	killThenRun(t, h, src, dst, n)
}

func TestTablePostgresToPostgres(t *testing.T) {
	pg := dbtest.Postgres(t)
	tableAcceptance(t, tableSide{pg, "accept_p2p_src"}, tableSide{pg, "accept_p2p_dst"})
}

// tableAcceptance is the acceptance test of a table job from src
// to dst (PostgreSQL): a run killed with SIGKILL during the copy, then
// run again: equal tables (compared with the engines' own clients), each
// chunk one OK line; 37 rows changed, deleted or added at the destination
// behind ferry's back: verify names exactly those, verify --repair fixes
// them, the next verify finds nothing; a writer changing 200 rows a second
// on both sides (dual writes) during verify: no false difference.
func tableAcceptance(t *testing.T, src, dst tableSide) {
	n := tableRows(t)
	start := time.Now()
	tableFixture(t, src, n)
	dst.srv.CreateDB(t, dst.db)
	t.Logf("fixture of %d rows made in %s", n, time.Since(start).Round(time.Millisecond))
	h := newHome(t, "tables")
	over := append(src.keys("src"), dst.keys("dest")...)
	over = append(over, kv{"tables", "big,comp,awkward"}, kv{"tableChunkRows", "20000"}, kv{"mirror", "true"})
	h.writeJob(h.jobFile, over...)
	h.writeSys(kv{"taskLeaseSeconds", "5"})

	killThenRun(t, h, src, dst, n)

	// 37 rows changed behind ferry's back.
	var want []string
	chg := dst.conn(t)
	exec := func(q string, args ...any) {
		if _, err := chg.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for i := range 12 {
		id := 1 + i*(n/12)
		exec("UPDATE big SET v = 'changed' WHERE id = $1", id)
		want = append(want, fmt.Sprintf("DIFFERENT big/%d", id))
	}
	for i := range 10 {
		id := 7 + i*(n/10)
		exec("DELETE FROM big WHERE id = $1", id)
		want = append(want, fmt.Sprintf("MISSING big/%d", id))
	}
	for i := range 5 {
		exec("INSERT INTO big VALUES ($1, 'extra', 0)", n+100+i)
		want = append(want, fmt.Sprintf("EXTRA big/%d", n+100+i))
	}
	for i := range 5 {
		exec("UPDATE comp SET v = -1 WHERE a = $1 AND b = $2", (i+1)%7, fmt.Sprintf("k%d", i+1))
		want = append(want, fmt.Sprintf("DIFFERENT comp/(%d,'k%d')", (i+1)%7, i+1))
	}
	exec(`UPDATE awkward SET s = '' WHERE k = '\x00'`)       // NULL becomes ''
	exec(`UPDATE awkward SET s = NULL WHERE k = '\x0000'`)   // '' becomes NULL
	exec(`UPDATE awkward SET b = '\x00ff' WHERE k = '\x01'`) // a trailing 0x00 lost
	exec(`DELETE FROM awkward WHERE k = '\x0100'`)           //
	exec(`INSERT INTO awkward (k) VALUES ('\x610000')`)      // a key that differs by a trailing 0x00
	want = append(want, "DIFFERENT awkward/x'00'", "DIFFERENT awkward/x'0000'", "DIFFERENT awkward/x'01'",
		"MISSING awkward/x'0100'", "EXTRA awkward/x'610000'")
	sort.Strings(want)
	if len(want) != 37 {
		t.Fatalf("%d changes, want 37", len(want))
	}
	r := h.ferry(10*time.Minute, "verify", "tables")
	if got := verifyFindings(r.stdout); r.code != 1 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("verify after 37 changes: exit %d, found %d:\n%s\nwant:\n%s\n%s", r.code, len(got), strings.Join(got, "\n"), strings.Join(want, "\n"), r)
	}
	r = h.ferry(10*time.Minute, "verify", "tables", "--repair")
	if r.code != 0 {
		t.Fatalf("verify --repair: %s", r)
	}
	t.Logf("verify --repair:\n%s", r.stdout)
	r = h.ferry(10*time.Minute, "verify", "tables")
	if got := verifyFindings(r.stdout); r.code != 0 || len(got) != 0 {
		t.Fatalf("verify after the repair: %s", r)
	}
	sameTables(t, src, dst, n)

	// A writer changing 200 rows a second at both sides during verify, as
	// an application with dual writes does: each change reaches the
	// destination 200 ms after the source (so verify can read a row
	// between the two), and the writer changes the big table's rows and
	// comp's.
	sc, dc := src.conn(t), dst.conn(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes int
	type change struct {
		due   time.Time
		table string
		x, id int
	}
	lagged := make(chan change, 1000)
	q := map[string]string{"mysql": "UPDATE %s SET %s = ? WHERE %s = ?", "postgres": "UPDATE %s SET %s = $1 WHERE %s = $2"}
	stmt := func(engine, table string) string {
		if table == "big" {
			return fmt.Sprintf(q[engine], "big", "x", "id")
		}
		return fmt.Sprintf(q[engine], "comp", "v", "v")
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		for c := range lagged {
			time.Sleep(time.Until(c.due))
			if _, err := dc.Exec(stmt("postgres", c.table), c.x, c.id); err != nil {
				t.Errorf("writer at the destination: %v", err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		defer close(lagged)
		// 200 rows a second: each tick writes as many as the clock is owed.
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		begin := time.Now()
		for i := 0; ; i++ {
			if float64(writes) >= 200*time.Since(begin).Seconds() {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				continue
			}
			c := change{table: "big", id: 1 + rand.IntN(n), x: 1000 + i}
			if i%10 == 0 { // comp's v is unique: move one row's v far away and back
				c = change{table: "comp", id: 1 + rand.IntN(3000), x: 1_000_000 + i}
			}
			if _, err := sc.Exec(stmt(src.srv.Engine, c.table), c.x, c.id); err != nil {
				t.Errorf("writer at the source: %v", err)
				return
			}
			c.due = time.Now().Add(200 * time.Millisecond)
			lagged <- c
			writes++
		}
	}()
	r = h.ferry(10*time.Minute, "verify", "tables")
	close(stop)
	wg.Wait()
	t.Logf("verify during %d dual writes (%.0f/s):\n%s", writes, float64(writes)/r.took.Seconds(), r.stdout)
	if got := verifyFindings(r.stdout); r.code != 0 || len(got) != 0 {
		t.Fatalf("verify while a writer changes both sides: %s", r)
	}
	// The writer did catch verify between the two sides: rows that
	// differed when read, equal when read again.
	if !regexp.MustCompile(`(?m)^  settled   [1-9]`).MatchString(r.stdout) {
		t.Errorf("verify met no row that the writer had changed at the source only: the test did not test re-reads")
	}
}

// killThenRun runs the job of h (tables big, comp and awkward, chunks of
// 20,000 rows), kills it with SIGKILL once a fifth of big reached dst,
// runs it again to the end, and checks the tables are equal (with the
// engines' own clients) and each chunk has exactly one OK line.
func killThenRun(t *testing.T, h *home, src, dst tableSide, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bg := h.background(ctx, "run")
	dc := dst.conn(t)
	for killed := false; !killed; {
		var got int
		if err := dc.QueryRow("SELECT count(*) FROM big").Scan(&got); err == nil && got > n/5 {
			bg.cmd.Process.Kill()
			t.Logf("run killed with SIGKILL at %d rows of big copied", got)
			killed = true
		}
		select {
		case err := <-bg.exited:
			if !killed {
				t.Fatalf("run ended before it could be killed (%v):\n%s", err, bg.out.String())
			}
			bg.exited <- err
		case <-time.After(50 * time.Millisecond):
		}
	}
	<-bg.exited
	start := time.Now()
	r := h.ferry(10*time.Minute, "run")
	if r.code != 0 {
		t.Fatalf("run after the kill: %s", r)
	}
	t.Logf("run after the kill in %s:\n%s", time.Since(start).Round(time.Millisecond), r.stdout)
	sameTables(t, src, dst, n)
	// Each chunk one OK line.
	oks := keyCounts(h.attempts(), "OK")
	wantChunks := (n+19999)/20000 + 2
	if n%20000 == 0 {
		wantChunks++ // the last bound has no row after it: an empty open chunk
	}
	for k, c := range oks {
		if c != 1 {
			t.Errorf("chunk %s: %d OK lines", k, c)
		}
	}
	if len(oks) < wantChunks-1 || len(oks) > wantChunks {
		t.Errorf("%d chunks with an OK line, want about %d: %v", len(oks), wantChunks, oks)
	}
}
