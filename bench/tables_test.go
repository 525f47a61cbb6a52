package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"ferry/internal/dbtest"
)

// TestTables measures ferry's table copy (rows per second, its
// per-chunk verification on) against the engines' own dump and restore of
// the same table in the same run: pg_dump | psql for PostgreSQL to
// PostgreSQL, mariadb-dump | mariadb for MariaDB to MariaDB, and ferry
// alone for MariaDB to PostgreSQL. It runs only with FERRY_BENCH_TABLES=1;
// FERRY_BENCH_TABLES_ROWS sets the rows (default 1,000,000) and
// FERRY_BENCH_TABLES_RUNS the runs of each tool (default 3; medians are
// reported); FERRY_BENCH_TABLES_ONLY keeps one pair's tools, by its name in
// the table (as "PostgreSQL -> PostgreSQL"); FERRY_BENCH_TABLES_BASE, the
// path of another ferry binary, adds its runs of the same-engine pairs
// (an A/B in the same run); FERRY_BENCH_TABLES_CHUNK sets ferry's
// tableChunkRows (default 20,000). Each run copies into a fresh
// database. Every run is logged with the database server's CPU seconds
// during it, the client processes' CPU seconds and the load average.
func TestTables(t *testing.T) {
	if os.Getenv("FERRY_BENCH_TABLES") == "" {
		t.Skip("the tables workload runs with FERRY_BENCH_TABLES=1 (needs postgresql and mariadb-server)")
	}
	rows, runs := 1_000_000, 3
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_TABLES_ROWS")); err == nil && n > 0 {
		rows = n
	}
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_TABLES_RUNS")); err == nil && n > 0 {
		runs = n
	}
	chunkRows := 20000
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_TABLES_CHUNK")); err == nil && n > 0 {
		chunkRows = n
	}
	pg, maria := dbtest.Postgres(t), dbtest.MariaDB(t)
	bin := filepath.Join(t.TempDir(), "ferry")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ferry").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	makeBenchTables(t, pg, maria, rows)

	type tool struct {
		name, pair string
		run        func(i int) error
		server     *dbtest.Server // whose CPU the run is charged (both sides are on it)
	}
	pgEnv := append(os.Environ(), "PGPASSWORD="+pg.Password)
	mariaEnv := append(os.Environ(), "MYSQL_PWD="+maria.Password)
	var client time.Duration // the CPU of the last run's client processes (ferry, or the dump's and restore's)
	shell := func(env []string, script string) error {
		cmd := exec.Command("bash", "-o", "pipefail", "-c", script)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		client = cpuOf(cmd)
		if err != nil {
			return fmt.Errorf("%s: %v\n%s", script, err, out)
		}
		return nil
	}
	ferryRunBin := func(bin string, src, dst *dbtest.Server, i int) error {
		dstDB := fmt.Sprintf("bench_dst_%d", i)
		dst.CreateDB(t, dstDB)
		var err error
		client, err = ferryTableRun(t, bin, src, dst, dstDB, chunkRows)
		return err
	}
	ferryRun := func(src, dst *dbtest.Server, i int) error { return ferryRunBin(bin, src, dst, i) }
	tools := []tool{
		{"ferry run", "PostgreSQL -> PostgreSQL", func(i int) error { return ferryRun(pg, pg, i) }, pg},
		{"pg_dump | psql", "PostgreSQL -> PostgreSQL", func(i int) error {
			db := fmt.Sprintf("bench_dump_%d", i)
			pg.CreateDB(t, db)
			return shell(pgEnv, fmt.Sprintf("pg_dump -h %s -p %d -U %s -t big --no-owner bench_src | psql -q -X -v ON_ERROR_STOP=1 -h %s -p %d -U %s %s >/dev/null",
				pg.Host, pg.Port, pg.User, pg.Host, pg.Port, pg.User, db))
		}, pg},
		{"ferry run", "MariaDB -> MariaDB", func(i int) error { return ferryRun(maria, maria, 100+i) }, maria},
		{"mariadb-dump | mariadb", "MariaDB -> MariaDB", func(i int) error {
			db := fmt.Sprintf("bench_dump_%d", i)
			maria.CreateDB(t, db)
			return shell(mariaEnv, fmt.Sprintf("mariadb-dump --no-defaults -h %s -P %d -u %s bench_src big | mariadb --no-defaults -h %s -P %d -u %s %s",
				maria.Host, maria.Port, maria.User, maria.Host, maria.Port, maria.User, db))
		}, maria},
		{"ferry run", "MariaDB -> PostgreSQL", func(i int) error { return ferryRun(maria, pg, 200+i) }, nil},
	}
	if base := os.Getenv("FERRY_BENCH_TABLES_BASE"); base != "" { // another ferry binary, for an A/B in the same run
		tools = append(tools,
			tool{"ferry run (base)", "PostgreSQL -> PostgreSQL", func(i int) error { return ferryRunBin(base, pg, pg, 300+i) }, pg},
			tool{"ferry run (base)", "MariaDB -> MariaDB", func(i int) error { return ferryRunBin(base, maria, maria, 400+i) }, maria})
	}
	if only := os.Getenv("FERRY_BENCH_TABLES_ONLY"); only != "" { // e.g. "PostgreSQL -> PostgreSQL"
		var kept []tool
		for _, tl := range tools {
			if tl.pair == only {
				kept = append(kept, tl)
			}
		}
		tools = kept
	}
	took := make([][]time.Duration, len(tools))
	var b strings.Builder
	fmt.Fprintf(&b, "\nevery run (server: CPU-s of the database server's processes during the run; client: of ferry's, or of the dump's and restore's, processes; load: the 1-minute load average before the run):\n")
	for r := range runs {
		for k := range tools {
			i := k
			if r%2 == 1 { // alternate the order from run to run
				i = len(tools) - 1 - k
			}
			tl := tools[i]
			load := loadAvg()
			var cpu0 time.Duration
			if tl.server != nil {
				time.Sleep(300 * time.Millisecond) // the last run's backends reaped
				cpu0, _ = tl.server.CPU()
			}
			start := time.Now()
			if err := tl.run(r*10 + i); err != nil {
				t.Fatal(err)
			}
			d := time.Since(start)
			took[i] = append(took[i], d)
			srv := "-"
			if tl.server != nil {
				time.Sleep(300 * time.Millisecond)
				if cpu1, err := tl.server.CPU(); err == nil {
					srv = fmt.Sprintf("%.2f", (cpu1 - cpu0).Seconds())
				}
			}
			fmt.Fprintf(&b, "round %d | %s | %s | %.2f s | server %s CPU-s | client %.2f CPU-s | load %s\n",
				r+1, tl.pair, tl.name, d.Seconds(), srv, client.Seconds(), load)
		}
	}
	fmt.Fprintf(&b, "\n| copy | tool | median of %d | rows/s | runs (s) |\n|---|---|---|---|---|\n", runs)
	for i, tl := range tools {
		m := median(took[i])
		var each []string
		for _, d := range took[i] {
			each = append(each, fmt.Sprintf("%.2f", d.Seconds()))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %.0f | %s |\n", tl.pair, tl.name, m.Round(10*time.Millisecond), float64(rows)/m.Seconds(), strings.Join(each, " "))
	}
	t.Log(b.String())
}

