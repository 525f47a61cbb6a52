package table

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"ferry/internal/dbtest"
)

// TestServerSplit measures, for the bench's table (FERRY_BENCH_TABLES=1;
// FERRY_BENCH_TABLES_ROWS rows, 1,000,000 by default), how much of the
// server's CPU a same-engine copy spends on each of its parts: the plan,
// the copy of every chunk with its check (four at a time, in the plan's
// order, as four worker slots lease them), the check's read-back alone
// and the source's read alone. It asserts nothing but that each part ran;
// its figures go to bench/RESULTS.md.
func TestServerSplit(t *testing.T) {
	if os.Getenv("FERRY_BENCH_TABLES") == "" {
		t.Skip("the server split runs with FERRY_BENCH_TABLES=1")
	}
	rows := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_TABLES_ROWS")); err == nil && n > 0 {
		rows = n
	}
	chunkRows := 20000
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_TABLES_CHUNK")); err == nil && n > 0 {
		chunkRows = n
	}
	workers := 4
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_SPLIT_WORKERS")); err == nil && n > 0 {
		workers = n
	}
	ctx := context.Background()
	for _, eng := range []string{"mysql", "postgres"} {
		if only := os.Getenv("FERRY_BENCH_SPLIT_ONLY"); only != "" && only != eng {
			continue
		}
		t.Run(eng, func(t *testing.T) {
			var s *dbtest.Server
			if eng == "mysql" {
				s = dbtest.MariaDB(t)
				s.CreateDB(t, "split_src")
				s.MustExec(t, "split_src", "CREATE TABLE big (id BIGINT PRIMARY KEY, v VARCHAR(40) NOT NULL, x INT, d DECIMAL(12,2), at DATETIME(6))",
					fmt.Sprintf("INSERT INTO big SELECT seq, CONCAT('row-', seq), seq %% 97, seq / 100, '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_%d", rows),
					"ANALYZE TABLE big")
			} else {
				s = dbtest.Postgres(t)
				s.CreateDB(t, "split_src")
				s.MustExec(t, "split_src", "CREATE TABLE big (id bigint PRIMARY KEY, v varchar(40) NOT NULL, x int, d numeric(12,2), at timestamp(6))",
					fmt.Sprintf("INSERT INTO big SELECT i, 'row-' || i, i %% 97, i / 100.0, '2024-01-01'::timestamp + i * interval '1 second' FROM generate_series(1, %d) i", rows),
					"VACUUM ANALYZE big")
			}
			s.CreateDB(t, "split_dst")
			if eng == "postgres" && os.Getenv("FERRY_BENCH_SPLIT_AUTOVACUUM") == "" {
				// autovacuum's vacuum and analyze of each new table would
				// fall into whichever phase runs then.
				s.MustExec(t, "split_dst", "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()")
				t.Cleanup(func() { s.MustExec(t, "split_dst", "ALTER SYSTEM RESET autovacuum", "SELECT pg_reload_conf()") })
			}
			src, dst := open(t, s, "split_src"), open(t, s, "split_dst")
			pairs, err := Resolve(ctx, src, dst, []string{"big"}, true)
			if err != nil {
				t.Fatal(err)
			}
			p := pairs[0]
			cpu := func() time.Duration {
				time.Sleep(300 * time.Millisecond) // exited backends reaped
				d, err := s.CPU()
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			phase := func(name string, fn func()) {
				c0, t0 := cpu(), time.Now()
				fn()
				wall := time.Since(t0)
				t.Logf("%s %s: server %.2f CPU-s, %.2f s", eng, name, (cpu() - c0).Seconds(), wall.Seconds())
			}
			var chunks []Chunk
			phase("plan", func() {
				err := Plan(ctx, src, pairs, chunkRows, "", func(c Chunk) error { chunks = append(chunks, c); return nil })
				if err != nil {
					t.Fatal(err)
				}
			})
			each := func(fn func(c Chunk) error) {
				ch := make(chan Chunk)
				var wg sync.WaitGroup
				var mu sync.Mutex
				var first error
				for range workers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for c := range ch {
							if err := fn(c); err != nil {
								mu.Lock()
								first = err
								mu.Unlock()
							}
						}
					}()
				}
				for _, c := range chunks {
					ch <- c
				}
				close(ch)
				wg.Wait()
				if first != nil {
					t.Fatal(first)
				}
			}
			phase(fmt.Sprintf("copy and check of %d chunks", len(chunks)), func() {
				if out := os.Getenv("FERRY_BENCH_SPLIT_PERF"); out != "" { // perf record of the server during the copy
					perf := exec.Command("perf", "record", "-F", "499", "-g", "-o", out, "-p", strconv.Itoa(s.PID()))
					if err := perf.Start(); err != nil {
						t.Fatal(err)
					}
					defer func() { perf.Process.Signal(os.Interrupt); perf.Wait() }()
				}
				each(func(c Chunk) error { _, err := CopyChunk(ctx, src, dst, p, c, CopyOptions{}); return err })
			})
			read := func(d DB, s *Schema) func(c Chunk) error {
				return func(c Chunk) error {
					if pg, ok := d.(*postgres); ok {
						return pg.copyOut(ctx, s, c.Lo, c.Hi, copyFormat(s), sha256.New())
					}
					h := newRawHash()
					return d.(*mysqlDB).rawRows(ctx, s, c.Lo, c.Hi, func(v []sql.RawBytes) error { h.add(v); return nil })
				}
			}
			if eng == "postgres" {
				var size string
				c := s.MustOpen(t, "split_dst")
				c.QueryRow("SELECT pg_size_pretty(pg_relation_size('big_pkey'))").Scan(&size)
				t.Logf("postgres key index after the copy: %s", size)
			}
			phase("check's read-back alone", func() { each(read(dst, p.Dst)) })
			phase("source's read alone", func() { each(read(src, p.Src)) })
			s.CreateDB(t, "split_dump")
			phase("dump and restore", func() {
				script := fmt.Sprintf("mariadb-dump --no-defaults -h %s -P %d -u %s split_src big | mariadb --no-defaults -h %s -P %d -u %s split_dump",
					s.Host, s.Port, s.User, s.Host, s.Port, s.User)
				env := "MYSQL_PWD=" + s.Password
				if eng == "postgres" {
					script = fmt.Sprintf("pg_dump -h %s -p %d -U %s -t big --no-owner split_src | psql -q -X -v ON_ERROR_STOP=1 -h %s -p %d -U %s split_dump >/dev/null",
						s.Host, s.Port, s.User, s.Host, s.Port, s.User)
					env = "PGPASSWORD=" + s.Password
				}
				cmd := exec.Command("bash", "-o", "pipefail", "-c", script)
				cmd.Env = append(os.Environ(), env)
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", script, err, out)
				}
			})
		})
	}
}
