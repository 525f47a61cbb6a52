package console

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"ferry/conf"
	"ferry/table"
	"ferry/task"
	"ferry/tracker"
)

// tables plans and runs the table jobs of this process, its master's and
// its worker's: it keeps each job's database connections between chunks.
var tables = &table.Runner{}

// probeTables checks a table job before anything is written: both
// servers answer (else why: unreachable, authentication, no such
// database), the tables exist and can be moved. A failure is a usage
// error (exit 2) of one line.
func probeTables(j *conf.Job) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := table.Survey(ctx, j.Spec()); err != nil {
		return usageErr("%s: %v", j.File, err)
	}
	return nil
}

// dryRunTable prints what a table job would copy: each table with its
// estimated rows and chunks, and whether its destination table exists.
func (e *env) dryRunTable(ctx context.Context, j *conf.Job) error {
	spec := j.Spec()
	infos, err := table.Survey(ctx, spec)
	if err != nil {
		return usageErr("%s: %v", j.File, err)
	}
	fmt.Fprintf(e.out, "dry run of job %s: %s -> %s (nothing written)\n", j.Name, endpointText(spec, spec.Src), endpointText(spec, spec.Dest))
	var rows, chunks int64
	for _, t := range infos {
		fmt.Fprintf(e.out, "  table    %-30s ~%d rows  %d chunks  destination: %s\n", t.Name, t.Rows, t.Chunks, t.DestState)
		rows += t.Rows
		chunks += t.Chunks
	}
	fmt.Fprintf(e.out, "  total    %d tables, ~%d rows (the engines' estimates), ~%d chunks of %d rows\n",
		len(infos), rows, chunks, spec.Table.ChunkRows)
	return nil
}

// verifyTable compares a table job's tables chunk by chunk (table.VerifyJob),
// prints each row that differs (MISSING, DIFFERENT, EXTRA, by "table/pk")
// and writes them to a report under the job's directory. With repair it
// rewrites them (source wins; extras deleted only with mirror=true), then
// verifies again. Exit status 1 when rows differ at the end.
func (e *env) verifyTable(ctx context.Context, spec task.Spec, repair bool, threads int) error {
	dir := filepath.Join(e.masterDir, "jobs", spec.Name, "verify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return failErr("create %s: %v", dir, err)
	}
	type counts struct {
		chunks, srcRows, dstRows, missing, different, extra, written, deleted, settled int64
	}
	pass := func(repair bool) (counts, string, error) {
		path := filepath.Join(dir, strconv.FormatInt(time.Now().UnixMilli(), 10)+".report")
		f, err := os.Create(path)
		if err != nil {
			return counts{}, "", failErr("create report: %v", err)
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		var c counts
		shown := 0
		err = table.VerifyJob(ctx, spec, threads, repair, func(r table.ChunkResult, rep table.Repaired) {
			c.chunks++
			c.srcRows += r.Src.Rows
			c.dstRows += r.Dst.Rows
			c.written += int64(rep.Written)
			c.deleted += int64(rep.Deleted)
			c.settled += int64(r.Settled)
			for _, d := range r.Diffs {
				switch d.Kind {
				case table.Missing:
					c.missing++
				case table.Different:
					c.different++
				case table.Extra:
					c.extra++
				}
				fmt.Fprintf(w, "%s\t%s\t%s\n", d.Kind, tracker.Escape(d.Name()), tracker.Escape(d.Detail))
				if shown < 50 {
					fmt.Fprintf(e.out, "%-9s %s", d.Kind, tracker.Escape(d.Name()))
					if d.Detail != "" {
						fmt.Fprintf(e.out, ": %s", d.Detail)
					}
					fmt.Fprintln(e.out)
					shown++
				}
			}
		})
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			return c, path, failErr("verify %s: %v", spec.Name, err)
		}
		if n := c.missing + c.different + c.extra; n > int64(shown) {
			fmt.Fprintf(e.out, "... and %d more in the report\n", n-int64(shown))
		}
		return c, path, nil
	}
	print := func(c counts, path string, took time.Duration) {
		fmt.Fprintf(e.out, "verify job %s in %s: %d chunks, %d source rows, %d destination rows\n",
			spec.Name, took.Round(time.Millisecond), c.chunks, c.srcRows, c.dstRows)
		fmt.Fprintf(e.out, "  missing   %d\n  different %d\n  extra     %d\n", c.missing, c.different, c.extra)
		if c.settled > 0 {
			fmt.Fprintf(e.out, "  settled   %d (differed while read, equal when read again: the source is being written)\n", c.settled)
		}
		fmt.Fprintf(e.out, "  report    %s\n", rel(path))
	}
	start := time.Now()
	c, path, err := pass(repair)
	if err != nil {
		return err
	}
	print(c, path, time.Since(start))
	if repair && c.missing+c.different+c.extra > 0 {
		fmt.Fprintf(e.out, "repair: %d rows rewritten, %d extra rows deleted", c.written, c.deleted)
		if c.extra > 0 && !spec.Mirror {
			fmt.Fprintf(e.out, " (extra rows are kept: mirror=false)")
		}
		fmt.Fprintf(e.out, "; verifying again\n")
		start = time.Now()
		if c, path, err = pass(false); err != nil {
			return err
		}
		print(c, path, time.Since(start))
	}
	if c.missing+c.different+c.extra > 0 {
		return silentExit(ExitFailed)
	}
	return nil
}
