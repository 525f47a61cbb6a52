package table

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"ferry/task"
	"ferry/tracker"
	"ferry/worker"
)

// Runner plans table jobs for the master and runs their chunks for the
// workers. It keeps each job's connections (and its tables' schemas) open
// between chunks.
type Runner struct {
	mu   sync.Mutex
	jobs map[string]*jobConns
}

var (
	_ worker.TableRunner = (*Runner)(nil)
)

// jobConns are one job's two databases and the tables described so far.
type jobConns struct {
	spec     task.Spec
	src, dst DB
	mu       sync.Mutex
	pairs    map[string]Pair
}

// connsPerJob bounds each side's connections a worker holds for a job.
const connsPerJob = 8

// Connect opens both sides of a table job.
func Connect(ctx context.Context, spec task.Spec, conns int) (src, dst DB, err error) {
	if src, err = Open(ctx, "src", spec.Src, conns); err != nil {
		return nil, nil, err
	}
	if dst, err = Open(ctx, "dest", spec.Dest, conns); err != nil {
		src.Close()
		return nil, nil, err
	}
	return src, dst, nil
}

// PlanTables resolves the job's tables (creating the missing ones at the
// destination) and calls add with each chunk's name, after the chunk
// named after. With marks (an incremental round), a chunk's detail is
// "since <value>": its table's mark less the job's margin (Since); a
// table without a mark (new to the job) is copied whole.
func (r *Runner) PlanTables(ctx context.Context, spec task.Spec, after string, marks map[string]string, add func(chunk, detail string) error) error {
	src, dst, err := Connect(ctx, spec, 2)
	if err != nil {
		return err
	}
	defer src.Close()
	defer dst.Close()
	pairs, err := Resolve(ctx, src, dst, spec.Table.Tables, true)
	if err != nil {
		return err
	}
	since := map[string]string{}
	for _, p := range pairs {
		mark, ok := marks[p.Src.Name]
		if !ok {
			continue
		}
		if _, err := UpdatedCol(p.Src, spec.Table.UpdatedColumn); err != nil {
			return err
		}
		s, err := Since(mark, spec.Table.UpdatedMargin)
		if err != nil {
			return fmt.Errorf("table %s: %w", p.Src.Name, err)
		}
		since[p.Src.Name] = sincePrefix + s
	}
	return Plan(ctx, src, pairs, spec.Table.ChunkRows, after, func(c Chunk) error { return add(c.Name(), since[c.Table]) })
}

// sincePrefix starts the detail of a chunk of an incremental round.
const sincePrefix = "since "

