package table

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Plan cuts each table into chunks of chunkRows rows, in the order of
// pairs (Resolve's: parents first) and key order, and calls add for each: the first chunk of a table is open
// below and its last open above, so that rows inserted later at either
// end belong to a chunk. Bounds come from the key index alone
// (NextBound): no row is read whole. after, a chunk's Name, resumes a
// plan after that chunk ("" from the start).
func Plan(ctx context.Context, src DB, pairs []Pair, chunkRows int, after string, add func(Chunk) error) error {
	if chunkRows <= 0 {
		return fmt.Errorf("tableChunkRows %d: must be positive", chunkRows)
	}
	var resume *Chunk
	if after != "" {
		c, err := ParseChunk(after)
		if err != nil {
			return err
		}
		resume = &c
	}
	// The plan resumes in the resumed chunk's table; when that table has
	// left the job, after the tables named before it.
	at := -1
	if resume != nil {
		at = slices.IndexFunc(pairs, func(p Pair) bool { return p.Src.Name == resume.Table })
	}
	for i, p := range pairs {
		s := p.Src
		var lo Key
		switch {
		case resume == nil:
		case at >= 0 && i < at:
			continue
		case at >= 0 && i == at:
			if resume.Hi == nil {
				continue // the table's last chunk was planned
			}
			lo = resume.Hi
		case at < 0 && strings.Compare(s.Name, resume.Table) < 0:
			continue
		}
		for {
			hi, err := src.NextBound(ctx, s, lo, chunkRows)
			if err != nil {
				return fmt.Errorf("plan table %s: %w", s.Name, err)
			}
			if err := add(Chunk{Table: s.Name, Lo: lo, Hi: hi}); err != nil {
				return err
			}
			if hi == nil {
				break
			}
			lo = hi
		}
	}
	return nil
}
