package table

import (
	"context"
	"strings"
	"testing"

	"ferry/internal/dbtest"
)

// TestPostgresToMariaDB copies PostgreSQL tables into MariaDB tables made
// beforehand with the matching types (a boolean into BOOLEAN, MariaDB's
// TINYINT(1)) and verifies them: nothing differs. A destination column
// whose values never compare equal to the source's, and a text key that
// sorts otherwise on the two sides, are refused before a row moves,
// naming the column.
func TestPostgresToMariaDB(t *testing.T) {
	pg, maria := dbtest.Postgres(t), dbtest.MariaDB(t)
	pg.CreateDB(t, "p2m_src")
	pg.MustExec(t, "p2m_src",
		`CREATE TABLE t (id int PRIMARY KEY, s varchar(20), x text, n numeric(30,10), ts timestamp(6), tz timestamptz, d date,
			b bytea, ok boolean, f real, g double precision, j json, big bigint)`,
		`INSERT INTO t VALUES (1, NULL, '', 0, '2024-02-29 23:59:59.123456', '2024-01-01 00:00:00.5+02', '2000-01-01', '\x00ff', true, 1.1, 0.1, '{"a":1}', 9007199254740993),
			(2, 'ab', 'it''s 😀', -12345678901234567890.1234567890, NULL, NULL, NULL, '\x', false, NULL, NULL, NULL, -1),
			(3, '', NULL, NULL, '0001-01-01 00:00:00', '1970-01-01 00:00:00+00', '9999-12-31', NULL, NULL, -3.4e38, 1.7976931348623157e308, '[]', 0)`,
		`CREATE TABLE k (name text COLLATE "C" PRIMARY KEY, v int)`,
		`INSERT INTO k VALUES ('B', 1), ('a', 2), ('b', 3), ('é', 4), ('a b', 5)`,
		`CREATE TABLE kl (name text COLLATE "en-x-icu" PRIMARY KEY)`,
		`CREATE TABLE wrong (id int PRIMARY KEY, v int)`)
	maria.CreateDB(t, "p2m_dst")
	maria.MustExec(t, "p2m_dst",
		`CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(20), x TEXT, n DECIMAL(30,10), ts DATETIME(6), tz DATETIME(6), d DATE,
			b BLOB, ok BOOLEAN, f FLOAT, g DOUBLE, j JSON, big BIGINT)`,
		`CREATE TABLE k (name VARCHAR(20) COLLATE utf8mb4_bin PRIMARY KEY, v INT)`,
		`CREATE TABLE kl (name VARCHAR(20) COLLATE utf8mb4_bin PRIMARY KEY)`,
		`CREATE TABLE wrong (id INT PRIMARY KEY, v VARCHAR(10))`)
	src, dst := open(t, pg, "p2m_src"), open(t, maria, "p2m_dst")
	pairs := copyAll(t, src, dst, []string{"t", "k"}, 2)
	if d := verifyAll(t, src, dst, pairs, 2); len(d) != 0 {
		t.Fatalf("verify found %v", d)
	}
	var ok string
	maria.MustOpen(t, "p2m_dst").QueryRow("SELECT GROUP_CONCAT(COALESCE(ok, 'n') ORDER BY id) FROM t").Scan(&ok)
	if ok != "1,0,n" {
		t.Errorf("the booleans landed as %s, want 1,0,n", ok)
	}
	// A differing value in the boolean column is found.
	maria.MustExec(t, "p2m_dst", "UPDATE t SET ok = 2 WHERE id = 1")
	if d := verifyAll(t, src, dst, pairs, 2); len(d) != 1 || d[0] != "DIFFERENT t/1" {
		t.Errorf("after ok = 2 at the destination, verify found %v, want DIFFERENT t/1", d)
	}
	for table, want := range map[string]string{
		"kl":    `table kl key column name: collation en-x-icu at the source and utf8mb4_bin at the destination do not both sort as bytes`,
		"wrong": `table wrong column v: the source's integer (number values) and the destination's varchar(10) (text values) never compare equal`,
	} {
		_, err := Resolve(context.Background(), src, dst, []string{table}, false)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("table %s: %v, want an error saying %q", table, err, want)
		}
	}
}
