package table

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ferry/internal/dbtest"
)

// TestIncrementalRound: after a full copy and its high-water mark, the
// source gets N updates, M inserts, K deletes and one row inserted with an
// old updatedColumn; the next round writes exactly the N+M changed rows,
// finds the old-stamped row by its key, counts the K deletions (deleting
// them only with mirror), and verify then finds nothing.
// It runs MariaDB to PostgreSQL, PostgreSQL to PostgreSQL and MariaDB to
// MariaDB.
func TestIncrementalRound(t *testing.T) {
	for _, tc := range []struct{ engine, dest string }{{"mysql", "postgres"}, {"postgres", "postgres"}, {"mysql", "mysql"}} {
		engine := tc.engine
		t.Run(engine+"_to_"+tc.dest, func(t *testing.T) {
			ctx := context.Background()
			pg := dbtest.Postgres(t)
			srcServer, db := pg, "incr_p_src"
			ts, now := "timestamp(6)", "'2026-01-02 00:00:00.000001'"
			if engine == "mysql" {
				srcServer, db, ts = dbtest.MariaDB(t), "incr_m_src", "DATETIME(6)"
			}
			dstServer := pg
			if tc.dest == "mysql" {
				dstServer = dbtest.MariaDB(t)
			}
			srcServer.CreateDB(t, db)
			fill := "INSERT INTO items SELECT i, CONCAT('v', i), timestamp '2025-12-01' + i * interval '1 second' FROM generate_series(1, 3000) i"
			if engine == "mysql" {
				fill = "INSERT INTO items SELECT seq, CONCAT('v', seq), '2025-12-01' + INTERVAL seq SECOND FROM seq_1_to_3000"
			}
			srcServer.MustExec(t, db, "CREATE TABLE items (id BIGINT PRIMARY KEY, v VARCHAR(40) NOT NULL, upd "+ts+" NOT NULL)", fill)
			dstDB := "incr_" + engine + "_" + tc.dest + "_dst"
			dstServer.CreateDB(t, dstDB)
			src, dst := open(t, srcServer, db), open(t, dstServer, dstDB)
			pairs := copyAll(t, src, dst, []string{"items"}, 500)
			p := pairs[0]
			mark, err := Mark(ctx, src, p.Src, "upd")
			if err != nil || mark != "ts'2025-12-01 00:50:00'" {
				t.Fatalf("mark %q, %v", mark, err)
			}
			const n, m, k = 25, 10, 7
			var stmts []string
			for i := range n {
				stmts = append(stmts, fmt.Sprintf("UPDATE items SET v = 'changed', upd = %s WHERE id = %d", now, 7+i*113))
			}
			for i := range m {
				id := 3001 + i
				if i%2 == 0 {
					id = -i // below the first chunk's first key
				}
				stmts = append(stmts, fmt.Sprintf("INSERT INTO items VALUES (%d, 'new', %s)", id, now))
			}
			for i := range k {
				stmts = append(stmts, fmt.Sprintf("DELETE FROM items WHERE id = %d", 50+i*411))
			}
			stmts = append(stmts, "INSERT INTO items VALUES (1500000, 'old stamp', '2025-06-01 00:00:00')")
			srcServer.MustExec(t, db, stmts...)

			sinceLit, err := Since(mark, 0)
			if err != nil {
				t.Fatal(err)
			}
			sk, _ := ParseKey(sinceLit)
			col, err := UpdatedCol(p.Src, "upd")
			if err != nil {
				t.Fatal(err)
			}
			round := func(mirror bool) (tot IncrResult) {
				err := Plan(ctx, src, pairs, 500, "", func(c Chunk) error {
					r, err := CopyChanged(ctx, src, dst, p, c, col, sk[0], CopyOptions{Mirror: mirror})
					tot.Changed += r.Changed
					tot.Missing += r.Missing
					tot.Extra += r.Extra
					tot.Deleted += r.Deleted
					tot.Rewrites += r.Rewrites
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return tot
			}
			// The row at the mark itself (id 3000) is copied again: a round
			// selects updatedColumn >= since.
			got := round(false)
			if got.Changed != n+m+1 || got.Missing != 1 || got.Extra != k || got.Deleted != 0 || got.Rewrites != 0 {
				t.Fatalf("round without mirror: %+v, want %d changed, 1 missing, %d extra, none deleted", got, n+m+1, k)
			}
			if d := verifyAll(t, src, dst, pairs, 500); len(d) != k || !strings.HasPrefix(d[0], "EXTRA items/") {
				t.Fatalf("verify after a round without mirror: %v, want %d EXTRA", d, k)
			}
			got = round(true)
			if got.Changed != n+m+1 || got.Missing != 0 || got.Extra != k || got.Deleted != k {
				t.Fatalf("round with mirror: %+v, want %d changed, %d deleted", got, n+m+1, k)
			}
			if d := verifyAll(t, src, dst, pairs, 500); len(d) != 0 {
				t.Fatalf("verify after the mirror round: %v", d)
			}
			var cnt int
			if err := dstServer.MustOpen(t, dstDB).QueryRow("SELECT count(*) FROM items WHERE v IN ('changed', 'new')").Scan(&cnt); err != nil || cnt != n+m {
				t.Errorf("destination: %d changed and new rows (%v), want %d", cnt, err, n+m)
			}
		})
	}
}

func TestUpdatedCol(t *testing.T) {
	s := &Schema{Name: "t", Cols: []Col{{Name: "id", Kind: KNum}, {Name: "s", Kind: KText, Type: "text"}, {Name: "at", Kind: KTimestampTZ}}}
	if i, err := UpdatedCol(s, "at"); err != nil || i != 2 {
		t.Errorf("at: %d, %v", i, err)
	}
	for name, want := range map[string]string{"nope": "table t: updatedColumn nope: no such column", "s": "table t: updatedColumn s is text: it must be"} {
		if _, err := UpdatedCol(s, name); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
}

func TestSince(t *testing.T) {
	for _, tc := range []struct {
		mark   string
		margin time.Duration
		want   string
	}{
		{"ts'2026-01-02 00:00:00.5'", 5 * time.Minute, "ts'2026-01-01 23:55:00.5'"},
		{"tz'2026-01-02 00:00:00'", 0, "tz'2026-01-02 00:00:00'"},
		{"d'2026-03-01'", 5 * time.Minute, "d'2026-02-28'"},
		{"d'2026-03-01'", 0, "d'2026-03-01'"},
		{"12345", time.Hour, "12345"},
		{"NULL", time.Hour, "NULL"},
	} {
		if got, err := Since(tc.mark, tc.margin); err != nil || got != tc.want {
			t.Errorf("Since(%s, %s) = %q, %v; want %q", tc.mark, tc.margin, got, err, tc.want)
		}
	}
	if _, err := Since("nonsense", 0); err == nil {
		t.Error("Since of a bad mark: no error")
	}
}
