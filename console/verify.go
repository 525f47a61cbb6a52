package console

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	pb "ferry/proto"
	"ferry/rpc"
	"ferry/store"
	"ferry/task"
	"ferry/tracker"
	"ferry/verify"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "compare a job's source and destination; list what is missing, differs or is extra",
		ArgsUsage: "<job>",
		Description: "Walks both sides in key order. Modes: simple (sizes), general (sizes and mtimes),\n" +
			"detailed (sizes and the CRC64 of the content, reading both sides; the default).\n" +
			"Writes a report (one line a key: MISSING, DIFFERENT or EXTRA, tab, key, tab, reason)\n" +
			"under the job's directory. Exit status 0 when they match, 1 when they do not.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "mode", Value: string(verify.Detailed), Usage: "simple, general or detailed"},
			&cli.IntFlag{Name: "threads", Value: 8, Usage: "files compared at once in detailed mode (table jobs: chunks)"},
			&cli.BoolFlag{Name: "repair", Usage: "table and zk jobs: rewrite the rows or znodes found missing or different (source wins; extras deleted only with mirror=true), then verify again"},
		},
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			if c.NArg() != 1 {
				return usageErr("verify needs exactly one job name (see `console.sh stat` for the jobs)")
			}
			mode, err := verify.ParseMode(c.String("mode"))
			if err != nil {
				return usageErr("--mode: %v", err)
			}
			name := c.Args().First()
			cl, err := e.control(c.Context)
			if err != nil {
				return err
			}
			r, err := cl.Stat(c.Context, &pb.StatRequest{Job: name, Credentials: true})
			cl.close()
			if err != nil {
				return rpcErr("verify", err)
			}
			spec := rpc.SpecFromPB(r.Jobs[0].Spec)
			if spec.IsStream() {
				return e.verifyStream(c.Context, spec)
			}
			if spec.IsTable() {
				return e.verifyTable(c.Context, spec, c.Bool("repair"), c.Int("threads"))
			}
			if c.Bool("repair") && !repairs(spec) {
				return usageErr("--repair: only table and zk jobs are repaired by verify; run the job again (an incremental round copies what differs)")
			}
			return e.verifyStore(c.Context, spec, mode, c.Int("threads"), c.Bool("repair"))
		},
	}
}

// verifyStore compares a job's source and destination stores, prints the
// keys that differ and writes them to a report under the job's directory.
// With repair (zk jobs: repairs) it rewrites what it found missing or
// different from the source (source wins; extras deleted only with
// mirror=true), then verifies again. Exit status 1 when they differ at
// the end.
func (e *env) verifyStore(ctx context.Context, spec task.Spec, mode verify.Mode, threads int, repair bool) error {
	name := spec.Name
	src, err := openSource(spec)
	if err != nil {
		return failErr("open source: %v", err)
	}
	defer store.Close(src)
	dst, err := openDest(spec)
	if err != nil {
		return failErr("open destination: %v", err)
	}
	defer store.Close(dst)
	dir := filepath.Join(e.masterDir, "jobs", name, "verify")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return failErr("create %s: %v", dir, err)
	}
	pass := func(keep bool) (verify.Counts, []verify.Diff, error) {
		path := filepath.Join(dir, strconv.FormatInt(time.Now().UnixMilli(), 10)+".report")
		f, err := os.Create(path)
		if err != nil {
			return verify.Counts{}, nil, failErr("create report: %v", err)
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		shown := 0
		var diffs []verify.Diff
		start := time.Now()
		counts, err := verify.Compare(ctx, src, dst, verify.Options{Mode: mode, Threads: threads}, func(d verify.Diff) {
			fmt.Fprintf(w, "%s\t%s\t%s\n", d.Kind, tracker.Escape(d.Key), tracker.Escape(d.Reason))
			if shown < 20 {
				fmt.Fprintf(e.out, "%-9s %s: %s\n", d.Kind, tracker.Escape(d.Key), d.Reason)
				shown++
			}
			if keep {
				diffs = append(diffs, d)
			}
		})
		if ferr := w.Flush(); err == nil {
			err = ferr
		}
		if err != nil {
			return counts, nil, failErr("verify %s: %v", name, err)
		}
		fmt.Fprintf(e.out, "verify job %s (%s) in %s: %d source files, %d destination files\n",
			name, mode, time.Since(start).Round(time.Millisecond), counts.Source, counts.Dest)
		fmt.Fprintf(e.out, "  match     %d\n  missing   %d\n  different %d\n  extra     %d\n",
			counts.Match, counts.Missing, counts.Different, counts.Extra)
		fmt.Fprintf(e.out, "  report    %s\n", rel(path))
		return counts, diffs, nil
	}
	counts, diffs, err := pass(repair)
	if err != nil {
		return err
	}
	if repair && !counts.OK() {
		r, err := repairStore(ctx, src, dst, diffs, spec.Mirror)
		fmt.Fprintf(e.out, "repair: %d rewritten, %d extra deleted", r.written, r.deleted)
		if counts.Extra > 0 && !spec.Mirror {
			fmt.Fprintf(e.out, " (extras are kept: mirror=false)")
		}
		if r.failed > 0 {
			fmt.Fprintf(e.out, ", %d not repaired (the first: %v)", r.failed, r.first)
		}
		if err != nil {
			fmt.Fprintln(e.out)
			return failErr("repair %s: %v", name, err)
		}
		fmt.Fprintf(e.out, "; verifying again\n")
		if counts, _, err = pass(false); err != nil {
			return err
		}
	}
	if !counts.OK() {
		return silentExit(ExitFailed)
	}
	return nil
}