// makeBenchTables creates the bench's source table, big, of rows rows in
// database bench_src on both servers (either may be nil): a key, a short
// text, an integer, a decimal and a timestamp.
func makeBenchTables(t *testing.T, pg, maria *dbtest.Server, rows int) {
	if pg != nil {
		pg.CreateDB(t, "bench_src")
		pg.MustExec(t, "bench_src", "CREATE TABLE big (id bigint PRIMARY KEY, v varchar(40) NOT NULL, x int, d numeric(12,2), at timestamp(6))",
			fmt.Sprintf("INSERT INTO big SELECT i, 'row-' || i, i %% 97, i / 100.0, '2024-01-01'::timestamp + i * interval '1 second' FROM generate_series(1, %d) i", rows),
			"VACUUM ANALYZE big")
	}
	if maria != nil {
		maria.CreateDB(t, "bench_src")
		maria.MustExec(t, "bench_src", "CREATE TABLE big (id BIGINT PRIMARY KEY, v VARCHAR(40) NOT NULL, x INT, d DECIMAL(12,2), at DATETIME(6))",
			fmt.Sprintf("INSERT INTO big SELECT seq, CONCAT('row-', seq), seq %% 97, seq / 100, '2024-01-01' + INTERVAL seq SECOND FROM seq_1_to_%d", rows),
			"ANALYZE TABLE big")
	}
}

// ferryTableRun copies bench_src's table big from src into the existing
// database dstDB of dst with `ferry run` of the binary bin
// (tableChunkRows=chunkRows, workerMaxTaskNum=4): the CPU time of ferry's
// processes.
func ferryTableRun(t *testing.T, bin string, src, dst *dbtest.Server, dstDB string, chunkRows int) (time.Duration, error) {
	home := filepath.Join(t.TempDir(), "home")
	os.MkdirAll(filepath.Join(home, "conf"), 0o755)
	sys := fmt.Sprintf("workingDir=%s\nworkerMaxTaskNum=4\n", filepath.Join(home, "work"))
	job := fmt.Sprintf("jobName=%s\nsrcType=%s\nsrcDomain=%s\nsrcBucket=bench_src\nsrcAccessKey=%s\nsrcSecretKey=%s\n"+
		"destType=%s\ndestDomain=%s\ndestBucket=%s\ndestAccessKey=%s\ndestSecretKey=%s\ntables=big\ntableChunkRows=%d\n",
		strings.ReplaceAll(dstDB, "_", ""), src.Engine, src.Addr(), src.User, src.Password, dst.Engine, dst.Addr(), dstDB, dst.User, dst.Password, chunkRows)
	os.WriteFile(filepath.Join(home, "conf", "sys.properties"), []byte(sys), 0o644)
	os.WriteFile(filepath.Join(home, "conf", "job.cfg"), []byte(job), 0o600)
	cmd := exec.Command(bin, "--home", home, "run")
	cmd.Dir = home
	out, err := cmd.CombinedOutput()
	if err != nil {
		return cpuOf(cmd), fmt.Errorf("ferry run: %v\n%s", err, out)
	}
	return cpuOf(cmd), nil
}

// cpuOf is the user and system CPU of a command that ended, with the
// children it waited for.
func cpuOf(cmd *exec.Cmd) time.Duration {
	if cmd.ProcessState == nil {
		return 0
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// loadAvg is the 1-minute load average, as /proc/loadavg has it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}
