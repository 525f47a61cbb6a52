package table

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"

	"github.com/jackc/pgx/v5"
)

// PostgreSQL to PostgreSQL with the same column types, a chunk streams:
// the source's COPY TO output of the whole chunk is piped, as it comes
// and never parsed into values, into the destination's COPY FROM, in one
// transaction. It is checked by reading the destination's range back the
// same way: the SHA-256 of its COPY output must equal the SHA-256 of the
// bytes written. The format is binary when every column is of a built-in
// type whose binary form names no type OID (a binary value received and
// sent again is the same bytes), else text: both sides print each value
// with its type's output function under the same session settings (ferry
// sets DateStyle, TimeZone, extra_float_digits and bytea_output), so equal
// values print alike. When the two differ, the chunk is compared row by
// row as any other (VerifyChunk).

// rawPair reports whether a chunk of p can move as COPY output: both sides
// PostgreSQL, each column of the same declared type and collation.
func rawPair(src, dst DB, p Pair) (*postgres, *postgres, bool) {
	s, ok1 := src.(*postgres)
	d, ok2 := dst.(*postgres)
	if !ok1 || !ok2 || len(p.Src.Cols) != len(p.Dst.Cols) {
		return nil, nil, false
	}
	for i, c := range p.Src.Cols {
		if c.Type != p.Dst.Cols[i].Type || c.Collate != p.Dst.Cols[i].Collate {
			return nil, nil, false
		}
	}
	return s, d, true
}

// copyFormat is the COPY format a chunk of s moves in: binary when each
// column's type is one ferry knows (pgKind) and built in, none of them
// an array, enum or composite, whose binary forms carry OIDs that differ
// between databases.
func copyFormat(s *Schema) string {
	for _, c := range s.Cols {
		if c.Kind == KOther || strings.HasSuffix(c.Type, "[]") {
			return "text"
		}
	}
	return "binary"
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

// copyOut runs COPY (SELECT s's columns of [lo, hi) in key order) TO
// STDOUT in format into w.
func (p *postgres) copyOut(ctx context.Context, s *Schema, lo, hi Key, format string, w io.Writer) error {
	l := pgLit{p}
	q := "COPY (" + selectSQL(l, s, s.colNames(), rangeWhere(l, s, lo, hi, nil, nil), 0) + ") TO STDOUT (FORMAT " + format + ")"
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	_, err = c.Conn().PgConn().CopyTo(ctx, w, q)
	return err
}

// copyChunkRaw is CopyChunk of a chunk that streams as COPY output
// (rawPair). It reports whether the destination's range reads back as
// the bytes written.
func copyChunkRaw(ctx context.Context, src, dst *postgres, p Pair, c Chunk, o CopyOptions) (CopyResult, bool, error) {
	format := copyFormat(p.Src)
	res, written, err := streamChunk(ctx, src, dst, p, c, format, o)
	if err != nil {
		return res, false, err
	}
	landed := sha256.New()
	if err := dst.copyOut(ctx, p.Dst, c.Lo, c.Hi, format, landed); err != nil {
		return res, false, fmt.Errorf("%w: check %s: %w", errRead, c.Name(), err)
	}
	res.Src, res.Dst = hex.EncodeToString(written[:16]), hex.EncodeToString(landed.Sum(nil)[:16])
	return res, res.Src == res.Dst, nil
}

// streamChunk copies the chunk's rows from the source's COPY TO into the
// destination's COPY FROM, in one transaction: straight into the table
// when its range holds no row at the destination (a first copy), else
// through a temporary table and INSERT ... ON CONFLICT (the chunk copied
// again rewrites the same rows). A straight COPY that meets a row written
// meanwhile is done again as the upsert, reading the source again. It
// returns the SHA-256 of the bytes written.
func streamChunk(ctx context.Context, src, dst *postgres, p Pair, c Chunk, format string, o CopyOptions) (CopyResult, []byte, error) {
	var res CopyResult
	var sum []byte
	pass := func(tx pgx.Tx, upsert bool) error {
		pr, pw := io.Pipe()
		cw := &copyCounter{ctx: ctx, w: pw, h: sha256.New(), binary: format == "binary", wait: o.Wait, progress: o.Progress,
			buf: make([]byte, 0, copyPiece+4<<10)}
		read := make(chan error, 1)
		go func() {
			err := src.copyOut(ctx, p.Src, c.Lo, c.Hi, format, cw)
			if err == nil {
				err = cw.done()
			}
			pw.CloseWithError(err) // nil: the destination reads EOF
			read <- err
		}()
		var err error
		if upsert {
			err = dst.upsert(ctx, tx, p.Dst, pr, format)
		} else {
			_, err = tx.Conn().PgConn().CopyFrom(ctx, pr, "COPY "+dst.table(p.Dst)+" ("+dst.colList(p.Dst)+") FROM STDIN (FORMAT "+format+")")
		}
		pr.CloseWithError(errWriteStopped) // the source stops if the destination did
		switch rerr := <-read; {
		case cw.waitErr != nil:
			return waitFailed{cw.waitErr}
		case rerr != nil && !errors.Is(rerr, errWriteStopped):
			return fmt.Errorf("%w %s: %w", errRead, c.Name(), rerr)
		}
		res = CopyResult{Rows: cw.rows, Bytes: cw.bytes}
		sum = cw.h.Sum(nil)
		return err
	}
	direct := true
	err := pgx.BeginFunc(ctx, dst.pool, func(tx pgx.Tx) error {
		var args []any
		var one int
		q := "SELECT 1 FROM " + dst.table(p.Dst)
		if w := rangeWhere(dst, p.Dst, c.Lo, c.Hi, nil, &args); w != "" {
			q += " WHERE " + w
		}
		err := tx.QueryRow(ctx, q+" LIMIT 1", args...).Scan(&one)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		default:
			direct = false
		}
		return pass(tx, !direct)
	})
	if direct && isUniqueViolation(err) {
		err = pgx.BeginFunc(ctx, dst.pool, func(tx pgx.Tx) error { return pass(tx, true) })
	}
	var wf waitFailed
	switch {
	case err == nil:
	case errors.Is(err, errRead):
		return res, nil, err
	case errors.As(err, &wf):
		return res, nil, wf.err
	default:
		return res, nil, fmt.Errorf("write destination %s: %w", c.Name(), err)
	}
	return res, sum, nil
}

