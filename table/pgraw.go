package table

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
)

// PostgreSQL to PostgreSQL with the same column types, a chunk moves as
// COPY text: the source's COPY TO output is written to the destination's
// COPY FROM as it is, never parsed into values but for the last row's key
// (where the next batch starts), and checked by reading the destination's
// range back the same way: the SHA-256 of its COPY text must equal the
// SHA-256 of the bytes written. Both sides print each value with its
// type's output function under the same session settings (ferry sets
// DateStyle, TimeZone, extra_float_digits and bytea_output), so equal
// values print alike and the text compares as the values do. When the
// two differ, the chunk is compared row by row as any other (VerifyChunk).

// rawPair reports whether a chunk of p can move as COPY text: both sides
// PostgreSQL, each column of the same declared type.
func rawPair(src, dst DB, p Pair) (*postgres, *postgres, bool) {
	s, ok1 := src.(*postgres)
	d, ok2 := dst.(*postgres)
	if !ok1 || !ok2 || len(p.Src.Cols) != len(p.Dst.Cols) {
		return nil, nil, false
	}
	for i, c := range p.Src.Cols {
		if c.Type != p.Dst.Cols[i].Type {
			return nil, nil, false
		}
	}
	return s, d, true
}

// pgLit is PostgreSQL's dialect with values inlined as literals: COPY
// (SELECT ...) takes no parameters.
type pgLit struct{ *postgres }

func (l pgLit) param(_ *[]any, c Col, v Val) string {
	if v.IsNull() {
		return "NULL"
	}
	return "'" + strings.ReplaceAll(pgText(v), "'", "''") + "'::" + c.Type
}

// copyOut runs COPY (SELECT s's columns of [lo, hi) after `after`, in key
// order, at most limit rows) TO STDOUT into w.
func (p *postgres) copyOut(ctx context.Context, s *Schema, lo, hi, after Key, limit int, w *bytes.Buffer, h hash.Hash) error {
	l := pgLit{p}
	q := "COPY (" + selectSQL(l, s, s.colNames(), rangeWhere(l, s, lo, hi, after, nil), limit) + ") TO STDOUT"
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	var out interface{ Write([]byte) (int, error) } = w
	if w == nil {
		out = h
	}
	_, err = c.Conn().PgConn().CopyTo(ctx, out, q)
	return err
}

// copyChunkRaw is CopyChunk of a chunk that moves as COPY text (rawPair).
func copyChunkRaw(ctx context.Context, src, dst *postgres, p Pair, c Chunk, o CopyOptions) (CopyResult, bool, error) {
	var res CopyResult
	var after Key
	written := sha256.New()
	var buf bytes.Buffer
	for {
		buf.Reset()
		if err := src.copyOut(ctx, p.Src, c.Lo, c.Hi, after, o.Batch, &buf, nil); err != nil {
			return res, false, fmt.Errorf("%w %s: %w", errRead, c.Name(), err)
		}
		data := buf.Bytes()
		n := bytes.Count(data, []byte{'\n'})
		if n == 0 {
			break
		}
		first, err := copyKey(p.Src, data[:bytes.IndexByte(data, '\n')])
		if err != nil {
			return res, false, fmt.Errorf("%w %s: %w", errRead, c.Name(), err)
		}
		lastLine := data[:len(data)-1]
		lastLine = lastLine[bytes.LastIndexByte(lastLine, '\n')+1:]
		last, err := copyKey(p.Src, lastLine)
		if err != nil {
			return res, false, fmt.Errorf("%w %s: %w", errRead, c.Name(), err)
		}
		if o.Wait != nil {
			if err := o.Wait(ctx, n, len(data)); err != nil {
				return res, false, err
			}
		}
		if err := dst.writeCopy(ctx, p.Dst, data, first, last); err != nil {
			return res, false, fmt.Errorf("write destination %s: %w", c.Name(), err)
		}
		written.Write(data)
		res.Rows += int64(n)
		res.Bytes += int64(len(data))
		if o.Progress != nil {
			o.Progress(int64(n), int64(len(data)))
		}
		if n < o.Batch {
			break
		}
		after = last
	}
	landed := sha256.New()
	if err := dst.copyOut(ctx, p.Dst, c.Lo, c.Hi, nil, 0, nil, landed); err != nil {
		return res, false, fmt.Errorf("%w: check %s: %w", errRead, c.Name(), err)
	}
	res.Src, res.Dst = hex.EncodeToString(written.Sum(nil)[:16]), hex.EncodeToString(landed.Sum(nil)[:16])
	return res, res.Src == res.Dst, nil
}

// copyKey reads the key of one row in COPY's text format.
func copyKey(s *Schema, line []byte) (Key, error) {
	fields := bytes.Split(line, []byte{'\t'})
	if len(fields) != len(s.Cols) {
		return nil, fmt.Errorf("table %s: a COPY row of %d fields, want %d", s.Name, len(fields), len(s.Cols))
	}
	k := make(Key, len(s.Key))
	for i, ci := range s.Key {
		f := fields[ci]
		var raw []byte
		if string(f) != `\N` {
			raw = unescapeCopy(f)
		}
		v, err := pgVal(s.Cols[ci].Kind, raw)
		if err != nil {
			return nil, fmt.Errorf("table %s column %s: %w", s.Name, s.Cols[ci].Name, err)
		}
		k[i] = v
	}
	return k, nil
}

// unescapeCopy undoes COPY text's backslash escapes (those COPY TO
// writes).
func unescapeCopy(f []byte) []byte {
	if bytes.IndexByte(f, '\\') < 0 {
		return append([]byte{}, f...)
	}
	out := make([]byte, 0, len(f))
	for i := 0; i < len(f); i++ {
		if f[i] != '\\' || i+1 == len(f) {
			out = append(out, f[i])
			continue
		}
		i++
		switch f[i] {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'v':
			out = append(out, '\v')
		default:
			out = append(out, f[i])
		}
	}
	return out
}
