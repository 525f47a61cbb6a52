package table

import (
	"context"
	"fmt"
	"time"
)

// An incremental round (updatedColumn set, a round after the first)
// copies a chunk's changed rows only: those whose updatedColumn is at or
// after the round's lower bound, since (the high-water mark the master
// sampled at the start of an earlier round, less its margin; see
// master/table.go). Deletions leave no changed row behind, so each chunk
// also compares its keys, and only its keys, on both sides: a digest of
// the keys in key order, bisected down to ranges compared key by key as
// Verify does with whole rows. A key the destination lacks is copied; a
// key the source lacks is deleted at the destination when the job
// mirrors, counted otherwise.

// UpdatedCol finds a table's updatedColumn and refuses one ferry cannot
// select changed rows by: missing, or not a number, date or timestamp.
func UpdatedCol(s *Schema, name string) (int, error) {
	i := s.col(name)
	if i < 0 {
		return -1, fmt.Errorf("table %s: updatedColumn %s: no such column", s.Name, name)
	}
	switch s.Cols[i].Kind {
	case KNum, KTimestamp, KTimestampTZ, KDate:
		return i, nil
	}
	return -1, fmt.Errorf("table %s: updatedColumn %s is %s: it must be a number, a date or a timestamp that grows when a row changes",
		s.Name, name, s.Cols[i].Type)
}

// keysOnly is s reduced to its key's columns, in key order: rows read
// through it are keys, digests of it digest the keys alone.
func (s *Schema) keysOnly() *Schema {
	k, err := s.project(s.KeyCols())
	if err != nil { // s has its own key columns
		panic(err)
	}
	return k
}

// Mark returns the high-water mark of a table's updatedColumn now: the
// literal of its greatest value ("NULL" for an empty table).
func Mark(ctx context.Context, db DB, s *Schema, updated string) (string, error) {
	col, err := UpdatedCol(s, updated)
	if err != nil {
		return "", err
	}
	v, err := db.Max(ctx, s, col)
	if err != nil {
		return "", fmt.Errorf("table %s: high-water mark of %s: %w", s.Name, updated, err)
	}
	return Key{v}.String(), nil
}

// Since is the lower bound of a round's changed rows from a mark sampled
// earlier (a Mark literal): a timestamp less margin (the writers' clocks
// may lag the one that wrote the mark by that much), a date less the whole
// days that margin covers, a number as it is. "NULL" (the table was empty)
// stays: every row is new.
func Since(mark string, margin time.Duration) (string, error) {
	k, err := ParseKey(mark)
	if err != nil || len(k) != 1 {
		return "", fmt.Errorf("high-water mark %q: %v", mark, err)
	}
	v := k[0]
	switch v.K {
	case KTimestamp, KTimestampTZ:
		v = TimeVal(v.K, v.Time().Add(-margin))
	case KDate:
		d, err := time.Parse("2006-01-02", string(v.B))
		if err != nil {
			return "", fmt.Errorf("high-water mark %q: %v", mark, err)
		}
		days := int((margin + 24*time.Hour - 1) / (24 * time.Hour))
		v = DateVal(d.AddDate(0, 0, -days))
	}
	return Key{v}.String(), nil
}

// IncrResult is what an incremental round did to one chunk.
type IncrResult struct {
	Changed  int64 // rows whose updatedColumn is at or after since, written
	Bytes    int64
	Missing  int // keys the destination lacked, copied
	Extra    int // keys the source lacks
	Deleted  int // of them, deleted (mirror)
	Rewrites int // rows written again after the check found them different
}

// CopyChanged runs an incremental round on chunk c: the source's rows of
// the chunk whose column col is at or after since (every row when since
// is NULL) are upserted a batch at a time, then read back on both sides by
// key and compared (a row still different after the re-reads of confirm is
// copied again, up to three times); then the chunk's keys are compared
// (keysOnly): missing rows are copied, extra rows deleted when o.Mirror.
// The destination's identity counters then move past the chunk's values.
func CopyChanged(ctx context.Context, src, dst DB, p Pair, c Chunk, col int, since Val, o CopyOptions) (IncrResult, error) {
	res, err := copyChanged(ctx, src, dst, p, c, col, since, o)
	if err == nil {
		err = advanceCounters(ctx, dst, p.Dst, c.Lo, c.Hi)
	}
	return res, err
}

func copyChanged(ctx context.Context, src, dst DB, p Pair, c Chunk, col int, since Val, o CopyOptions) (IncrResult, error) {
	if o.Batch <= 0 {
		o.Batch = 5000
	}
	var res IncrResult
	err := moveBatches(ctx, dst, p, c, o, func(after Key, fn func(Row) error) error {
		return src.ScanChanged(ctx, p.Src, c.Lo, c.Hi, after, col, since, o.Batch, fn)
	}, func(batch []Row, bytes int) error {
		res.Changed += int64(len(batch))
		res.Bytes += int64(bytes)
		// What landed: the batch's rows read again on both sides.
		keys := make([]Key, len(batch))
		for i, r := range batch {
			keys[i] = p.Src.KeyOf(r)
		}
		for try := 0; ; try++ {
			diffs, err := confirm(ctx, src, dst, p, keys, o.withDefaults())
			if err != nil {
				return fmt.Errorf("%w: check %s: %w", errRead, c.Name(), err)
			}
			var fix []Diff
			for _, d := range diffs {
				if d.Kind != Extra || o.Mirror {
					fix = append(fix, d)
				}
			}
			if len(fix) == 0 {
				break
			}
			if try == 3 {
				return fmt.Errorf("%w: %d still differ: %s", ErrMismatch, len(fix), names(fix, 5))
			}
			w, _, err := Repair(ctx, src, dst, p, fix, o.Mirror)
			if err != nil {
				return fmt.Errorf("rewrite %s: %w", c.Name(), err)
			}
			res.Rewrites += w
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	// Deletions (and rows the destination lacks): the chunk's keys.
	kp := Pair{Src: p.Src.keysOnly(), Dst: p.Dst.keysOnly()}
	v, err := VerifyChunk(ctx, src, dst, kp, c, o.Options)
	if err != nil {
		return res, fmt.Errorf("%w: compare the keys of %s: %w", errRead, c.Name(), err)
	}
	var fix []Diff
	for _, d := range v.Diffs {
		switch d.Kind {
		case Missing:
			res.Missing++
			fix = append(fix, d)
		case Extra:
			res.Extra++
			if o.Mirror {
				fix = append(fix, d)
			}
		}
	}
	if len(fix) > 0 {
		_, del, err := Repair(ctx, src, dst, p, fix, o.Mirror)
		if err != nil {
			return res, fmt.Errorf("rewrite %s: %w", c.Name(), err)
		}
		res.Deleted = del
	}
	return res, nil
}

// changedWhere is "col >= since" ("" when since is NULL: every row).
func changedWhere(d dialect, s *Schema, col int, since Val, args *[]any) string {
	if since.IsNull() {
		return ""
	}
	return d.ident(s.Cols[col].Name) + " >= " + d.param(args, s.Cols[col], since)
}

// and joins conditions, "" ones left out.
func and(conds ...string) string {
	out := ""
	for _, c := range conds {
		switch {
		case c == "":
		case out == "":
			out = c
		default:
			out += " AND " + c
		}
	}
	return out
}
