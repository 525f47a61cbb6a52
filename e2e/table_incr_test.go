package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"ferry/internal/dbtest"
)

// TestTableIncremental: an incremental table job (MariaDB to PostgreSQL,
// updatedColumn, mirror) whose source gets 40 updates, 15 inserts and 9
// deletes between two rounds: the next round's OK lines count exactly
// those rows changed (and the one row at the mark, which a round reads
// again: updatedColumn >= mark) and the 9 deleted, and verify then finds
// the tables equal.
func TestTableIncremental(t *testing.T) {
	maria, pg := dbtest.MariaDB(t), dbtest.Postgres(t)
	src, dst := tableSide{maria, "incr_src"}, tableSide{pg, "incr_dst"}
	const rows = 20000
	src.srv.CreateDB(t, src.db)
	src.srv.MustExec(t, src.db,
		"CREATE TABLE items (id BIGINT PRIMARY KEY, v VARCHAR(40) NOT NULL, upd DATETIME(6) NOT NULL, KEY by_upd (upd))",
		fmt.Sprintf("INSERT INTO items SELECT seq, CONCAT('v', seq), '2025-12-01' + INTERVAL seq SECOND FROM seq_1_to_%d", rows))
	dst.srv.CreateDB(t, dst.db)
	h := newHome(t, "tables_incr")
	over := append(src.keys("src"), dst.keys("dest")...)
	over = append(over, kv{"tables", "items"}, kv{"tableChunkRows", "2000"}, kv{"mirror", "true"},
		kv{"isIncremental", "true"}, kv{"incrementalModeInterval", "12"}, kv{"updatedColumn", "upd"}, kv{"updatedMargin", "0"})
	h.writeJob(h.jobFile, over...)
	h.writeSys(kv{"incrementalMinInterval", "1"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := h.background(ctx, "run")
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			run.cmd.Process.Signal(syscall.SIGINT)
			<-run.exited
		})
	}
	defer stop()
	waitFor(t, time.Minute, "the job to be submitted", func() bool {
		return h.ferryCtx(ctx, "stat", h.job).code == 0
	})
	var st ctlStat
	for r := 1; ; r = st.Round + 1 {
		st = h.ctlWaitRound(r, 2*time.Minute)
		next, err := time.Parse(time.RFC3339, st.NextRound)
		if err != nil {
			t.Fatalf("NextRound %q: %v", st.NextRound, err)
		}
		if time.Until(next) > 6*time.Second {
			break
		}
	}
	round := st.Round + 1
	changedAt := time.Now()
	const n, m, k = 40, 15, 9
	var stmts []string
	for i := range n {
		stmts = append(stmts, fmt.Sprintf("UPDATE items SET v = 'changed', upd = NOW(6) WHERE id = %d", 3+i*487))
	}
	for i := range m {
		stmts = append(stmts, fmt.Sprintf("INSERT INTO items VALUES (%d, 'new', NOW(6))", rows+1+i*1000))
	}
	for i := range k {
		stmts = append(stmts, fmt.Sprintf("DELETE FROM items WHERE id = %d", 11+i*2203))
	}
	src.srv.MustExec(t, src.db, stmts...)
	if d := time.Since(changedAt); d > 5*time.Second {
		t.Fatalf("the changes took %s, longer than the interval between rounds", d)
	}
	h.ctlWaitRound(round, 2*time.Minute)
	counts := map[string]int{}
	chunks := 0
	for _, a := range h.attempts() {
		for _, r := range a.records {
			if r.result != "OK" || !r.time.After(changedAt) {
				continue
			}
			chunks++
			for _, f := range strings.Fields(r.detail) {
				if name, v, ok := strings.Cut(f, "="); ok {
					if x, err := strconv.Atoi(v); err == nil {
						counts[name] += x
					}
				}
			}
			if !strings.Contains(r.detail, "since=ts'") {
				t.Errorf("chunk %s of round %d: detail %q, want an incremental copy", r.key, round, r.detail)
			}
		}
	}
	if counts["changed"] != n+m+1 || counts["deleted"] != k || counts["extra"] != k || counts["missing"] != 0 || counts["rows"] != 0 {
		t.Errorf("round %d (%d chunks): %v, want changed=%d deleted=%d", round, chunks, counts, n+m+1, k)
	}
	stop()
	r := h.ferry(5*time.Minute, "verify", "tables_incr")
	if got := verifyFindings(r.stdout); r.code != 0 || len(got) != 0 {
		t.Fatalf("verify after the round: %s", r)
	}
	if got := strings.TrimSpace(dst.client(t, "SELECT count(*) FROM items WHERE v IN ('changed', 'new')")); got != strconv.Itoa(n+m) {
		t.Errorf("destination: %s changed and new rows, want %d", got, n+m)
	}
}
