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
// and '', binary keys ending in 0x00, 4-byte UTF-8, microseconds, 30-digit
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
