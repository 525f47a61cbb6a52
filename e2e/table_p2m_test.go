package e2e

import (
	"strings"
	"testing"
	"time"

	"ferry/internal/dbtest"
)

// TestTablePostgresToMariaDB: `run` of two PostgreSQL tables into a
// MariaDB database that has neither: both are made and filled, and the
// mariadb client reads every row as psql reads it at the source; `verify`
// then exits 0, and after a boolean is changed at the destination, exits
// 1 naming that row.
func TestTablePostgresToMariaDB(t *testing.T) {
	src, dst := tableSide{dbtest.Postgres(t), "p2m_src"}, tableSide{dbtest.MariaDB(t), "p2m_dst"}
	src.srv.CreateDB(t, src.db)
	src.srv.MustExec(t, src.db,
		`CREATE TABLE accounts (id bigserial PRIMARY KEY, owner varchar(40) NOT NULL, active boolean NOT NULL DEFAULT true,
			balance numeric(14,2), opened timestamp(6))`,
		`INSERT INTO accounts (owner, active, balance, opened) SELECT 'owner ' || i, i % 3 <> 0, i * 10.5,
			'2020-01-01'::timestamp + i * interval '1 minute 1.5 second' FROM generate_series(1, 5000) i`,
		`CREATE TABLE codes (code text COLLATE "C" PRIMARY KEY, label text)`,
		`INSERT INTO codes SELECT 'C' || i, 'label ' || i FROM generate_series(1, 300) i`)
	dst.srv.CreateDB(t, dst.db)
	h := newHome(t, "tables_p2m")
	over := append(src.keys("src"), dst.keys("dest")...)
	h.writeJob(h.jobFile, append(over, kv{"tables", "accounts,codes"}, kv{"tableChunkRows", "1000"})...)
	if r := h.ferry(5*time.Minute, "run"); r.code != 0 {
		t.Fatalf("run: %s", r)
	}
	for _, q := range [][2]string{
		{"SELECT id, owner, CASE WHEN active THEN 1 ELSE 0 END, balance, to_char(opened, 'YYYY-MM-DD HH24:MI:SS.US') FROM accounts ORDER BY id",
			"SELECT id, owner, active, balance, DATE_FORMAT(opened, '%Y-%m-%d %H:%i:%s.%f') FROM accounts ORDER BY id"},
		{"SELECT code, label FROM codes ORDER BY code", "SELECT code, label FROM codes ORDER BY code"},
	} {
		a, b := src.client(t, q[0]), dst.client(t, q[1])
		if a != b || strings.Count(a, "\n") < 300 {
			t.Errorf("%s: the tables differ (%d and %d rows)\n%.200s\n%.200s", q[1], strings.Count(a, "\n"), strings.Count(b, "\n"), a, b)
		}
	}
	if r := h.ferry(5*time.Minute, "verify", h.job); r.code != 0 {
		t.Fatalf("verify: %s", r)
	}
	dst.srv.MustExec(t, dst.db, "UPDATE accounts SET active = NOT active WHERE id = 42")
	r := h.ferry(5*time.Minute, "verify", h.job)
	if got := verifyFindings(r.stdout); r.code != 1 || strings.Join(got, ",") != "DIFFERENT accounts/42" {
		t.Fatalf("after a change at the destination, verify exit %d found %v, want 1 and DIFFERENT accounts/42\n%s", r.code, got, r)
	}
}
