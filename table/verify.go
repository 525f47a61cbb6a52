package table

import (
	"context"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
)

// What a verify finds of a row.
const (
	Missing   = "MISSING"   // in the source, not in the destination
	Different = "DIFFERENT" // in both, with other values
	Extra     = "EXTRA"     // in the destination, not in the source
)

// Diff is one row that differs.
type Diff struct {
	Kind   string
	Table  string
	Key    Key
	Detail string
}

// Name is the row's key as reports write it: "table/pk".
func (d Diff) Name() string { return RowName(d.Table, d.Key) }

// leafRows is the size of a range that verify compares row by row rather
// than bisecting further.
const leafRows = 256

// Options tune verify and copy.
type Options struct {
	// Rereads is how many times a row found different is read again on
	// both sides, Pause apart (doubling), before it is called different:
	// a live source (dual writes) changes rows while they are compared.
	Rereads int
	Pause   time.Duration
}

func (o Options) withDefaults() Options {
	if o.Rereads <= 0 {
		o.Rereads = 4
	}
	if o.Pause <= 0 {
		o.Pause = 200 * time.Millisecond
	}
	return o
}

// ChunkResult is what verify found of one chunk.
type ChunkResult struct {
	Chunk    Chunk
	Src, Dst *Digest
	Diffs    []Diff
	// Settled counts the rows that differed when the chunk was read and
	// were equal when read again (a source written meanwhile).
	Settled int
}

// VerifyChunk compares a chunk's rows on both sides: the digests of the
// whole range first; when they differ, the range is bisected at the key
// halfway through it (of the side with more rows), each half compared by
// digest again, down to ranges of leafRows rows compared row by row. A
// row found different is read again on both sides (o.Rereads) and named
// only if it still differs.
func VerifyChunk(ctx context.Context, src, dst DB, p Pair, c Chunk, o Options) (ChunkResult, error) {
	o = o.withDefaults()
	res := ChunkResult{Chunk: c}
	var err error
	res.Src, res.Dst, err = digestBoth(ctx, src, dst, p, c.Lo, c.Hi)
	if err != nil {
		return res, err
	}
	if res.Src.Rows == res.Dst.Rows && res.Src.Sum() == res.Dst.Sum() {
		return res, nil
	}
	cands, err := bisect(ctx, src, dst, p, c.Lo, c.Hi, res.Src.Rows, res.Dst.Rows)
	if err != nil {
		return res, err
	}
	res.Diffs, err = confirm(ctx, src, dst, p, cands, o)
	res.Settled = len(cands) - len(res.Diffs)
	return res, err
}

func digestBoth(ctx context.Context, src, dst DB, p Pair, lo, hi Key) (s, d *Digest, err error) {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { s, err = digestRange(gctx, src, p.Src, lo, hi); return })
	g.Go(func() (err error) { d, err = digestRange(gctx, dst, p.Dst, lo, hi); return })
	err = g.Wait()
	return
}

// bisect returns the keys of [lo, hi) whose rows differ, the range having
// ns rows in the source and nd in the destination and different digests.
func bisect(ctx context.Context, src, dst DB, p Pair, lo, hi Key, ns, nd int64) ([]Key, error) {
	if max(ns, nd) <= leafRows {
		return compareRows(ctx, src, dst, p, lo, hi)
	}
	side, s := src, p.Src
	n := ns
	if nd > ns {
		side, s, n = dst, p.Dst, nd
	}
	mid, err := side.NextBound(ctx, s, lo, int(n/2))
	if err != nil {
		return nil, err
	}
	if mid == nil { // the range shrank meanwhile
		return compareRows(ctx, src, dst, p, lo, hi)
	}
	var out []Key
	for _, r := range [][2]Key{{lo, mid}, {mid, hi}} {
		ds, dd, err := digestBoth(ctx, src, dst, p, r[0], r[1])
		if err != nil {
			return nil, err
		}
		if ds.Rows == dd.Rows && ds.Sum() == dd.Sum() {
			continue
		}
		if ds.Rows+dd.Rows >= ns+nd && max(ds.Rows, dd.Rows) > leafRows {
			// No progress (a live table grew into this half): compare it whole.
			keys, err := compareRows(ctx, src, dst, p, r[0], r[1])
			if err != nil {
				return nil, err
			}
			out = append(out, keys...)
			continue
		}
		keys, err := bisect(ctx, src, dst, p, r[0], r[1], ds.Rows, dd.Rows)
		if err != nil {
			return nil, err
		}
		out = append(out, keys...)
	}
	return out, nil
}

