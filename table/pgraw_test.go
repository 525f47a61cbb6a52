package table

import (
	"context"
	"testing"

	"ferry/internal/dbtest"
)

// TestRawCopy: PostgreSQL to PostgreSQL streams COPY output as it is
// (keys with tabs, newlines, backslashes and bytea): the bytes written and
// read back hash alike, and verify finds the tables equal; a chunk copied
// again over changed rows is upserted and the extra row found.
func TestRawCopy(t *testing.T) {
	pg := dbtest.Postgres(t)
	pg.CreateDB(t, "raw_src")
	pg.CreateDB(t, "raw_dst")
	pg.MustExec(t, "raw_src", `CREATE TABLE t (k text COLLATE "C", b bytea, n numeric(12,2), f float8, PRIMARY KEY (k, b))`,
		`INSERT INTO t SELECT 'k' || lpad(i::text, 4, '0') || CASE i % 4 WHEN 0 THEN E'\t' WHEN 1 THEN E'\n' WHEN 2 THEN '\' ELSE '' END,
			decode(lpad(to_hex(i), 4, '0') || '00', 'hex'), i / 4.0, i / 3.0 FROM generate_series(1, 500) i`)
	src, dst := open(t, pg, "raw_src"), open(t, pg, "raw_dst")
	ctx := context.Background()
	pairs, err := Resolve(ctx, src, dst, []string{"t"}, true)
	if err != nil {
		t.Fatal(err)
	}
	p := pairs[0]
	if _, _, ok := rawPair(src, dst, p); !ok {
		t.Fatal("PostgreSQL to PostgreSQL of the same types does not stream as COPY output")
	}
	res, err := CopyChunk(ctx, src, dst, p, Chunk{Table: "t"}, CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 500 || res.Src != res.Dst || res.Repaired != 0 {
		t.Errorf("copy: %+v, want 500 rows landed as written", res)
	}
	if d := verifyAll(t, src, dst, pairs, 100); len(d) != 0 {
		t.Errorf("verify: %v", d)
	}
	// A destination row changed and one added behind the copy's back: the raw check
	// differs from what was written, and the row comparison finds the extra row.
	pg.MustExec(t, "raw_dst", "UPDATE t SET n = -1 WHERE k LIKE 'k0100%'", "INSERT INTO t VALUES ('k0101zz', '\\x00', 0, 0)")
	res, err = CopyChunk(ctx, src, dst, p, Chunk{Table: "t", Lo: Key{Val{K: KText, B: []byte("k0100")}, Val{K: KBytes, B: []byte{}}}}, CopyOptions{})
	if err != nil || res.Rows != 401 || res.Extra != 1 {
		t.Fatalf("copy again: %+v %v, want 401 rows and the extra one found", res, err)
	}
	if d := verifyAll(t, src, dst, pairs, 100); len(d) != 1 || d[0] != "EXTRA t/('k0101zz',x'00')" {
		t.Errorf("verify: %v", d)
	}
}

// TestRawFormats: a table of built-in types streams as binary COPY, one
// with a column whose binary form could carry an OID (an array, uuid) as
// text; both land as read, and binRows counts the rows of binary output
// cut anywhere.
func TestRawFormats(t *testing.T) {
	pg := dbtest.Postgres(t)
	pg.CreateDB(t, "fmt_src")
	pg.CreateDB(t, "fmt_dst")
	pg.MustExec(t, "fmt_src", "CREATE TABLE b (id int PRIMARY KEY, s text, n numeric(30,10), at timestamptz, j jsonb)",
		"INSERT INTO b SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE repeat('x', i % 7) END, i / 7.0, '2024-01-01'::timestamptz + i * interval '1.000001 s', ('{\"a\":' || i || '}')::jsonb FROM generate_series(1, 300) i",
		"CREATE TABLE o (id int PRIMARY KEY, tags text[], u uuid)",
		"INSERT INTO o SELECT i, ARRAY['a' || i, NULL], md5(i::text)::uuid FROM generate_series(1, 300) i")
	src, dst := open(t, pg, "fmt_src"), open(t, pg, "fmt_dst")
	ctx := context.Background()
	pairs, err := Resolve(ctx, src, dst, []string{"b", "o"}, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		want := map[string]string{"b": "binary", "o": "text"}[p.Src.Name]
		if got := copyFormat(p.Src); got != want {
			t.Errorf("table %s moves as %s, want %s", p.Src.Name, got, want)
		}
		var rows, bytes int64
		res, err := CopyChunk(ctx, src, dst, p, Chunk{Table: p.Src.Name}, CopyOptions{
			Wait:     func(_ context.Context, r, b int) error { rows += int64(r); bytes += int64(b); return nil },
			Progress: func(int64, int64) {},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Rows != 300 || rows != 300 || bytes != res.Bytes || res.Src != res.Dst || res.Repaired != 0 {
			t.Errorf("table %s: %+v (throttle saw %d rows, %d bytes), want 300 rows landed as written", p.Src.Name, res, rows, bytes)
		}
	}
	if d := verifyAll(t, src, dst, pairs, 100); len(d) != 0 {
		t.Errorf("verify: %v", d)
	}
	var out countBuf
	if err := src.(*postgres).copyOut(ctx, pairs[0].Src, nil, nil, "binary", &out); err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{1, 2, 3, 7, 19, 100, len(out.b)} {
		var s binRows
		n := 0
		for b := out.b; len(b) > 0; {
			k := min(cut, len(b))
			m, err := s.feed(b[:k])
			if err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
			n += m
			b = b[k:]
		}
		if n != 300 || s.state != binEnd {
			t.Errorf("binary output cut every %d bytes: %d rows (end %v), want 300", cut, n, s.state == binEnd)
		}
	}
}

type countBuf struct{ b []byte }

func (c *countBuf) Write(p []byte) (int, error) { c.b = append(c.b, p...); return len(p), nil }
