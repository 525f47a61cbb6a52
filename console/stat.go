package console

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	pb "ferry/proto"
	"ferry/tracker"
)

// formatStat prints a job as `stat` does: ossimport's lines, then ferry's.
func formatStat(w io.Writer, s *pb.JobStat) {
	fmt.Fprintf(w, "JobName:%s\nJobState:%s\n", s.Name, s.State)
	fmt.Fprintf(w, "PendingTasks:%d\nDispatchedTasks:%d\nRunningTasks:%d\nSucceedTasks:%d\nFailedTasks:%d\n",
		s.PendingTasks, s.DispatchedTasks, s.RunningTasks, s.SucceedTasks, s.FailedTasks)
	fmt.Fprintf(w, "ScanFinished:%t\n", s.ScanFinished)
	fmt.Fprintf(w, "Files:%d/%d Bytes:%d/%d Failed:%d Skipped:%d\n",
		s.FilesDone, s.FilesTotal, s.BytesDone, s.BytesTotal, s.FilesFailed, s.FilesSkipped)
	fmt.Fprintf(w, "Throughput:%s/s ETA:%s\n", humanBytes(s.ThroughputBps), eta(s))
	if s.FilesExcluded > 0 || s.FilesUnchanged > 0 || s.FilesDeleted > 0 {
		fmt.Fprintf(w, "Excluded:%d Unchanged:%d Deleted:%d\n", s.FilesExcluded, s.FilesUnchanged, s.FilesDeleted)
	}
	if s.Round > 1 || s.NextRoundUnixMs > 0 {
		next := "-"
		if s.NextRoundUnixMs > 0 {
			next = time.UnixMilli(s.NextRoundUnixMs).Format(time.RFC3339)
		}
		fmt.Fprintf(w, "Round:%d NextRound:%s\n", s.Round, next)
	}
	if s.LimitBytesPerSec > 0 {
		fmt.Fprintf(w, "Limit:%s/s\n", humanBytes(float64(s.LimitBytesPerSec)))
	}
	for _, l := range s.Lag {
		fmt.Fprintf(w, "Lag:%s Records:%d Seconds:%s Partitions:%d", l.Topic, l.Records, lagSeconds(l.Seconds), l.Partitions)
		if l.Unreported > 0 {
			fmt.Fprintf(w, " Unreported:%d", l.Unreported)
		}
		fmt.Fprintln(w)
	}
	if len(s.Error) > 0 {
		fmt.Fprintf(w, "Error:%s\n", s.Error)
	}
	if len(s.MasterError) > 0 {
		fmt.Fprintf(w, "MasterError:%s (since %s)\n", s.MasterError, time.UnixMilli(s.MasterErrorSinceUnixMs).Format(time.RFC3339))
	}
}

func eta(s *pb.JobStat) string {
	switch {
	case s.State != "Scanning" && s.State != "Running":
		return "0s"
	case s.EtaSeconds < 0:
		return "-"
	}
	return (time.Duration(s.EtaSeconds) * time.Second).String()
}

// lagSeconds prints a lag in whole seconds, "-" when unknown.
func lagSeconds(s float64) string {
	if s < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", s)
}

// humanBytes prints a size with a binary unit: 35.2MB.
func humanBytes(n float64) string {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f%s", n, units[i])
	}
	return fmt.Sprintf("%.1f%s", n, units[i])
}

// jsonStat is the --json form: stable lower-case names.
type jsonStat struct {
	JobName         string  `json:"jobName"`
	JobState        string  `json:"jobState"`
	PendingTasks    int64   `json:"pendingTasks"`
	DispatchedTasks int64   `json:"dispatchedTasks"`
	RunningTasks    int64   `json:"runningTasks"`
	SucceedTasks    int64   `json:"succeedTasks"`
	FailedTasks     int64   `json:"failedTasks"`
	ScanFinished    bool    `json:"scanFinished"`
	FilesDone       int64   `json:"filesDone"`
	FilesTotal      int64   `json:"filesTotal"`
	BytesDone       int64   `json:"bytesDone"`
	BytesTotal      int64   `json:"bytesTotal"`
	FilesFailed     int64   `json:"filesFailed"`
	FilesSkipped    int64   `json:"filesSkipped"`
	Throughput      float64 `json:"throughputBytesPerSec"`
	ETASeconds      int64   `json:"etaSeconds"`
	// Paths and the error are escaped as in audit.log (\xHH for bytes
	// that are not UTF-8), so the JSON stays valid and lossless.
	Source         string `json:"source"`
	Destination    string `json:"destination"`
	Submitted      string `json:"submitted"`
	Finished       string `json:"finished,omitempty"`
	Error          string `json:"error,omitempty"`
	FilesExcluded  int64  `json:"filesExcluded"`
	FilesUnchanged int64  `json:"filesUnchanged"`
	FilesDeleted   int64  `json:"filesDeleted"`
	Round          int32  `json:"round"`
	NextRound      string `json:"nextRound,omitempty"`
	LimitBytesPerS int64  `json:"limitBytesPerSec"`
	// MasterError holds the job back from outside it (the working
	// directory is full); escaped as Error is.
	MasterError      string `json:"masterError,omitempty"`
	MasterErrorSince string `json:"masterErrorSince,omitempty"`
	// Lag is an active stream job's lag per topic.
	Lag []jsonLag `json:"lag,omitempty"`
}

// jsonLag is one topic's lag: records not yet copied, and seconds behind
// (-1 unknown); Unreported partitions have said nothing yet.
type jsonLag struct {
	Topic      string  `json:"topic"`
	Partitions int32   `json:"partitions"`
	Unreported int32   `json:"unreported"`
	Records    int64   `json:"records"`
	Seconds    float64 `json:"seconds"`
}