// compareRows reads [lo, hi) on both sides and returns the keys whose
// rows differ or are on one side only.
func compareRows(ctx context.Context, src, dst DB, p Pair, lo, hi Key) ([]Key, error) {
	read := func(db DB, s *Schema) (map[string]Row, []Key, error) {
		m := map[string]Row{}
		var keys []Key
		err := scanRange(ctx, db, s, lo, hi, func(r Row) error {
			k := s.KeyOf(r)
			m[keyString(k)] = r
			keys = append(keys, k)
			return nil
		})
		return m, keys, err
	}
	sm, sk, err := read(src, p.Src)
	if err != nil {
		return nil, err
	}
	dm, dk, err := read(dst, p.Dst)
	if err != nil {
		return nil, err
	}
	var out []Key
	for _, k := range sk {
		if d, ok := dm[keyString(k)]; !ok || !rowsEqual(sm[keyString(k)], d) {
			out = append(out, k)
		}
	}
	for _, k := range dk {
		if _, ok := sm[keyString(k)]; !ok {
			out = append(out, k)
		}
	}
	return out, nil
}

func rowsEqual(a, b Row) bool {
	return slices.EqualFunc(a, b, func(x, y Val) bool { return x.Equal(y) })
}

// confirm reads candidate rows again on both sides, up to o.Rereads times
// o.Pause apart (doubling), and returns those that still differ, each
// with its kind and, for a DIFFERENT row, the first column that differs.
func confirm(ctx context.Context, src, dst DB, p Pair, cands []Key, o Options) ([]Diff, error) {
	pause := o.Pause
	for try := 0; len(cands) > 0; try++ {
		sr, err := src.Get(ctx, p.Src, cands)
		if err != nil {
			return nil, err
		}
		dr, err := dst.Get(ctx, p.Dst, cands)
		if err != nil {
			return nil, err
		}
		var still []Key
		var diffs []Diff
		for _, k := range cands {
			s, sok := sr[keyString(k)]
			d, dok := dr[keyString(k)]
			switch {
			case sok && dok && rowsEqual(s, d):
				continue
			case sok && !dok:
				diffs = append(diffs, Diff{Kind: Missing, Table: p.Src.Name, Key: k})
			case !sok && dok:
				diffs = append(diffs, Diff{Kind: Extra, Table: p.Src.Name, Key: k})
			case !sok && !dok:
				continue // gone from both
			default:
				diffs = append(diffs, Diff{Kind: Different, Table: p.Src.Name, Key: k, Detail: firstDiff(p.Src, s, d)})
			}
			still = append(still, k)
		}
		if try+1 >= o.Rereads || len(still) == 0 {
			return diffs, nil
		}
		cands = still
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
		pause *= 2
	}
	return nil, nil
}

// firstDiff names the first column where two rows differ.
func firstDiff(s *Schema, a, b Row) string {
	for i := range a {
		if !a[i].Equal(b[i]) {
			return fmt.Sprintf("column %s: %s at the source, %s at the destination", s.Cols[i].Name, show(a[i]), show(b[i]))
		}
	}
	return ""
}

// show is a value for a message, shortened.
func show(v Val) string {
	s := Key{v}.String()
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// Repair rewrites the rows diffs name, source wins: a MISSING or DIFFERENT
// row is read from the source again and upserted, an EXTRA row deleted
// when mirror is set (and kept otherwise); the destination's identity
// counters move past what it wrote. It returns how many rows it wrote and
// deleted.
func Repair(ctx context.Context, src, dst DB, p Pair, diffs []Diff, mirror bool) (written, deleted int, err error) {
	var rewrite, extra []Key
	for _, d := range diffs {
		switch d.Kind {
		case Missing, Different:
			rewrite = append(rewrite, d.Key)
		case Extra:
			extra = append(extra, d.Key)
		}
	}
	for len(rewrite) > 0 {
		n := min(len(rewrite), 500)
		rows, err := src.Get(ctx, p.Src, rewrite[:n])
		if err != nil {
			return written, deleted, err
		}
		var batch []Row
		for _, k := range rewrite[:n] {
			if r, ok := rows[keyString(k)]; ok {
				batch = append(batch, r)
			} else {
				extra = append(extra, k) // deleted from the source meanwhile
			}
		}
		if err := dst.Write(ctx, p.Dst, batch); err != nil {
			return written, deleted, err
		}
		written += len(batch)
		rewrite = rewrite[n:]
	}
	if written > 0 {
		if err := advanceCounters(ctx, dst, p.Dst, nil, nil); err != nil {
			return written, deleted, err
		}
	}
	if mirror && len(extra) > 0 {
		if err := dst.Delete(ctx, p.Dst, extra); err != nil {
			return written, deleted, err
		}
		deleted = len(extra)
	}
	return written, deleted, nil
}
