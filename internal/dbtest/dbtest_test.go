package dbtest

import (
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

// TestServers starts both servers and checks each answers, with its
// version and a round trip through a database of its own.
func TestServers(t *testing.T) {
	for _, s := range []*Server{Postgres(t), MariaDB(t)} {
		db := s.CreateDB(t, "probe")
		s.MustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO t VALUES (1, 'x')")
		c := s.MustOpen(t, db)
		var v string
		if err := c.QueryRow("SELECT v FROM t WHERE id = 1").Scan(&v); err != nil || v != "x" {
			t.Fatalf("%s: read back %q, %v", s.Engine, v, err)
		}
		var ver string
		c.QueryRow("SELECT version()").Scan(&ver)
		t.Logf("%s %s on %s", s.Engine, ver, s.Addr())
	}
}

// TestCPU checks that a server's CPU reading grows with work it does.
func TestCPU(t *testing.T) {
	for _, s := range []*Server{Postgres(t), MariaDB(t)} {
		db := s.CreateDB(t, "cpu")
		before, err := s.CPU()
		if err != nil {
			t.Fatal(err)
		}
		q := "SELECT count(*) FROM generate_series(1, 20000000)"
		if s.Engine == "mysql" {
			q = "SELECT sum(seq % 7) FROM seq_1_to_20000000"
		}
		s.MustExec(t, db, q)
		after, err := s.CPU()
		if err != nil {
			t.Fatal(err)
		}
		if after-before < 100*time.Millisecond {
			t.Fatalf("%s: CPU %v then %v for a sum over 20,000,000 rows", s.Engine, before, after)
		}
		t.Logf("%s: %v for a sum over 20,000,000 rows", s.Engine, after-before)
	}
}
