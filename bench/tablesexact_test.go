package bench

import (
	"bufio"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"ferry/internal/dbtest"
	"ferry/table"
)

// TestTablesExact is the ceiling of the tables workload (issue 19), as
// zkexact_test.go is ZooKeeper's: the fastest VERIFIED copier of the
// bench's table this bench knows, built from the drivers alone, without
// ferry's engine, measured in the same rounds as the engine's own dump
// and restore and as `ferry run`. Verified means what ferry's check
// does: every range of the table, once written, is read back from the
// destination and its hash compared with the hash of what was written.
//
// The table is cut into key ranges of 20,000 keys (from its smallest and
// largest key), and K connections (1, 2, 4) copy ranges in parallel.
//
// PostgreSQL, each range streams from the source's COPY TO (binary) into
// the destination's COPY FROM in one transaction, hashing the bytes as
// they pass; then:
//   - "pk": the destination table made WITH its primary key (as ferry
//     makes it), each range read back (COPY TO) after its commit;
//   - "pk after": made WITHOUT the key, all ranges loaded, then ADD
//     PRIMARY KEY, then each range read back by key (the cheapest order a
//     verified copier can take);
//   - "pk overlapped": as "pk after", but the key's index is built
//     (CREATE UNIQUE INDEX, which lets reads go on) while the whole table
//     is read back in one COPY in its physical order, each row's bytes
//     routed by its key to its range's hash; then the index becomes the
//     primary key. A range whose rows do not come back in the order
//     written is read back again by key after the index is in.
//   - "unverified": as "pk" without the read-back (for reference).
//
// MariaDB, each range is read as text (SELECT over the text protocol,
// values never parsed) and written as multi-row INSERT text of up to
// 5,000 rows in one transaction, then read back the same way; the hashes
// are of the values (each framed, NULL apart from the empty string).
//
// Every copy's result is checked outside its time: the destination's row
// count and a digest of the whole table must equal the source's. Each
// round logs every copy's wall time, the server's CPU seconds
// (dbtest.Server.CPU), the client's (this process, or the dump's and
// restore's, or ferry's processes) and the load average before it; the
// order alternates from round to round. It runs only with
// FERRY_BENCH_TABLES=1; FERRY_BENCH_TABLES_ROWS (default 1,000,000),
// FERRY_BENCH_TABLES_RUNS (rounds, default 5), FERRY_BENCH_EXACT_ONLY
// ("postgres" or "mariadb") as TestTables.
func TestTablesExact(t *testing.T) {
	if os.Getenv("FERRY_BENCH_TABLES") == "" {
		t.Skip("the tables ceiling runs with FERRY_BENCH_TABLES=1 (needs postgresql and mariadb-server)")
	}
	rows, runs := 1_000_000, 5
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_TABLES_ROWS")); err == nil && n > 0 {
		rows = n
	}
	if n, err := strconv.Atoi(os.Getenv("FERRY_BENCH_TABLES_RUNS")); err == nil && n > 0 {
		runs = n
	}
	const rangeKeys = 20000
	only := os.Getenv("FERRY_BENCH_EXACT_ONLY")
	var pg, maria *dbtest.Server
	if only != "mariadb" {
		pg = dbtest.Postgres(t)
	}
	if only != "postgres" {
		maria = dbtest.MariaDB(t)
	}
	bin := filepath.Join(t.TempDir(), "ferry")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ferry").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	makeBenchTables(t, pg, maria, rows)
	ctx := context.Background()

	type tool struct {
		engine, name string
		server       *dbtest.Server
		// run copies bench_src.big into the fresh database db; it returns
		// the client CPU outside this process (0: this process's) and
		// notes on its phases.
		run func(db string) (time.Duration, string, error)
	}
	var tools []tool
	srcDigest := map[string]string{}
	if pg != nil {
		d, err := pgDigest(ctx, pg, "bench_src")
		if err != nil {
			t.Fatal(err)
		}
		srcDigest[pg.Engine] = d
		for _, v := range []string{"pk", "pk after", "pk overlapped", "unverified"} {
			for _, k := range []int{1, 2, 4} {
				tools = append(tools, tool{"PostgreSQL", fmt.Sprintf("exact %s K=%d", v, k), pg, func(db string) (time.Duration, string, error) {
					notes, err := pgExactCopy(ctx, pg, db, v, k, rangeKeys)
					return 0, notes, err
				}})
			}
		}
		env := append(os.Environ(), "PGPASSWORD="+pg.Password)
		tools = append(tools,
			tool{"PostgreSQL", "pg_dump | psql", pg, func(db string) (time.Duration, string, error) {
				return shellCPU(env, fmt.Sprintf("pg_dump -h %s -p %d -U %s -t big --no-owner bench_src | psql -q -X -v ON_ERROR_STOP=1 -h %s -p %d -U %s %s >/dev/null",
					pg.Host, pg.Port, pg.User, pg.Host, pg.Port, pg.User, db))
			}},
			tool{"PostgreSQL", "ferry run", pg, func(db string) (time.Duration, string, error) {
				c, err := ferryTableRun(t, bin, pg, pg, db, rangeKeys)
				return c, "", err
			}})
	}
	if maria != nil {
		d, err := myDigest(ctx, maria, "bench_src")
		if err != nil {
			t.Fatal(err)
		}
		srcDigest[maria.Engine] = d
		for _, k := range []int{1, 2, 4} {
			tools = append(tools, tool{"MariaDB", fmt.Sprintf("exact K=%d", k), maria, func(db string) (time.Duration, string, error) {
				notes, err := myExactCopy(ctx, maria, db, k, rangeKeys)
				return 0, notes, err
			}})
		}
		env := append(os.Environ(), "MYSQL_PWD="+maria.Password)
		tools = append(tools,
			tool{"MariaDB", "mariadb-dump | mariadb", maria, func(db string) (time.Duration, string, error) {
				return shellCPU(env, fmt.Sprintf("mariadb-dump --no-defaults -h %s -P %d -u %s bench_src big | mariadb --no-defaults -h %s -P %d -u %s %s",
					maria.Host, maria.Port, maria.User, maria.Host, maria.Port, maria.User, db))
			}},
			tool{"MariaDB", "ferry run", maria, func(db string) (time.Duration, string, error) {
				c, err := ferryTableRun(t, bin, maria, maria, db, rangeKeys)
				return c, "", err
			}})
	}

	took := make([][]time.Duration, len(tools))
	var b strings.Builder
	fmt.Fprintf(&b, "\nevery run (server: CPU-s of the database server during the copy; client: this process's, or the dump's and restore's, or ferry's; load: 1-minute load average before the run):\n")
	for r := range runs {
		for j := range tools {
			i := j
			if r%2 == 1 {
				i = len(tools) - 1 - j
			}
			tl := tools[i]
			db := fmt.Sprintf("exact_dst_%d", i)
			tl.server.CreateDB(t, db)
			time.Sleep(300 * time.Millisecond) // the last run's backends reaped
			load := loadAvg()
			cpu0, _ := tl.server.CPU()
			self0 := selfCPU()
			start := time.Now()
			client, notes, err := tl.run(db)
			d := time.Since(start)
			if client == 0 {
				client = selfCPU() - self0
			}
			if err != nil {
				t.Fatalf("round %d, %s %s: %v", r+1, tl.engine, tl.name, err)
			}
			time.Sleep(300 * time.Millisecond)
			cpu1, _ := tl.server.CPU()
			// The result, outside the copy's time: the whole table as the source's.
			var got string
			if tl.server.Engine == "postgres" {
				got, err = pgDigest(ctx, tl.server, db)
			} else {
				got, err = myDigest(ctx, tl.server, db)
			}
			if err != nil {
				t.Fatalf("round %d, %s %s: digest of the copy: %v", r+1, tl.engine, tl.name, err)
			}
			if want := srcDigest[tl.server.Engine]; got != want {
				t.Fatalf("round %d, %s %s: the copy is %s, the source %s", r+1, tl.engine, tl.name, got, want)
			}
			tl.server.MustExec(t, "", "DROP DATABASE "+quoteDB(tl.server, db))
			took[i] = append(took[i], d)
			if notes != "" {
				notes = " | " + notes
			}
			fmt.Fprintf(&b, "round %d | %s | %s | %.2f s | server %.2f CPU-s | client %.2f CPU-s | load %s%s\n",
				r+1, tl.engine, tl.name, d.Seconds(), (cpu1 - cpu0).Seconds(), client.Seconds(), load, notes)
		}
	}
	fmt.Fprintf(&b, "\n| engine | copier | median of %d | rows/s | to the dump (median of the rounds' ratios) | runs (s) |\n|---|---|---|---|---|---|\n", runs)
	for i, tl := range tools {
		dump := slices.IndexFunc(tools, func(o tool) bool { return o.engine == tl.engine && strings.Contains(o.name, "dump") })
		var each []string
		var ratios []time.Duration // as durations to reuse median: ratio * 1e6
		for r, d := range took[i] {
			each = append(each, fmt.Sprintf("%.2f", d.Seconds()))
			ratios = append(ratios, time.Duration(took[dump][r].Seconds()/d.Seconds()*1e6))
		}
		m := median(took[i])
		rs := slices.Clone(ratios)
		slices.Sort(rs)
		fmt.Fprintf(&b, "| %s | %s | %.2fs | %.0f | %.2fx (%.2f-%.2f) | %s |\n", tl.engine, strings.ReplaceAll(tl.name, "|", `\|`), m.Seconds(), float64(rows)/m.Seconds(),
			float64(median(ratios))/1e6, float64(rs[0])/1e6, float64(rs[len(rs)-1])/1e6, strings.Join(each, " "))
	}
	t.Log(b.String())
}

