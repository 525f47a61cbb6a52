package console

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"

	pb "ferry/proto"
	"ferry/rpc"
	"ferry/store"
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
			&cli.BoolFlag{Name: "repair", Usage: "table jobs: rewrite the rows found missing or different (source wins; extra rows deleted only with mirror=true), then verify again"},
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
			path := filepath.Join(dir, strconv.FormatInt(time.Now().UnixMilli(), 10)+".report")
			f, err := os.Create(path)
			if err != nil {
				return failErr("create report: %v", err)
			}
			defer f.Close()
			w := bufio.NewWriter(f)
			shown := 0
			start := time.Now()
			counts, err := verify.Compare(c.Context, src, dst, verify.Options{Mode: mode, Threads: c.Int("threads")}, func(d verify.Diff) {
				fmt.Fprintf(w, "%s\t%s\t%s\n", d.Kind, tracker.Escape(d.Key), tracker.Escape(d.Reason))
				if shown < 20 {
					fmt.Fprintf(e.out, "%-9s %s: %s\n", d.Kind, tracker.Escape(d.Key), d.Reason)
					shown++
				}
			})
			if ferr := w.Flush(); err == nil {
				err = ferr
			}
			if err != nil {
				return failErr("verify %s: %v", name, err)
			}
			fmt.Fprintf(e.out, "verify job %s (%s) in %s: %d source files, %d destination files\n",
				name, mode, time.Since(start).Round(time.Millisecond), counts.Source, counts.Dest)
			fmt.Fprintf(e.out, "  match     %d\n  missing   %d\n  different %d\n  extra     %d\n",
				counts.Match, counts.Missing, counts.Different, counts.Extra)
			fmt.Fprintf(e.out, "  report    %s\n", rel(path))
			if !counts.OK() {
				return silentExit(ExitFailed)
			}
			return nil
		},
	}
}
