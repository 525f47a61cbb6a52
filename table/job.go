package table

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sync/errgroup"

	"ferry/task"
)

// TableInfo is what a dry run or a probe tells of one table of a job.
type TableInfo struct {
	Name      string
	Rows      int64 // the engine's estimate
	Chunks    int64 // estimated from Rows
	DestState string
}

// Survey checks a job's tables without writing anything: both sides
// answer, the tables exist and can be moved, existing destination tables
// have their columns. It returns each table with its estimated rows and
// chunks, and whether its destination table exists or would be created.
func Survey(ctx context.Context, spec task.Spec) ([]TableInfo, error) {
	src, dst, err := Connect(ctx, spec, 2)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	defer dst.Close()
	all, err := src.Tables(ctx)
	if err != nil {
		return nil, Explain("src", spec.Src, err)
	}
	tables, err := Match(all, spec.Table.Tables)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, fmt.Errorf("tables: no source table matches %v", spec.Table.Tables)
	}
	for _, s := range tables {
		if err := checkPair(s, dst.Engine()); err != nil {
			return nil, err
		}
		if spec.Incremental && spec.Table.UpdatedColumn != "" {
			if _, err := UpdatedCol(s, spec.Table.UpdatedColumn); err != nil {
				return nil, err
			}
		}
	}
	var out []TableInfo
	for _, s := range tables {
		info := TableInfo{Name: s.Name, DestState: "created at the start"}
		if _, err := PairOf(ctx, s, dst, false); err == nil {
			info.DestState = "exists"
		} else if !errors.Is(err, ErrNoTable) {
			return nil, err
		}
		if info.Rows, err = src.Estimate(ctx, s); err != nil {
			return nil, fmt.Errorf("table %s: %w", s.Name, err)
		}
		info.Chunks = max(1, (info.Rows+int64(spec.Table.ChunkRows)-1)/int64(spec.Table.ChunkRows))
		out = append(out, info)
	}
	return out, nil
}

// VerifyJob compares every chunk of a job's tables (cut afresh from the
// source), threads chunks at a time, and calls fn with each chunk's
// result, one call at a time. With repair, the rows a chunk's verify
// names are rewritten (Repair, extras deleted only when the job mirrors)
// before fn sees it; Repaired then counts them.
func VerifyJob(ctx context.Context, spec task.Spec, threads int, repair bool, fn func(ChunkResult, Repaired)) error {
	src, dst, err := Connect(ctx, spec, 2*threads)
	if err != nil {
		return err
	}
	defer src.Close()
	defer dst.Close()
	pairs, err := Resolve(ctx, src, dst, spec.Table.Tables, false)
	if err != nil {
		return err
	}
	byName := map[string]Pair{}
	for _, p := range pairs {
		byName[p.Src.Name] = p
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(threads, 1))
	results := make(chan func(), threads)
	done := make(chan struct{})
	go func() {
		for f := range results {
			f()
		}
		close(done)
	}()
	err = Plan(gctx, src, pairs, spec.Table.ChunkRows, "", func(c Chunk) error {
		g.Go(func() error {
			p := byName[c.Table]
			r, err := VerifyChunk(gctx, src, dst, p, c, Options{})
			if err != nil {
				return err
			}
			var rep Repaired
			if repair && len(r.Diffs) > 0 {
				if rep.Written, rep.Deleted, err = Repair(gctx, src, dst, p, r.Diffs, spec.Mirror); err != nil {
					return err
				}
			}
			results <- func() { fn(r, rep) }
			return nil
		})
		return nil
	})
	if werr := g.Wait(); err == nil {
		err = werr
	}
	close(results)
	<-done
	return err
}

// Repaired counts what a repair of one chunk did.
type Repaired struct{ Written, Deleted int }
