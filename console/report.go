package console

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "ferry/proto"
	"ferry/report"
	"ferry/rpc"
	"ferry/task"
	"ferry/tracker"
)

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "write a job's per-entry report: one row a key, what became of it and its checksums",
		ArgsUsage: "<job>",
		Description: "Merges what the job recorded (the audit.log of every finished attempt, the keys the\n" +
			"filters excluded and the mirror deleted, the latest `verify`) into one row a key, in key\n" +
			"order. Columns: key (escaped as in audit.log), result, kind, size, srcCrc64, dstCrc64,\n" +
			"srcMtime, dstEtag, worker, time, detail; a value not known is empty (null size in JSON).\n" +
			"\n" +
			"result is OK (copied and verified, or audited the same), SKIP (an update rule, a link),\n" +
			"FAIL (kind: the failure's code, e.g. SOURCE_CHANGED), EXCLUDE (the filters) or DELETE\n" +
			"(the mirror). A key tried more than once has the row of its latest outcome: a failure\n" +
			"retried with success is OK. A finding of the latest verify newer than a key's OK, SKIP or\n" +
			"DELETE makes the row a FAIL of verify's kind (DIFFERENT, MISSING, EXTRA) with the CRC64s\n" +
			"verify found, detail \"verify: ...\"; a FAIL or EXCLUDE explains on its own why verify\n" +
			"finds a key missing, and stays. time is when the result was recorded (the attempt, the\n" +
			"scan or mirror, the verify run); worker is the worker of the latest attempt. Entries of\n" +
			"tasks not finished yet have no row.\n" +
			"\n" +
			"The first line holds the job's settings (no secrets) and stat's totals (as `stat --json`),\n" +
			"the last the rows written and the entries by result (a report without it was cut short):\n" +
			"JSON objects, after \"# \" in CSV, whose second line names the columns. --level errors\n" +
			"writes only the rows whose result is not OK or SKIP. Memory stays flat however many\n" +
			"entries: sorted runs of 8 MiB go to a temporary directory ($TMPDIR) while it works.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Value: string(report.CSV), Usage: "csv or jsonl"},
			&cli.StringFlag{Name: "level", Value: string(report.All), Usage: "all, or errors: only rows whose result is not OK or SKIP"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` (whole or not at all) instead of standard output"},
		},
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			if c.NArg() != 1 {
				return usageErr("report needs exactly one job name (see `console.sh stat` for the jobs)")
			}
			format, err := report.ParseFormat(c.String("format"))
			if err != nil {
				return usageErr("--format: %v", err)
			}
			level, err := report.ParseLevel(c.String("level"))
			if err != nil {
				return usageErr("--level: %v", err)
			}
			// Not ferry's GOGC=400 (gctune): the report's live heap is its
			// sort buffer (8 MiB) and the runs' read buffers, which the heap
			// would then grow to five times; and a soft limit of 64 MiB
			// beside it. The environment's GOGC and GOMEMLIMIT win.
			if _, set := os.LookupEnv("GOGC"); !set {
				debug.SetGCPercent(100)
			}
			if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
				debug.SetMemoryLimit(64 << 20)
			}
			name := c.Args().First()
			cl, err := e.control(c.Context)
			if err != nil {
				return err
			}
			r, err := cl.Stat(c.Context, &pb.StatRequest{Job: name})
			cl.close() // the report reads files only: a master started just for stat stops now
			if status.Code(err) == codes.NotFound {
				return failErr("report: no job named %q (see `console.sh stat` for the jobs)", name)
			}
			if err != nil {
				return rpcErr("report", err)
			}
			st := r.Jobs[0]
			opt := report.Options{JobDir: filepath.Join(e.masterDir, "jobs", name), Format: format, Level: level,
				Job: name, Settings: reportSettings(st), Totals: toJSON(st)}
			out := c.String("output")
			if out == "" {
				_, err := report.Write(c.Context, e.out, opt)
				if err != nil {
					return failErr("report %s: %v", name, err)
				}
				return nil
			}
			return writeReportFile(c, out, opt)
		},
	}
}

// writeReportFile writes the report to a temporary file beside path and
// renames it into place once whole.
func writeReportFile(c *cli.Context, path string, opt report.Options) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return failErr("report: %v", err)
	}
	_, err = report.Write(c.Context, f, opt)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return failErr("report %s: %v", opt.Job, err)
	}
	return nil
}

// reportSettings are the job's settings a report's first line shows: its
// sides and rules, never a secret (nor an access key).
func reportSettings(st *pb.JobStat) map[string]any {
	s := rpc.SpecFromPB(st.Spec)
	side := func(p task.Endpoint) string {
		where := p.Prefix
		if p.Bucket != "" {
			where = strings.TrimSuffix(p.Domain, "/") + "/" + p.Bucket + "/" + p.Prefix
		}
		return tracker.Escape(p.Type + ":" + where)
	}
	esc := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, x := range ss {
			out[i] = tracker.Escape(x)
		}
		return out
	}
	m := map[string]any{
		"jobType": string(s.Type), "source": side(s.Src), "destination": side(s.Dest),
		"incremental": s.Incremental, "skipExist": s.SkipExist, "updateMode": string(s.Update),
		"include": esc(s.Filter.Include), "exclude": esc(s.Filter.Exclude), "minSize": s.Filter.MinSize, "maxSize": s.Filter.MaxSize,
		"mirror": s.Mirror, "auditAfterImport": s.AuditAfterImport, "auditMode": string(s.AuditMode),
	}
	for k, t := range map[string]time.Time{"importSince": s.ImportSince, "modifiedAfter": s.Filter.ModifiedAfter,
		"modifiedBefore": s.Filter.ModifiedBefore} {
		if !t.IsZero() {
			m[k] = t.UTC().Format(time.RFC3339)
		}
	}
	return m
}