// shellCPU runs script under bash -o pipefail: its processes' CPU.
func shellCPU(env []string, script string) (time.Duration, string, error) {
	cmd := exec.Command("bash", "-o", "pipefail", "-c", script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return cpuOf(cmd), "", fmt.Errorf("%s: %v\n%s", script, err, out)
	}
	return cpuOf(cmd), "", nil
}

func quoteDB(s *dbtest.Server, db string) string {
	if s.Engine == "postgres" {
		return `"` + db + `"`
	}
	return "`" + db + "`"
}

// keyRange is the keys [lo, hi) of table big.
type keyRange struct{ lo, hi int64 }

// cutRanges cuts [min, max] of the key into ranges of n keys.
func cutRanges(minKey, maxKey, n int64) []keyRange {
	var rs []keyRange
	for lo := minKey; lo <= maxKey; lo += n {
		rs = append(rs, keyRange{lo, lo + n})
	}
	return rs
}

// inParallel runs fn for every range over k workers (worker w gets w):
// the first error.
func inParallel(rs []keyRange, k int, fn func(w int, r keyRange) error) error {
	next := make(chan keyRange)
	errs := make(chan error, k)
	stop := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range next {
				if err := fn(w, r); err != nil {
					errs <- err
					once.Do(func() { close(stop) })
					return
				}
			}
		}()
	}