// TableMarks returns the high-water mark of the job's updatedColumn in
// each of its tables now (Mark), refusing a table without the column.
func (r *Runner) TableMarks(ctx context.Context, spec task.Spec) (map[string]string, error) {
	src, err := Open(ctx, "src", spec.Src, 2)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	all, err := src.Tables(ctx)
	if err != nil {
		return nil, Explain("src", spec.Src, err)
	}
	tables, err := Match(all, spec.Table.Tables)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range tables {
		if out[s.Name], err = Mark(ctx, src, s, spec.Table.UpdatedColumn); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (r *Runner) conns(ctx context.Context, spec task.Spec) (*jobConns, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.jobs == nil {
		r.jobs = map[string]*jobConns{}
	}
	if j := r.jobs[spec.Name]; j != nil && j.spec.Src == spec.Src && j.spec.Dest == spec.Dest {
		return j, nil
	} else if j != nil {
		j.src.Close()
		j.dst.Close()
	}
	src, dst, err := Connect(ctx, spec, connsPerJob)
	if err != nil {
		return nil, err
	}
	j := &jobConns{spec: spec, src: src, dst: dst, pairs: map[string]Pair{}}
	r.jobs[spec.Name] = j
	return j, nil
}

func (j *jobConns) pair(ctx context.Context, table string) (Pair, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if p, ok := j.pairs[table]; ok {
		return p, nil
	}
	s, err := j.src.Describe(ctx, table)
	if err != nil {
		return Pair{}, err
	}
	p, err := PairOf(ctx, s, j.dst, false)
	if err != nil {
		return Pair{}, err
	}
	j.pairs[table] = p
	return p, nil
}

// Close closes every job's connections.
func (r *Runner) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, j := range r.jobs {
		j.src.Close()
		j.dst.Close()
		delete(r.jobs, name)
	}
}

// RunChunk copies one chunk and checks it (CopyChunk). Its record is OK
// with the chunk's rows and digest in the detail, or FAIL: WRITE_ERROR,
// READ_ERROR, or CHECKSUM_MISMATCH naming the rows that still differ.
func (r *Runner) RunChunk(ctx context.Context, t worker.TableTask) tracker.Record {
	rec := tracker.Record{Key: t.Chunk}
	fail := func(k task.Kind, err error) tracker.Record {
		rec.Time, rec.Result, rec.Kind, rec.Detail = time.Now(), tracker.Fail, k, k.String()+": "+err.Error()
		return rec
	}
	c, err := ParseChunk(t.Chunk)
	if err != nil {
		return fail(task.InvalidKey, err)
	}
	j, err := r.conns(ctx, t.Lease.Spec)
	if err != nil {
		return fail(task.ReadError, err)
	}
	p, err := j.pair(ctx, c.Table)
	if err != nil {
		return fail(task.ReadError, err)
	}
	o := CopyOptions{Wait: t.Throttle, Progress: t.Progress, Mirror: t.Lease.Spec.Mirror}
	if lit, ok := strings.CutPrefix(t.Detail, sincePrefix); ok {
		return r.runChanged(ctx, j, p, c, lit, o, rec, fail)
	}
	res, err := waitForRefs(ctx, func() (CopyResult, error) { return CopyChunk(ctx, j.src, j.dst, p, c, o) })
	rec.Size = res.Bytes
	if err != nil {
		kind := task.WriteError
		switch {
		case errors.Is(err, errRead):
			kind = task.ReadError
		case errors.Is(err, ErrMismatch):
			kind = task.ChecksumMismatch
		}
		return fail(kind, err)
	}
	rec.Time, rec.Result = time.Now(), tracker.OK
	rec.Detail = fmt.Sprintf("rows=%d digest=%s", res.Rows, res.Src)
	if res.Repaired > 0 {
		rec.Detail += fmt.Sprintf(" rewritten=%d", res.Repaired)
	}
	if res.Extra > 0 {
		rec.Detail += fmt.Sprintf(" extra=%d", res.Extra)
	}
	return rec
}

// runChanged runs a chunk of an incremental round (CopyChanged): its OK
// line's detail counts the rows changed and written, the keys found
// missing and copied, the extra keys and those deleted.
func (r *Runner) runChanged(ctx context.Context, j *jobConns, p Pair, c Chunk, lit string, o CopyOptions,
	rec tracker.Record, fail func(task.Kind, error) tracker.Record) tracker.Record {
	k, err := ParseKey(lit)
	if err != nil || len(k) != 1 {
		return fail(task.InvalidKey, fmt.Errorf("chunk %s: since %q: %v", c.Name(), lit, err))
	}
	col, err := UpdatedCol(p.Src, j.spec.Table.UpdatedColumn)
	if err != nil {
		return fail(task.ReadError, err)
	}
	res, err := waitForRefs(ctx, func() (IncrResult, error) { return CopyChanged(ctx, j.src, j.dst, p, c, col, k[0], o) })
	rec.Size = res.Bytes
	if err != nil {
		kind := task.WriteError
		switch {
		case errors.Is(err, errRead):
			kind = task.ReadError
		case errors.Is(err, ErrMismatch):
			kind = task.ChecksumMismatch
		}
		return fail(kind, err)
	}
	rec.Time, rec.Result = time.Now(), tracker.OK
	rec.Detail = fmt.Sprintf("changed=%d since=%s missing=%d extra=%d deleted=%d", res.Changed, lit, res.Missing, res.Extra, res.Deleted)
	if res.Rewrites > 0 {
		rec.Detail += fmt.Sprintf(" rewritten=%d", res.Rewrites)
	}
	return rec
}
