package table

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// MySQL to MySQL with the same column types, a chunk moves as the text
// the server prints: the source's rows of the chunk are read in one query
// over the text protocol (every value the bytes the server sent, never
// parsed into Go values) and written, as they arrive, as multi-row
// INSERT ... ON DUPLICATE KEY UPDATE statements whose text ferry builds
// itself (no per-value conversion by database/sql or the driver), in one
// transaction (a chunk copied again rewrites the same rows). Binary
// columns go as _binary literals, every other value but numbers as an
// escaped string literal, so every byte (0x00, tab, newline, backslash,
// quote, 4-byte UTF-8) arrives as read; NULL is NULL. The chunk is checked
// by reading the destination's range back the same way: the SHA-256 of
// its values (each framed, NULL apart from the empty string) must equal the SHA-256 of
// the values written. Both servers print a value of the same type alike
// under the same session settings (time zone UTC); when they do not, or
// the rows differ, the chunk is compared row by row as any other
// (VerifyChunk). Tables with FLOAT or DOUBLE columns do not move this way:
// the text protocol prints a FLOAT with 6 digits.

// myRawPair reports whether a chunk of p can move as MySQL text: both
// sides MySQL, each column of the same type and collation, none a float.
func myRawPair(src, dst DB, p Pair) (*mysqlDB, *mysqlDB, bool) {
	s, ok1 := src.(*mysqlDB)
	d, ok2 := dst.(*mysqlDB)
	if !ok1 || !ok2 || len(p.Src.Cols) != len(p.Dst.Cols) {
		return nil, nil, false
	}
	for i, c := range p.Src.Cols {
		dc := p.Dst.Cols[i]
		if !strings.EqualFold(c.Type, dc.Type) || c.Collate != dc.Collate || c.Kind != dc.Kind ||
			c.Kind == KFloat32 || c.Kind == KFloat64 {
			return nil, nil, false
		}
	}
	return s, d, true
}

// rawHash hashes a chunk's values as the text protocol carries them.
type rawHash struct {
	h   hash.Hash
	buf []byte
}

func newRawHash() *rawHash { return &rawHash{h: sha256.New()} }

// add hashes one row (HashRawRow).
func (r *rawHash) add(vals []sql.RawBytes) { r.buf = HashRawRow(r.h, r.buf, vals) }

// HashRawRow writes one row's values as the text protocol gave them to h,
// each a NULL mark, or a length and its bytes, built in buf, which it
// returns for the next row (bench/tablesexact_test.go's copier hashes
// alike).
func HashRawRow(h hash.Hash, buf []byte, vals []sql.RawBytes) []byte {
	b := buf[:0]
	for _, v := range vals {
		if v == nil {
			b = append(b, 0)
			continue
		}
		b = append(b, 1)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	h.Write(b)
	return b
}

func (r *rawHash) sum() string { return hex.EncodeToString(r.h.Sum(nil)[:16]) }

// rawRows runs SELECT s's columns of [lo, hi) in key order over the text
// protocol and calls fn with each row's values (valid until fn returns;
// nil for NULL).
func (m *mysqlDB) rawRows(ctx context.Context, s *Schema, lo, hi Key, fn func([]sql.RawBytes) error) error {
	var args []any
	q := selectSQL(m, s, s.colNames(), rangeWhere(m, s, lo, hi, nil, &args), 0)
	rows, err := m.wr.QueryContext(ctx, q, args...) // interpolated: the text protocol
	if err != nil {
		return err
	}
	defer rows.Close()
	vals := make([]sql.RawBytes, len(s.Cols))
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

// copyChunkMyRaw is CopyChunk of a chunk that moves as MySQL text
// (myRawPair). It reports whether the destination's range reads back as
// the values written.
func copyChunkMyRaw(ctx context.Context, src, dst *mysqlDB, p Pair, c Chunk, o CopyOptions) (CopyResult, bool, error) {
	var res CopyResult
	head, tail := dst.upsertSQL(p.Dst)
	quote := make([]byte, len(p.Dst.Cols)) // 0: as is (a number), 'b': _binary'...', 's': '...'
	for i, col := range p.Dst.Cols {
		switch col.Kind {
		case KNum:
		case KBytes:
			quote[i] = 'b'
		default:
			quote[i] = 's'
		}
	}
	written := newRawHash()
	tx, err := dst.wr.BeginTx(ctx, nil)
	if err != nil {
		return res, false, fmt.Errorf("write destination %s: %w", c.Name(), err)
	}
	defer tx.Rollback() // after Commit, a no-op
	stmt := make([]byte, 0, maxStatement+64<<10)
	n, bytes := 0, 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		if o.Wait != nil {
			if err := o.Wait(ctx, n, bytes); err != nil {
				return err
			}
		}
		stmt = append(stmt, tail...)
		if _, err := tx.ExecContext(ctx, string(stmt)); err != nil {
			return fmt.Errorf("write destination %s: %w", c.Name(), err)
		}
		res.Rows += int64(n)
		res.Bytes += int64(bytes)
		if o.Progress != nil {
			o.Progress(int64(n), int64(bytes))
		}
		stmt, n, bytes = stmt[:0], 0, 0
		return nil
	}
	var werr error // a write's error, apart from the read's
	err = src.rawRows(ctx, p.Src, c.Lo, c.Hi, func(vals []sql.RawBytes) error {
		written.add(vals)
		if n == 0 {
			stmt = append(stmt, head...)
		} else {
			stmt = append(stmt, ", "...)
		}
		stmt = append(stmt, '(')
		for i, v := range vals {
			if i > 0 {
				stmt = append(stmt, ", "...)
			}
			bytes += len(v)
			switch {
			case v == nil:
				stmt = append(stmt, "NULL"...)
			case quote[i] == 0:
				stmt = append(stmt, v...)
			default:
				if quote[i] == 'b' {
					stmt = append(stmt, "_binary"...)
				}
				stmt = AppendQuoted(stmt, v)
			}
		}
		stmt = append(stmt, ')')
		n++
		if n >= o.Batch || len(stmt) >= maxStatement {
			if werr = flush(); werr != nil {
				return werr
			}
		}
		return nil
	})
	if err == nil {
		err = flush()
		werr = err
	}
	if err != nil {
		if werr != nil {
			return res, false, werr
		}
		return res, false, fmt.Errorf("%w %s: %w", errRead, c.Name(), err)
	}
	if err := tx.Commit(); err != nil {
		return res, false, fmt.Errorf("write destination %s: %w", c.Name(), err)
	}
	landed := newRawHash()
	if err := dst.rawRows(ctx, p.Dst, c.Lo, c.Hi, func(vals []sql.RawBytes) error { landed.add(vals); return nil }); err != nil {
		return res, false, fmt.Errorf("%w: check %s: %w", errRead, c.Name(), err)
	}
	res.Src, res.Dst = written.sum(), landed.sum()
	return res, res.Src == res.Dst, nil
}

// AppendQuoted appends v as a MySQL string literal, escaped with
// backslashes (ferry's sessions never set NO_BACKSLASH_ESCAPES).
func AppendQuoted(b, v []byte) []byte {
	b = append(b, '\'')
	start := 0
	for i, c := range v {
		var e byte
		switch c {
		case 0:
			e = '0'
		case '\n':
			e = 'n'
		case '\r':
			e = 'r'
		case 0x1a:
			e = 'Z'
		case '\'', '"', '\\':
			e = c
		default:
			continue
		}
		b = append(b, v[start:i]...)
		b = append(b, '\\', e)
		start = i + 1
	}
	b = append(b, v[start:]...)
	return append(b, '\'')
}