feed:
	for _, r := range rs {
		select {
		case next <- r:
		case <-stop:
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	return <-errs
}

// pgConnect opens k pgx connections to db on s.
func pgConnect(ctx context.Context, s *dbtest.Server, db string, k int) ([]*pgx.Conn, error) {
	var cs []*pgx.Conn
	for range k {
		c, err := pgx.Connect(ctx, fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable", s.Host, s.Port, s.User, s.Password, db))
		if err != nil {
			for _, c := range cs {
				c.Close(ctx)
			}
			return nil, err
		}
		cs = append(cs, c)
	}
	return cs, nil
}

const pgBigCols = "id, v, x, d, at"

// copyBuf is the size of the pieces COPY output is passed on and hashed
// in (ferry's copyPiece).
const copyBuf = 64 << 10

// pgRangeCopy is COPY TO of the range in key order, binary.
func pgRangeCopy(r keyRange) string {
	return fmt.Sprintf("COPY (SELECT %s FROM big WHERE id >= %d AND id < %d ORDER BY id) TO STDOUT (FORMAT binary)", pgBigCols, r.lo, r.hi)
}

// pgExactCopy copies bench_src.big to database db with k connections a
// side in the variant ("pk", "pk after", "unverified"); notes are its
// phases' seconds.
func pgExactCopy(ctx context.Context, s *dbtest.Server, db, variant string, k int, rangeKeys int64) (string, error) {
	srcs, err := pgConnect(ctx, s, "bench_src", k)
	if err != nil {
		return "", err
	}
	defer func() {
		for _, c := range srcs {
			c.Close(ctx)
		}
	}()
	dsts, err := pgConnect(ctx, s, db, k)
	if err != nil {
		return "", err
	}
	defer func() {
		for _, c := range dsts {
			c.Close(ctx)
		}
	}()
	key := " PRIMARY KEY"
	switch variant {
	case "pk after":
		key = ""
	case "pk overlapped":
		key = " NOT NULL"
	}
	if _, err := dsts[0].Exec(ctx, "CREATE TABLE big (id bigint"+key+", v varchar(40) NOT NULL, x int, d numeric(12,2), at timestamp(6))"); err != nil {
		return "", err
	}
	var lo, hi int64
	if err := srcs[0].QueryRow(ctx, "SELECT min(id), max(id) FROM big").Scan(&lo, &hi); err != nil {
		return "", err
	}
	rs := cutRanges(lo, hi, rangeKeys)
	var mu sync.Mutex
	written := map[keyRange][]byte{}
	readBack := func(w int, r keyRange) error {
		h := sha256.New()
		bw := bufio.NewWriterSize(h, copyBuf) // COPY TO writes a row at a time
		if _, err := dsts[w].PgConn().CopyTo(ctx, bw, pgRangeCopy(r)); err != nil {
			return fmt.Errorf("read back %v: %w", r, err)
		}
		bw.Flush()
		mu.Lock()
		want := written[r]
		mu.Unlock()
		if got := h.Sum(nil); string(got) != string(want) {
			return fmt.Errorf("range %v: read back %x, written %x", r, got[:8], want[:8])
		}
		return nil
	}
	start := time.Now()
	err = inParallel(rs, k, func(w int, r keyRange) error {
		pr, pw := io.Pipe()
		h := sha256.New()
		read := make(chan error, 1)
		go func() {
			// COPY TO writes a row at a time: through the pipe in pieces.
			bw := bufio.NewWriterSize(io.MultiWriter(pw, h), copyBuf)
			_, err := srcs[w].PgConn().CopyTo(ctx, bw, pgRangeCopy(r))
			if err == nil {
				err = bw.Flush()
			}
			pw.CloseWithError(err)
			read <- err
		}()
		err := pgx.BeginFunc(ctx, dsts[w], func(tx pgx.Tx) error {
			_, err := tx.Conn().PgConn().CopyFrom(ctx, pr, "COPY big ("+pgBigCols+") FROM STDIN (FORMAT binary)")
			return err
		})
		pr.CloseWithError(io.ErrClosedPipe)
		if rerr := <-read; rerr != nil {
			return fmt.Errorf("read %v: %w", r, rerr)
		}
		if err != nil {
			return fmt.Errorf("write %v: %w", r, err)
		}
		mu.Lock()
		written[r] = h.Sum(nil)
		mu.Unlock()
		if variant == "pk" {
			return readBack(w, r)
		}
		return nil
	})
	if err != nil || variant == "pk" || variant == "unverified" {
		return "", err
	}
	load := time.Since(start)
	if variant == "pk overlapped" {
		return pgOverlapped(ctx, s, db, dsts, rs, lo, rangeKeys, written, readBack, start, load)
	}
	if _, err := dsts[0].Exec(ctx, "ALTER TABLE big ADD PRIMARY KEY (id)"); err != nil {
		return "", err
	}
	keyed := time.Since(start)
	if err := inParallel(rs, k, readBack); err != nil {
		return "", err
	}
	return fmt.Sprintf("load %.2f s, key %.2f s, read back %.2f s", load.Seconds(), (keyed - load).Seconds(), (time.Since(start) - keyed).Seconds()), nil
}

// pgOverlapped is the end of the "pk overlapped" variant: the index
// built while the table is read back in its physical order, then made
// the primary key; ranges that came back in another order are read back
// again by key.
func pgOverlapped(ctx context.Context, s *dbtest.Server, db string, dsts []*pgx.Conn, rs []keyRange, lo, rangeKeys int64,
	written map[keyRange][]byte, readBack func(int, keyRange) error, start time.Time, load time.Duration) (string, error) {
	rb, err := pgConnect(ctx, s, db, 1)
	if err != nil {
		return "", err
	}
	defer rb[0].Close(ctx)
	indexed := make(chan error, 1)
	var keyTook time.Duration
	go func() {
		_, err := dsts[0].Exec(ctx, "CREATE UNIQUE INDEX big_pkey ON big (id)")
		keyTook = time.Since(start) - load
		indexed <- err
	}()
	rt := &binRouter{lo: lo, per: rangeKeys, n: len(rs)}
	_, rerr := rb[0].PgConn().CopyTo(ctx, rt, "COPY big ("+pgBigCols+") TO STDOUT (FORMAT binary)")
	if rerr == nil {
		rerr = rt.end()
	}
	readTook := time.Since(start) - load
	if err := <-indexed; err != nil {
		return "", err
	}
	if rerr != nil {
		return "", fmt.Errorf("read back: %w", rerr)
	}
	if _, err := dsts[0].Exec(ctx, "ALTER TABLE big ADD CONSTRAINT big_pkey PRIMARY KEY USING INDEX big_pkey"); err != nil {
		return "", err
	}
	var again []keyRange
	for i, r := range rs {
		if string(rt.sum(i)) != string(written[r]) {
			again = append(again, r)
		}
	}
	if err := inParallel(again, len(dsts), readBack); err != nil {
		return "", err
	}
	return fmt.Sprintf("load %.2f s, key %.2f s and read back %.2f s at once, %d ranges read again by key, all %.2f s",
		load.Seconds(), keyTook.Seconds(), readTook.Seconds(), len(again), time.Since(start).Seconds()), nil
}

// binRouter takes a table's binary COPY output (id its first column, a
// bigint) and hashes each row into its range's hash, ranges of per keys
// from lo: each range's hash is of the stream its own COPY would give if
// the rows came back in the order they did (header, rows, trailer).
type binRouter struct {
	lo, per int64
	n       int
	header  []byte
	pending []byte
	hs      []hash.Hash
	bws     []*bufio.Writer
	ended   bool
}

func (b *binRouter) Write(p []byte) (int, error) {
	b.pending = append(b.pending, p...)
	buf := b.pending
	for {
		if b.header == nil {
			if len(buf) < 19 {
				break
			}
			ext := int(binary.BigEndian.Uint32(buf[15:19]))
			if len(buf) < 19+ext {
				break
			}
			b.header = slices.Clone(buf[:19+ext])
			buf = buf[19+ext:]
			continue
		}
		if len(buf) < 2 {
			break
		}
		nf := int16(binary.BigEndian.Uint16(buf))
		if nf == -1 {
			b.ended = true
			buf = buf[2:]
			break
		}
		off, ok := 2, true
		for range nf {
			if len(buf) < off+4 {
				ok = false
				break
			}
			l := int32(binary.BigEndian.Uint32(buf[off:]))
			off += 4
			if l > 0 {
				off += int(l)
			}
		}
		if !ok || len(buf) < off {
			break
		}
		if nf < 1 || binary.BigEndian.Uint32(buf[2:]) != 8 {
			return 0, fmt.Errorf("a row whose first field is not a bigint")
		}
		id := int64(binary.BigEndian.Uint64(buf[6:14]))
		i := int((id - b.lo) / b.per)
		if id < b.lo || i >= b.n {
			return 0, fmt.Errorf("key %d outside the ranges", id)
		}
		b.writer(i).Write(buf[:off])
		buf = buf[off:]
	}
	b.pending = append(b.pending[:0], buf...)
	return len(p), nil
}

func (b *binRouter) writer(i int) *bufio.Writer {
	if b.hs == nil {
		b.hs, b.bws = make([]hash.Hash, b.n), make([]*bufio.Writer, b.n)
	}
	if b.bws[i] == nil {
		b.hs[i] = sha256.New()
		b.bws[i] = bufio.NewWriterSize(b.hs[i], 16<<10)
		b.bws[i].Write(b.header)
	}
	return b.bws[i]
}

// end checks that the output ended with its trailer.
func (b *binRouter) end() error {
	if !b.ended || len(b.pending) > 0 {
		return fmt.Errorf("binary COPY output ended early")
	}
	return nil
}

// sum is range i's hash, as of its header, rows and trailer.
func (b *binRouter) sum(i int) []byte {
	w := b.writer(i)
	w.Write([]byte{0xff, 0xff})
	w.Flush()
	return b.hs[i].Sum(nil)
}

// pgDigest is the row count and SHA-256 of the whole table big of db on
// s, in key order, as COPY text.
func pgDigest(ctx context.Context, s *dbtest.Server, db string) (string, error) {
	cs, err := pgConnect(ctx, s, db, 1)
	if err != nil {
		return "", err
	}
	defer cs[0].Close(ctx)
	h := sha256.New()
	n, err := cs[0].PgConn().CopyTo(ctx, h, "COPY (SELECT "+pgBigCols+" FROM big ORDER BY id) TO STDOUT")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d rows, %x", n.RowsAffected(), h.Sum(nil)[:16]), nil
}

// myOpen opens db on the MariaDB server s, k connections at most, values
// left as the server prints them (no time parsing), time zone UTC.
func myOpen(s *dbtest.Server, db string, k int) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = s.User, s.Password, "tcp", s.Addr(), db
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	c := sql.OpenDB(conn)
	c.SetMaxOpenConns(k)
	c.SetMaxIdleConns(k)
	return c, nil
}

// myRows runs q (no parameters: the text protocol) on c and calls fn with
// each row's values as the server sent them (nil for NULL).
func myRows(ctx context.Context, c *sql.Conn, q string, fn func([]sql.RawBytes) error) error {
	rows, err := c.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func myRangeSelect(r keyRange) string {
	return fmt.Sprintf("SELECT id, v, x, d, at FROM big WHERE id >= %d AND id < %d ORDER BY id", r.lo, r.hi)
}

// myExactCopy copies bench_src.big to database db on the MariaDB server s
// with k connections a side: each range read as text, written as INSERT
// text of up to 5,000 rows in one transaction, read back and compared.
func myExactCopy(ctx context.Context, s *dbtest.Server, db string, k int, rangeKeys int64) (string, error) {
	src, err := myOpen(s, "bench_src", k)
	if err != nil {
		return "", err
	}
	defer src.Close()
	dst, err := myOpen(s, db, k)
	if err != nil {
		return "", err
	}
	defer dst.Close()
	if _, err := dst.ExecContext(ctx, "CREATE TABLE big (id BIGINT PRIMARY KEY, v VARCHAR(40) NOT NULL, x INT, d DECIMAL(12,2), at DATETIME(6))"); err != nil {
		return "", err
	}
	var lo, hi int64
	if err := src.QueryRowContext(ctx, "SELECT MIN(id), MAX(id) FROM big").Scan(&lo, &hi); err != nil {
		return "", err
	}
	const batch, quoted = 5000, 0b10010 // v and at quoted; the numbers bare, as ferry writes them
	err = inParallel(cutRanges(lo, hi, rangeKeys), k, func(_ int, r keyRange) error {
		sc, err := src.Conn(ctx)
		if err != nil {
			return err
		}
		defer sc.Close()
		dc, err := dst.Conn(ctx)
		if err != nil {
			return err
		}
		defer dc.Close()
		tx, err := dc.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		written, landed := sha256.New(), sha256.New()
		var buf []byte
		stmt := make([]byte, 0, 512<<10)
		n := 0
		flush := func() error {
			if n == 0 {
				return nil
			}
			_, err := tx.ExecContext(ctx, string(stmt))
			stmt, n = stmt[:0], 0
			return err
		}
		err = myRows(ctx, sc, myRangeSelect(r), func(vals []sql.RawBytes) error {
			buf = table.HashRawRow(written, buf, vals)
			if n == 0 {
				stmt = append(stmt, "INSERT INTO big (id, v, x, d, at) VALUES ("...)
			} else {
				stmt = append(stmt, ", ("...)
			}
			for i, v := range vals {
				if i > 0 {
					stmt = append(stmt, ", "...)
				}
				switch {
				case v == nil:
					stmt = append(stmt, "NULL"...)
				case quoted&(1<<i) != 0:
					stmt = table.AppendQuoted(stmt, v)
				default:
					stmt = append(stmt, v...)
				}
			}
			stmt = append(stmt, ')')
			if n++; n == batch {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return fmt.Errorf("range %v: %w", r, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("range %v: commit: %w", r, err)
		}
		if err := myRows(ctx, dc, myRangeSelect(r), func(vals []sql.RawBytes) error {
			buf = table.HashRawRow(landed, buf, vals)
			return nil
		}); err != nil {
			return fmt.Errorf("range %v: read back: %w", r, err)
		}
		if w, l := written.Sum(nil), landed.Sum(nil); string(w) != string(l) {
			return fmt.Errorf("range %v: read back %x, written %x", r, l[:8], w[:8])
		}
		return nil
	})
	return "", err
}

// myDigest is the row count and SHA-256 of the whole table big of db on
// the MariaDB server s, in key order, as the text protocol sends it.
func myDigest(ctx context.Context, s *dbtest.Server, db string) (string, error) {
	c, err := myOpen(s, db, 1)
	if err != nil {
		return "", err
	}
	defer c.Close()
	conn, err := c.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	h := sha256.New()
	var buf []byte
	n := 0
	if err := myRows(ctx, conn, "SELECT id, v, x, d, at FROM big ORDER BY id", func(vals []sql.RawBytes) error {
		buf = table.HashRawRow(h, buf, vals)
		n++
		return nil
	}); err != nil {
		return "", err
	}
	return fmt.Sprintf("%d rows, %x", n, h.Sum(nil)[:16]), nil
}

// TestBinRouter checks the "pk overlapped" read-back's router: fed a
// table's binary COPY output in pieces of any size, each range's hash is
// that of the COPY output of its rows alone, in the order they came, and
// rows out of order give another hash.
func TestBinRouter(t *testing.T) {
	header := append(slices.Clone(binSig), 0, 0, 0, 0, 0, 0, 0, 4, 9, 9, 9, 9) // with a 4-byte extension
	row := func(id int64, v string) []byte {
		b := binary.BigEndian.AppendUint16(nil, 2)
		b = binary.BigEndian.AppendUint32(b, 8)
		b = binary.BigEndian.AppendUint64(b, uint64(id))
		if v == "" {
			return binary.BigEndian.AppendUint32(b, 0xffffffff) // NULL
		}
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
		return append(b, v...)
	}
	trailer := []byte{0xff, 0xff}
	stream := func(rows ...[]byte) []byte {
		b := slices.Clone(header)
		for _, r := range rows {
			b = append(b, r...)
		}
		return append(b, trailer...)
	}
	sum := func(b []byte) string { h := sha256.Sum256(b); return string(h[:]) }
	// Keys 10-19 are range 0, 20-29 range 1, 30-39 range 2 (empty).
	a1, a2, b1, b2 := row(11, "x"), row(15, ""), row(20, "yy"), row(29, "a longer value")
	table := stream(a1, b1, a2, b2)
	for _, piece := range []int{1, 3, 7, len(table)} {
		rt := &binRouter{lo: 10, per: 10, n: 3}
		for i := 0; i < len(table); i += piece {
			if _, err := rt.Write(table[i:min(i+piece, len(table))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := rt.end(); err != nil {
			t.Fatalf("pieces of %d: %v", piece, err)
		}
		if sum(stream(a1, a2)) != string(rt.sum(0)) || sum(stream(b1, b2)) != string(rt.sum(1)) || sum(stream()) != string(rt.sum(2)) {
			t.Fatalf("pieces of %d: a range's hash is not that of its own COPY output", piece)
		}
	}
	rt := &binRouter{lo: 10, per: 10, n: 3}
	rt.Write(stream(a2, a1))
	if rt.end() != nil || sum(stream(a1, a2)) == string(rt.sum(0)) {
		t.Fatal("rows out of order hash alike")
	}
	rt = &binRouter{lo: 10, per: 10, n: 3}
	rt.Write(stream(a1)[:len(header)+5])
	if rt.end() == nil {
		t.Fatal("a cut stream is not an error")
	}
	rt = &binRouter{lo: 10, per: 10, n: 3}
	if _, err := rt.Write(stream(row(40, "x"))); err == nil {
		t.Fatal("a key past the ranges is not an error")
	}
}

// binSig is binary COPY output's signature.
var binSig = []byte("PGCOPY\n\xff\r\n\x00")
