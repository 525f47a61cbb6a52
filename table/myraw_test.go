package table

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"ferry/internal/dbtest"
)

// TestMySQLRawCopy: a MariaDB to MariaDB chunk of a table without floats
// moves as text (myRawPair), and every awkward value arrives exactly: each
// byte of 0x00-0xff in a BLOB and a binary key ending in 0x00, text with
// 0x00, tab, newline, CR, 0x1a, backslash, quotes, a literal \N and 'N',
// 4-byte UTF-8, latin1, NULL against the empty string and 0, microseconds, 30-digit
// decimals, the largest unsigned bigint. The check reads back what the
// values written hash to; copied again over rows changed at the
// destination, the chunk rewrites them.
func TestMySQLRawCopy(t *testing.T) {
	maria := dbtest.MariaDB(t)
	maria.CreateDB(t, "raw_src")
	maria.CreateDB(t, "raw_dst")
	var all strings.Builder
	for i := range 256 {
		fmt.Fprintf(&all, "%02x", i)
	}
	create := `CREATE TABLE odd (k VARBINARY(16) NOT NULL PRIMARY KEY, s VARCHAR(50) NULL, t TEXT, l VARCHAR(10) CHARACTER SET latin1,
		n INT NULL, d DECIMAL(40,10), ts DATETIME(6), tz TIMESTAMP(6) NULL DEFAULT NULL, dt DATE, b BLOB, j JSON,
		e ENUM('a','N'), u BIGINT UNSIGNED)`
	maria.MustExec(t, "raw_src", create,
		`INSERT INTO odd VALUES
		(x'00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		(x'0000', '', '', '', 0, 0, '1970-01-01 00:00:00', '1970-01-01 00:00:01', '1000-01-01', x'', '{}', 'a', 0),
		(x'01', 'N', '\\N', 'N', -2147483648, '12345678901234567890.1234567890', '2024-02-29 23:59:59.123456',
		 '2038-01-19 03:14:07.999999', '9999-12-31', x'`+all.String()+`', '{"b": 1, "a": [1.50, "x\\u0000"]}', 'N', 18446744073709551615),
		(x'0100', 'nul\0tab\tnl\ncr\rsub\Zbs\\q''dq"', 'NULL', 'café', 2147483647, '-0.0000000001',
		 '0001-01-01 00:00:00.000001', NULL, '2000-01-01', x'00000000', 'null', NULL, 1),
		(x'6100', '😀 4-byte 𝄞', 'ümlaut\\', 'ÿ', 7, '99999999999999999999999999999.9999999999', '2024-01-01 00:00:00.5',
		 '2024-01-01 00:00:00.5', NULL, x'5c4e00', '[]', 'a', NULL)`)
	maria.MustExec(t, "raw_dst", create)
	ctx := context.Background()
	src, dst := open(t, maria, "raw_src"), open(t, maria, "raw_dst")
	pairs, err := Resolve(ctx, src, dst, []string{"odd"}, false)
	if err != nil {
		t.Fatal(err)
	}
	p := pairs[0]
	s, d, ok := myRawPair(src, dst, p)
	if !ok {
		t.Fatal("a MariaDB table without floats does not move as text")
	}
	dump := func(db string) string {
		c := maria.MustOpen(t, db)
		rows, err := c.Query(`SELECT HEX(k), ISNULL(s), HEX(s), ISNULL(t), HEX(t), ISNULL(l), HEX(l), n, d, ts, tz, dt,
			ISNULL(b), HEX(b), j, e, u FROM odd ORDER BY k`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out strings.Builder
		vals := make([]sql.NullString, 17)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for _, v := range vals {
				fmt.Fprintf(&out, "%v|%q ", v.Valid, v.String)
			}
			out.WriteString("\n")
		}
		return out.String()
	}
	want := dump("raw_src")
	c := Chunk{Table: "odd"}
	res, equal, err := copyChunkMyRaw(ctx, s, d, p, c, CopyOptions{Batch: 2}) // statements of 2 rows
	if err != nil || !equal || res.Rows != 5 {
		t.Fatalf("copy: %d rows, check equal %v, %v", res.Rows, equal, err)
	}
	if got := dump("raw_dst"); got != want {
		t.Fatalf("landed:\n%s\nwant:\n%s", got, want)
	}
	// Changed behind ferry's back, then copied again: the same rows.
	maria.MustExec(t, "raw_dst", "UPDATE odd SET s = 'x', b = NULL WHERE k = x'0100'", "UPDATE odd SET s = NULL WHERE k = x'0000'")
	res, equal, err = copyChunkMyRaw(ctx, s, d, p, c, CopyOptions{Batch: 5000})
	if err != nil || !equal || res.Rows != 5 {
		t.Fatalf("copy again: %d rows, check equal %v, %v", res.Rows, equal, err)
	}
	if got := dump("raw_dst"); got != want {
		t.Fatalf("copied again:\n%s\nwant:\n%s", got, want)
	}
	// An extra row in the range: the text check differs, and CopyChunk's
	// comparison names it.
	maria.MustExec(t, "raw_dst", "INSERT INTO odd (k) VALUES (x'02')")
	if _, equal, err = copyChunkMyRaw(ctx, s, d, p, c, CopyOptions{}); err != nil || equal {
		t.Fatalf("an extra row: check equal %v, %v", equal, err)
	}
	r, err := CopyChunk(ctx, src, dst, p, c, CopyOptions{})
	if err != nil || r.Extra != 1 {
		t.Fatalf("CopyChunk with an extra row: %d extra, %v", r.Extra, err)
	}
	// The canonical verify agrees with the text copy.
	if v, err := VerifyChunk(ctx, src, dst, p, c, Options{}); err != nil || len(v.Diffs) != 1 || v.Diffs[0].Kind != Extra {
		t.Fatalf("verify: %v, %v", v.Diffs, err)
	}
}

// TestMySQLRawFloats: a table with a FLOAT column does not move as text
// (the text protocol prints it with 6 digits) and still arrives exactly.
func TestMySQLRawFloats(t *testing.T) {
	maria := dbtest.MariaDB(t)
	maria.CreateDB(t, "rawf_src")
	maria.CreateDB(t, "rawf_dst")
	maria.MustExec(t, "rawf_src", "CREATE TABLE f (id INT PRIMARY KEY, x FLOAT, y DOUBLE)",
		"INSERT INTO f VALUES (1, 16777217, 0.1), (2, 1.1, 2.5e-300), (3, -3.4e38, 1.7976931348623157e308)")
	src, dst := open(t, maria, "rawf_src"), open(t, maria, "rawf_dst")
	pairs := copyAll(t, src, dst, []string{"f"}, 100)
	if _, _, ok := myRawPair(src, dst, pairs[0]); ok {
		t.Fatal("a table with floats moves as text")
	}
	if d := verifyAll(t, src, dst, pairs, 100); len(d) != 0 {
		t.Fatalf("verify found %v", d)
	}
}
