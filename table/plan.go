package table

import (
	"context"
	"fmt"
	"strings"
)

// Plan cuts each table into chunks of chunkRows rows, in table order and
// key order, and calls add for each: the first chunk of a table is open
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
	for _, p := range pairs {
		s := p.Src
		var lo Key
		if resume != nil {
			switch cmp := strings.Compare(s.Name, resume.Table); {
			case cmp < 0:
				continue
			case cmp == 0:
				if resume.Hi == nil {
					continue // the table's last chunk was planned
				}
				lo = resume.Hi
			}
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