// errWriteStopped ends a chunk's source COPY when the destination's COPY
// stopped reading it (it failed).
var errWriteStopped = errors.New("the destination stopped reading")

// waitFailed is the error of the throttle's wait (its context's end).
type waitFailed struct{ err error }

func (w waitFailed) Error() string { return w.err.Error() }

// copyCounter passes COPY output (a message a row) on to w in pieces of
// up to copyPiece bytes, counting its rows and bytes; before each piece
// goes on it waits for the throttle, then hashes it into h and reports
// progress.
type copyCounter struct {
	ctx         context.Context
	w           io.Writer
	h           hash.Hash
	binary      bool
	bin         binRows
	buf         []byte
	pending     int // rows in buf
	rows, bytes int64
	wait        func(ctx context.Context, rows, bytes int) error
	progress    func(rows, bytes int64)
	waitErr     error
}

// copyPiece is the size of the pieces a chunk's COPY output moves in.
const copyPiece = 64 << 10

func (c *copyCounter) Write(b []byte) (int, error) {
	if c.binary {
		n, err := c.bin.feed(b)
		if err != nil {
			return 0, err
		}
		c.pending += n
	} else {
		c.pending += bytes.Count(b, []byte{'\n'})
	}
	c.buf = append(c.buf, b...)
	if len(c.buf) >= copyPiece {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

func (c *copyCounter) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	if c.wait != nil {
		if err := c.wait(c.ctx, c.pending, len(c.buf)); err != nil {
			c.waitErr = err
			return err
		}
	}
	c.h.Write(c.buf)
	if _, err := c.w.Write(c.buf); err != nil {
		return err
	}
	c.rows += int64(c.pending)
	c.bytes += int64(len(c.buf))
	if c.progress != nil {
		c.progress(int64(c.pending), int64(len(c.buf)))
	}
	c.buf, c.pending = c.buf[:0], 0
	return nil
}

// done passes on what is left, once the output ended where it should
// (binary: after its trailer).
func (c *copyCounter) done() error {
	if c.binary && c.bin.state != binEnd {
		return errors.New("binary COPY output ended early")
	}
	return c.flush()
}

// binRows follows COPY's binary format as it streams past, counting its
// rows: a 19-byte header (11-byte signature, flags, extension length) and
// its extension, then per row a 16-bit field count and per field a
// 32-bit length (-1: NULL) and its bytes, and a field count of -1 at the
// end.
type binRows struct {
	state  int
	acc    []byte // bytes of the fixed-size part being read
	skip   int64  // bytes to pass over before the next part
	fields int    // fields left in the row
}

const (
	binHeader = iota
	binTuple
	binLen
	binEnd
)

var binSignature = []byte("PGCOPY\n\xff\r\n\x00")

func (s *binRows) need() int {
	switch s.state {
	case binHeader:
		return 19
	case binTuple:
		return 2
	}
	return 4
}

func (s *binRows) feed(b []byte) (rows int, err error) {
	for len(b) > 0 {
		if s.skip > 0 {
			k := int(min(s.skip, int64(len(b))))
			s.skip -= int64(k)
			b = b[k:]
			continue
		}
		if s.state == binEnd {
			return rows, errors.New("binary COPY output goes on after its end")
		}
		k := min(s.need()-len(s.acc), len(b))
		s.acc = append(s.acc, b[:k]...)
		b = b[k:]
		if len(s.acc) < s.need() {
			continue
		}
		a := s.acc
		s.acc = s.acc[:0]
		switch s.state {
		case binHeader:
			if !bytes.Equal(a[:11], binSignature) {
				return rows, errors.New("not COPY binary output")
			}
			s.skip = int64(binary.BigEndian.Uint32(a[15:19]))
			s.state = binTuple
		case binTuple:
			n := int16(binary.BigEndian.Uint16(a))
			if n == -1 {
				s.state = binEnd
				continue
			}
			if n < 0 {
				return rows, fmt.Errorf("binary COPY: a row of %d fields", n)
			}
			rows++
			if s.fields = int(n); n > 0 {
				s.state = binLen
			}
		case binLen:
			if l := int32(binary.BigEndian.Uint32(a)); l > 0 {
				s.skip = int64(l)
			}
			if s.fields--; s.fields == 0 {
				s.state = binTuple
			}
		}
	}
	return rows, nil
}
