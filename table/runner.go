package table

import (
	"context"
	"errors"
	"fmt"
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
// named after.
func (r *Runner) PlanTables(ctx context.Context, spec task.Spec, after string, add func(string) error) error {
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
	return Plan(ctx, src, pairs, spec.Table.ChunkRows, after, func(c Chunk) error { return add(c.Name()) })
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
	res, err := CopyChunk(ctx, j.src, j.dst, p, c, CopyOptions{Wait: t.Throttle, Progress: t.Progress, Mirror: t.Lease.Spec.Mirror})
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