func toJSON(s *pb.JobStat) jsonStat {
	j := jsonStat{JobName: s.Name, JobState: s.State, PendingTasks: s.PendingTasks,
		DispatchedTasks: s.DispatchedTasks, RunningTasks: s.RunningTasks, SucceedTasks: s.SucceedTasks,
		FailedTasks: s.FailedTasks, ScanFinished: s.ScanFinished, FilesDone: s.FilesDone, FilesTotal: s.FilesTotal,
		BytesDone: s.BytesDone, BytesTotal: s.BytesTotal, FilesFailed: s.FilesFailed, FilesSkipped: s.FilesSkipped,
		Throughput: s.ThroughputBps, ETASeconds: s.EtaSeconds,
		Source: tracker.Escape(string(s.Src)), Destination: tracker.Escape(string(s.Dest)),
		Submitted: time.UnixMilli(s.SubmittedUnixMs).UTC().Format(time.RFC3339), Error: tracker.Escape(string(s.Error)),
		FilesExcluded: s.FilesExcluded, FilesUnchanged: s.FilesUnchanged, FilesDeleted: s.FilesDeleted,
		Round: s.Round, LimitBytesPerS: s.LimitBytesPerSec}
	if s.FinishedUnixMs > 0 {
		j.Finished = time.UnixMilli(s.FinishedUnixMs).UTC().Format(time.RFC3339)
	}
	if s.NextRoundUnixMs > 0 {
		j.NextRound = time.UnixMilli(s.NextRoundUnixMs).UTC().Format(time.RFC3339)
	}
	if len(s.MasterError) > 0 {
		j.MasterError = tracker.Escape(string(s.MasterError))
		j.MasterErrorSince = time.UnixMilli(s.MasterErrorSinceUnixMs).UTC().Format(time.RFC3339)
	}
	for _, l := range s.Lag {
		j.Lag = append(j.Lag, jsonLag{Topic: l.Topic, Partitions: l.Partitions, Unreported: l.Unreported, Records: l.Records, Seconds: l.Seconds})
	}
	return j
}

func formatWorkers(w io.Writer, ws []*pb.WorkerStat) {
	sort.Slice(ws, func(i, j int) bool { return ws[i].WorkerId < ws[j].WorkerId })
	fmt.Fprintf(w, "%-24s %-20s %-6s %6s %12s\n", "WORKER", "HOST", "STATE", "TASKS", "THROUGHPUT")
	for _, x := range ws {
		fmt.Fprintf(w, "%-24s %-20s %-6s %6d %10s/s\n", x.WorkerId, x.Host, x.State, x.TasksRunning, humanBytes(x.ThroughputBps))
	}
}

// formatCredentials lists the worker hosts that hold a credential, never
// the secrets.
func formatCredentials(w io.Writer, cs []*pb.CredentialStat) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].WorkerId < cs[j].WorkerId })
	fmt.Fprintf(w, "%-24s %s\n", "CREDENTIAL", "ISSUED")
	for _, c := range cs {
		fmt.Fprintf(w, "%-24s %s\n", c.WorkerId, time.UnixMilli(c.IssuedUnixMs).UTC().Format(time.RFC3339))
	}
}

func statCommand() *cli.Command {
	return &cli.Command{
		Name:      "stat",
		Usage:     "show a job's state and progress (every job when none is named)",
		ArgsUsage: "[job]",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON (one object per job, in an array)"},
			&cli.BoolFlag{Name: "watch", Aliases: []string{"w"}, Usage: "refresh every --interval until interrupted"},
			&cli.DurationFlag{Name: "interval", Value: 2 * time.Second, Usage: "refresh period for --watch"},
			&cli.BoolFlag{Name: "workers", Usage: "also list the workers the running master knows, and the worker hosts holding a credential"},
		},
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			if c.NArg() > 1 {
				return usageErr("stat takes at most one job name, got %d arguments", c.NArg())
			}
			name := c.Args().First()
			cl, err := e.control(c.Context)
			if err != nil {
				return err
			}
			defer cl.close()
			tty := isTerminal(e.out)
			for {
				r, err := cl.Stat(c.Context, &pb.StatRequest{Job: name, Workers: c.Bool("workers")})
				if err != nil {
					return rpcErr("stat", err)
				}
				var b strings.Builder
				switch {
				case c.Bool("json"):
					out := make([]jsonStat, len(r.Jobs))
					for i, s := range r.Jobs {
						out[i] = toJSON(s)
					}
					enc := json.NewEncoder(&b)
					enc.SetIndent("", "  ")
					enc.Encode(out)
				case len(r.Jobs) == 0:
					b.WriteString("No jobs. Submit one with `console.sh submit [job.cfg]` or `console.sh run`.\n")
				default:
					for i, s := range r.Jobs {
						if i > 0 {
							b.WriteString("\n")
						}
						formatStat(&b, s)
					}
				}
				if c.Bool("workers") && !c.Bool("json") {
					b.WriteString("\n")
					if cl.offline != nil {
						b.WriteString("(no master is running: no workers)\n")
					} else {
						formatWorkers(&b, r.Workers)
					}
					b.WriteString("\n")
					formatCredentials(&b, r.Credentials)
				}
				if c.Bool("watch") && tty {
					fmt.Fprint(e.out, "\x1b[H\x1b[2J") // redraw in place
				}
				fmt.Fprint(e.out, b.String())
				if !c.Bool("watch") {
					return nil
				}
				if !tty {
					fmt.Fprintln(e.out)
				}
				select {
				case <-c.Context.Done():
					return nil
				case <-time.After(c.Duration("interval")):
				}
			}
		},
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
