package table

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// CopyOptions tune a chunk's copy.
type CopyOptions struct {
	Options
	Batch int // rows a batch, one transaction each (default 2000)
	// Wait, when set, is called before each batch is written with its
	// rows and bytes: the job's throttle.
	Wait func(ctx context.Context, rows, bytes int) error
	// Progress, when set, is called after each batch is written.
	Progress func(rows, bytes int64)
	Mirror   bool // delete destination rows of the chunk the source lacks
}

// Errors of a chunk's copy, beside the destination's write errors.
var (
	errRead     = errors.New("read")
	ErrMismatch = errors.New("rows differ after the copy")
)

// CopyResult is what a chunk's copy did.
type CopyResult struct {
	Rows, Bytes int64
	Src, Dst    string // the digests of the chunk when verified
	Repaired    int    // rows written again after the check found them different
	Extra       int    // destination rows the source lacks, found after the copy (deleted when Mirror)
}

// CopyChunk copies a chunk: the source's rows of [Lo, Hi) read in key
// order, a batch at a time, each batch upserted in one transaction (a
// chunk copied again rewrites the same rows). Then it checks the chunk:
// the digest of the destination's rows, read back, must equal the digest
// of the rows read and written; when not, the two sides are compared
// afresh (VerifyChunk) and the rows that differ copied again, up to three
// times. Rows that still differ fail the chunk, named in the error. The
// destination's identity counters are then moved past the chunk's values
// (advanceCounters).
func CopyChunk(ctx context.Context, src, dst DB, p Pair, c Chunk, o CopyOptions) (CopyResult, error) {
	res, err := copyChunk(ctx, src, dst, p, c, o)
	if err == nil {
		err = advanceCounters(ctx, dst, p.Dst, c.Lo, c.Hi)
	}
	return res, err
}

func copyChunk(ctx context.Context, src, dst DB, p Pair, c Chunk, o CopyOptions) (CopyResult, error) {
	if o.Batch <= 0 {
		o.Batch = 5000
	}
	if s, d, ok := rawPair(src, dst, p); ok {
		res, equal, err := copyChunkRaw(ctx, s, d, p, c, o)
		if err != nil || equal {
			return res, err
		}
		return checkChunk(ctx, src, dst, p, c, o, res)
	}
	if s, d, ok := myRawPair(src, dst, p); ok {
		res, equal, err := copyChunkMyRaw(ctx, s, d, p, c, o)
		if err != nil || equal {
			return res, err
		}
		return checkChunk(ctx, src, dst, p, c, o, res)
	}
	var res CopyResult
	read := newDigest() // of the rows as read and written
	err := moveBatches(ctx, dst, p, c, o, func(after Key, fn func(Row) error) error {
		return src.Scan(ctx, p.Src, c.Lo, c.Hi, after, o.Batch, fn)
	}, func(batch []Row, bytes int) error {
		for _, r := range batch {
			read.Add(r)
		}
		res.Rows += int64(len(batch))
		res.Bytes += int64(bytes)
		return nil
	})
	if err != nil {
		return res, err
	}
	// The destination must now hold what was read: its digest of the
	// chunk equals the digest of the rows written. When not (a row did
	// not survive the trip, the destination held other rows in the
	// range, or was written meanwhile), both sides are compared afresh.
	written, err := digestRange(ctx, dst, p.Dst, c.Lo, c.Hi)
	if err != nil {
		return res, fmt.Errorf("%w: check %s: %w", errRead, c.Name(), err)
	}
	res.Src, res.Dst = read.Sum(), written.Sum()
	if read.Rows == written.Rows && res.Src == res.Dst {
		return res, nil
	}
	return checkChunk(ctx, src, dst, p, c, o, res)
}

// checkChunk compares a chunk whose copy did not land as read on both
// sides afresh (VerifyChunk) and copies the rows that differ again, up to
// three times.
func checkChunk(ctx context.Context, src, dst DB, p Pair, c Chunk, o CopyOptions, res CopyResult) (CopyResult, error) {
	for try := 0; ; try++ {
		v, err := VerifyChunk(ctx, src, dst, p, c, o.Options)
		if err != nil {
			return res, fmt.Errorf("%w: check %s: %w", errRead, c.Name(), err)
		}
		res.Src, res.Dst = v.Src.Sum(), v.Dst.Sum()
		var fix []Diff
		extra := 0
		for _, d := range v.Diffs {
			if d.Kind != Extra || o.Mirror {
				fix = append(fix, d)
			}
			if d.Kind == Extra {
				extra++
			}
		}
		if try == 0 {
			res.Extra = extra
		}
		if len(fix) == 0 {
			return res, nil
		}
		if try == 3 {
			return res, fmt.Errorf("%w: %d still differ: %s", ErrMismatch, len(fix), names(fix, 5))
		}
		w, _, err := Repair(ctx, src, dst, p, fix, o.Mirror)
		if err != nil {
			return res, fmt.Errorf("rewrite %s: %w", c.Name(), err)
		}
		res.Repaired += w
	}
}

// names lists up to n diffs as "KIND table/pk".
func names(diffs []Diff, n int) string {
	var b strings.Builder
	for i, d := range diffs {
		if i == n {
			fmt.Fprintf(&b, " and %d more", len(diffs)-n)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.Kind + " " + d.Name())
	}
	return b.String()
}

// moveBatches reads a chunk's rows with scan, o.Batch at a time after the
// key of the last batch, and for each batch waits for the throttle, writes
// it to the destination, reports progress and calls landed, until a batch
// comes back short.
func moveBatches(ctx context.Context, dst DB, p Pair, c Chunk, o CopyOptions,
	scan func(after Key, fn func(Row) error) error, landed func(batch []Row, bytes int) error) error {
	var after Key
	for {
		var batch []Row
		var bytes int
		err := scan(after, func(r Row) error {
			batch = append(batch, r)
			for _, v := range r {
				bytes += len(v.B)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("%w %s: %w", errRead, c.Name(), err)
		}
		if len(batch) == 0 {
			return nil
		}
		if o.Wait != nil {
			if err := o.Wait(ctx, len(batch), bytes); err != nil {
				return err
			}
		}
		if err := dst.Write(ctx, p.Dst, batch); err != nil {
			return fmt.Errorf("write destination %s: %w", c.Name(), err)
		}
		if o.Progress != nil {
			o.Progress(int64(len(batch)), int64(bytes))
		}
		if err := landed(batch, bytes); err != nil {
			return err
		}
		if len(batch) < o.Batch {
			return nil
		}
		after = p.Src.KeyOf(batch[len(batch)-1])
	}
}
