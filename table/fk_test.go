package table

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"ferry/internal/dbtest"
)

// TestForeignKeys copies a child table whose rows reference a parent
// table into a destination made beforehand with the same foreign key:
// Resolve plans the parent first although its name sorts after; MariaDB
// takes the child's chunks before the parent's (its sessions do not check
// foreign keys, as a dump does not); PostgreSQL, which checks them, has a
// child chunk wait for the parent's rows copied meanwhile, and a chunk
// whose parent never comes fails after refWaitMax, saying why. verify
// then finds nothing.
func TestForeignKeys(t *testing.T) {
	for _, engine := range []string{"mysql", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			start := dbtest.MariaDB
			if engine == "postgres" {
				start = dbtest.Postgres
			}
			srv := start(t)
			srcDB, dstDB := "fk_src_"+engine, "fk_dst_"+engine
			for _, db := range []string{srcDB, dstDB} {
				srv.CreateDB(t, db)
				srv.MustExec(t, db, "CREATE TABLE parent (id INT PRIMARY KEY, v VARCHAR(20))",
					"CREATE TABLE child (id INT PRIMARY KEY, pid INT NOT NULL, FOREIGN KEY (pid) REFERENCES parent (id))",
					"CREATE TABLE zz (id INT PRIMARY KEY)")
			}
			var ins []string
			for i := 1; i <= 300; i++ {
				ins = append(ins, fmt.Sprintf("INSERT INTO parent VALUES (%d, 'p%d')", i, i))
			}
			for i := 1; i <= 300; i++ {
				ins = append(ins, fmt.Sprintf("INSERT INTO child VALUES (%d, %d)", i, 301-i))
			}
			srv.MustExec(t, srcDB, ins...)
			src, dst := open(t, srv, srcDB), open(t, srv, dstDB)
			ctx := context.Background()
			pairs, err := Resolve(ctx, src, dst, []string{"*"}, false)
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			byName := map[string]Pair{}
			for _, p := range pairs {
				order = append(order, p.Src.Name)
				byName[p.Src.Name] = p
			}
			if strings.Join(order, ",") != "parent,child,zz" {
				t.Fatalf("tables planned in the order %v, want parent,child,zz", order)
			}
			var parents, children []Chunk
			if err := Plan(ctx, src, pairs, 100, "", func(c Chunk) error {
				if c.Table == "parent" {
					parents = append(parents, c)
				} else if c.Table == "child" {
					children = append(children, c)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			copyAllOf := func(cs []Chunk) {
				for _, c := range cs {
					if _, err := CopyChunk(ctx, src, dst, byName[c.Table], c, CopyOptions{}); err != nil {
						t.Errorf("copy %s: %v", c.Name(), err)
					}
				}
			}
			if engine == "mysql" {
				copyAllOf(children) // before any parent row is there
				copyAllOf(parents)
			} else {
				defer func(d time.Duration) { refWaitMax = d }(refWaitMax)
				refWaitMax = time.Second
				_, err := waitForRefs(ctx, func() (CopyResult, error) {
					return CopyChunk(ctx, src, dst, byName["child"], children[0], CopyOptions{})
				})
				if err == nil || !isRefViolation(err) || !strings.Contains(err.Error(), "is that table in this job's tables=") {
					t.Fatalf("a child chunk without its parents: %v", err)
				}
				refWaitMax = time.Minute
				go func() { time.Sleep(700 * time.Millisecond); copyAllOf(parents) }()
				for _, c := range children {
					if _, err := waitForRefs(ctx, func() (CopyResult, error) {
						return CopyChunk(ctx, src, dst, byName["child"], c, CopyOptions{})
					}); err != nil {
						t.Fatalf("copy %s: %v", c.Name(), err)
					}
				}
			}
			if d := verifyAll(t, src, dst, pairs, 100); len(d) != 0 {
				t.Fatalf("verify found %v", d)
			}
		})
	}
}

// TestPlanResumesInOrder resumes a plan whose tables are not in name
// order after a chunk of its first table: the plan goes on in that table,
// then the later ones, and plans none of the tables before it again.
func TestPlanResumesInOrder(t *testing.T) {
	pg := dbtest.Postgres(t)
	pg.CreateDB(t, "resume_src")
	pg.MustExec(t, "resume_src", "CREATE TABLE b (id INT PRIMARY KEY)", "INSERT INTO b SELECT generate_series(1, 30)",
		"CREATE TABLE a (id INT PRIMARY KEY, bid INT REFERENCES b)", "INSERT INTO a SELECT i, i FROM generate_series(1, 30) i",
		"CREATE TABLE c (id INT PRIMARY KEY)", "INSERT INTO c SELECT generate_series(1, 5)")
	src := open(t, pg, "resume_src")
	ctx := context.Background()
	pairs, err := Resolve(ctx, src, src, []string{"*"}, false)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	if err := Plan(ctx, src, pairs, 10, "", func(c Chunk) error { all = append(all, c.Name()); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 3+3+1 || !strings.HasPrefix(all[0], "b/") || !strings.HasPrefix(all[3], "a/") {
		t.Fatalf("plan %v: want b's 3 chunks, a's 3, c's 1", all)
	}
	for i := range all {
		var rest []string
		if err := Plan(ctx, src, pairs, 10, all[i], func(c Chunk) error { rest = append(rest, c.Name()); return nil }); err != nil {
			t.Fatal(err)
		}
		if strings.Join(rest, " ") != strings.Join(all[i+1:], " ") {
			t.Errorf("after %s: %v, want %v", all[i], rest, all[i+1:])
		}
	}
}
