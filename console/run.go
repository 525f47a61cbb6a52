package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"ferry/conf"
	"ferry/master"
	"ferry/state"
	"ferry/task"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run a job in the foreground, standalone: master, tracker and one local worker in this process",
		ArgsUsage: "[job.cfg]",
		Description: "Default job.cfg: conf/job.cfg, which copies the bundled sample/ tree into\n" +
			"workdir/dest/local_test/. Shows live progress on a terminal and a summary at the end.\n" +
			"Run it again after a crash or Ctrl-C and it resumes the job where it stopped.\n" +
			"An incremental job (isIncremental=true) runs round after round, a line per round, until Ctrl-C.\n" +
			"Exit status: 0 every entry copied (or skipped), 1 some entries failed, 2 bad configuration.",
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			if c.NArg() > 1 {
				return usageErr("run takes one job.cfg, got %d arguments", c.NArg())
			}
			j, err := e.loadJob(e.jobPath(c.Args().First()))
			if err != nil {
				return err
			}
			if err := probeStores(j); err != nil {
				return err
			}
			spec := j.Spec()
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return e.run(ctx, spec)
		},
	}
}

func (e *env) run(ctx context.Context, spec task.Spec) error {
	eng, err := e.startEngine(ctx, engineOpts{listen: e.sys.MasterAddress, fallback: true, schedule: true, advertise: true})
	if err != nil {
		return err
	}
	defer eng.close()
	name := spec.Name
	job, err := eng.m.DB().Job(name)
	switch {
	case errors.Is(err, task.ErrNoJob):
		if err := eng.m.Submit(ctx, spec); errors.Is(err, master.ErrOwnDir) {
			return usageErr("%v", err)
		} else if err != nil {
			return failErr("submit job %s: %v", name, err)
		}
		verb := "copying"
		if spec.Type == task.Audit {
			verb = "auditing (nothing is copied)"
		}
		fmt.Fprintf(e.out, "job %s: %s %s -> %s\n", name, verb, endpointText(spec, spec.Src), endpointText(spec, spec.Dest))
	case err != nil:
		return failErr("job %s: %v", name, err)
	case job.Spec.Src.Prefix != spec.Src.Prefix || job.Spec.Dest.Prefix != spec.Dest.Prefix ||
		job.Spec.Src.Type != spec.Src.Type || job.Spec.Dest.Type != spec.Dest.Type:
		return usageErr("job %s already exists with source %s and destination %s; run `console.sh clean %s` to start it afresh, or give this job another jobName",
			name, job.Spec.Src.Prefix, job.Spec.Dest.Prefix, name)
	case !job.Active():
		fmt.Fprintf(e.out, "job %s has already finished (use `console.sh clean %s` to run it again from scratch)\n", name, name)
		return e.summary(eng, name, 0, nil)
	default:
		fmt.Fprintf(e.out, "job %s: resuming (%d of %d files done)\n", name, job.Counters.FilesDone, job.Counters.FilesTotal)
	}

	// The local worker says when it completes a task: the job may have
	// ended then, and the command should end with it.
	done := make(chan struct{}, 1)
	stopWorker, err := e.startLocalWorker(ctx, eng, func() {
		select {
		case done <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return err
	}
	defer func() {
		if stopWorker != nil {
			stopWorker("", 0)
		}
	}()

	start := time.Now()
	tty := isTerminal(e.out)
	if every := spec.IncrementalInterval; spec.Incremental {
		fmt.Fprintf(e.out, "job %s is incremental: after each round it rescans every %s, until Ctrl-C (run the same command again to go on)\n", name, every)
	}
	announced := 0             // the last round whose end was printed
	var was state.Counters     // the counters then
	var before *state.Counters // resumed: what earlier runs did
	if job != nil {            // resumed: rounds count from here
		was = job.Counters
		c := job.Counters
		before = &c
		if !job.NextRound.IsZero() {
			announced = job.Round
		}
	}
	// Look at the job when the local worker completes a task, and often
	// anyway (other workers may join); redraw the progress line four times
	// a second.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var drawn time.Time
	var problem string // the master's problem last said
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprint(e.out, "\r\x1b[K")
			}
			if problem != "" {
				fmt.Fprintf(e.out, "  error  %s\n", problem)
			}
			fmt.Fprintf(e.out, "interrupted: job %s stops here; run the same command again to resume it\n", name)
			return silentExit(ExitFailed)
		case <-tick.C:
		case <-done:
		}
		stats, err := eng.m.Stat(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			return failErr("job %s: %v", name, err)
		}
		s := stats[0]
		if s.Active() && s.ScanFinished && !s.NextRound.IsZero() && s.Round > announced {
			// An incremental round ended; the job waits for the next.
			c := s.Counters
			if tty {
				fmt.Fprint(e.out, "\r\x1b[K")
			}
			fmt.Fprintf(e.out, "round %d done: %d files copied, %d skipped, %d failed, %d unchanged; next round at %s\n", s.Round,
				(c.FilesDone-c.FilesSkipped)-(was.FilesDone-was.FilesSkipped), c.FilesSkipped-was.FilesSkipped,
				c.FilesFailed-was.FilesFailed, c.FilesUnchanged-was.FilesUnchanged, s.NextRound.Local().Format("2006-01-02 15:04:05"))
			announced, was = s.Round, c
		}
		if p := s.MasterError.Message; p != problem {
			// Said once when it starts and once when it ends, on a line
			// of its own: the job waits meanwhile.
			if tty {
				fmt.Fprint(e.out, "\r\x1b[K")
			}
			if p != "" {
				fmt.Fprintf(e.out, "job %s waits: %s\n", name, p)
			} else {
				fmt.Fprintf(e.out, "job %s resumes: the master can write its working directory again\n", name)
			}
			problem = p
		}
		if tty && time.Since(drawn) >= 250*time.Millisecond {
			fmt.Fprint(e.out, "\r"+progressLine(s)+"\x1b[K")
			drawn = time.Now()
		}
		if !s.Active() {
			if tty {
				fmt.Fprint(e.out, "\r\x1b[K")
			}
			// Every task of the job is complete: the worker only waits
			// for the master's replies.
			stopWorker(name, 5*time.Second)
			stopWorker = nil
			return e.summary(eng, name, time.Since(start), before)
		}
	}
}

// progressLine is run's live line: files, bytes, rate, ETA. It counts the
// entries of unfinished tasks too, so it moves smoothly.
func progressLine(s master.JobStat) string {
	if s.Spec.IsTable() {
		return tableProgressLine(s)
	}
	c := s.Counters
	files := c.FilesDone + c.FilesFailed + s.InFlightFiles
	bytes := c.BytesDone + s.InFlightBytes
	total := fmt.Sprint(c.FilesTotal)
	btotal := humanBytes(float64(c.BytesTotal))
	if !s.ScanFinished {
		total += "+"
		btotal += "+"
	}
	eta := "-"
	if s.HasETA {
		eta = s.ETA.String()
	}
	state := strings.ToLower(s.State)
	if s.Spec.IsStream() {
		// Tasks are partitions and groups; what is left is the lag.
		var left int64
		for _, l := range s.Lag {
			left += l.Records
		}
		return fmt.Sprintf("[%s] tasks %d/%s  %d records to copy  %s/s  failed %d",
			state, c.FilesDone+c.FilesFailed, total, left, humanBytes(s.Throughput), c.FilesFailed)
	}
	if s.ScanFinished {
		files, bytes = min(files, c.FilesTotal), min(bytes, c.BytesTotal)
	}
	line := fmt.Sprintf("[%s] files %d/%s  bytes %s/%s  %s/s  ETA %s  failed %d",
		state, files, total, humanBytes(float64(bytes)), btotal, humanBytes(s.Throughput), eta, c.FilesFailed)
	if s.MasterError.Message != "" {
		line += "  WAITING: workdir full (see above)"
	}
	return line
}

// tableProgressLine is run's live line for a table job, whose tasks are
// chunks and whose total bytes nobody knows ahead: chunks done of those
// planned, the rows the running chunks have written so far, the bytes of
// values moved and their rate.
func tableProgressLine(s master.JobStat) string {
	c := s.Counters
	total := fmt.Sprint(c.FilesTotal)
	if !s.ScanFinished {
		total += "+"
	}
	line := fmt.Sprintf("[%s] chunks %d/%s  running %d (%d rows written)  bytes %s  %s/s  failed %d",
		strings.ToLower(s.State), c.FilesDone+c.FilesFailed, total, c.Tasks[state.Dispatched], s.InFlightFiles,
		humanBytes(float64(c.BytesDone+s.InFlightBytes)), humanBytes(s.Throughput), c.FilesFailed)
	if s.MasterError.Message != "" {
		line += "  WAITING: workdir full (see above)"
	}
	return line
}

// summary prints how a job ended and returns its exit status. took is how
// long this run took (0: it did nothing), before the job's counters when
// this run resumed it (nil: it started it).
func (e *env) summary(eng *engine, name string, took time.Duration, before *state.Counters) error {
	stats, err := eng.m.Stat(context.Background(), name)
	if err != nil {
		return failErr("job %s: %v", name, err)
	}
	s := stats[0]
	c := s.Counters
	w := e.out
	audit := s.Spec.Type == task.Audit
	done, checked := "copied", "every file verified by CRC64"
	if audit {
		done, checked = "match", "auditMode "+string(s.Spec.AuditMode)
	}
	unit := "files "
	if s.Spec.IsTable() {
		unit, checked = "chunks", "every chunk verified by a digest of its rows on both sides"
	}
	fmt.Fprintf(w, "job %s: %s\n", name, s.State)
	if s.Spec.IsStream() {
		streamSummary(w, s, took, before != nil)
	} else {
		fmt.Fprintf(w, "  %s %d %s, %d skipped, %d failed, of %d\n", unit, c.FilesDone-c.FilesSkipped, done, c.FilesSkipped, c.FilesFailed, c.FilesTotal)
		if c.FilesExcluded > 0 || c.FilesUnchanged > 0 || c.FilesDeleted > 0 {
			fmt.Fprintf(w, "  also   %d excluded by filters, %d unchanged, %d deleted (mirror)\n", c.FilesExcluded, c.FilesUnchanged, c.FilesDeleted)
		}
		if s.Spec.IsTable() {
			// A chunk's rows and digest are in its audit line; the task
			// counters count chunks.
			fmt.Fprintf(w, "  took   %s, %s\n", took.Round(10*time.Millisecond), checked)
		} else {
			fmt.Fprintf(w, "  bytes  %s\n", bytesText(c, before, took, checked))
		}
	}
	fmt.Fprintf(w, "  from   %s\n  to     %s\n", endpointText(s.Spec, s.Spec.Src), endpointText(s.Spec, s.Spec.Dest))
	jobDir := filepath.Join(e.masterDir, "jobs", name)
	fmt.Fprintf(w, "  audit  %s\n", rel(jobDir)+string(filepath.Separator))
	if s.Error != "" {
		fmt.Fprintf(w, "  error  %s\n", s.Error)
	}
	if p := s.MasterError; p.Message != "" {
		fmt.Fprintf(w, "  error  %s (since %s)\n", p.Message, p.Since.Local().Format("15:04:05"))
	}
	switch s.State {
	case state.StateSucceed:
		return nil
	case state.StateFailed:
		if c.FilesFailed > 0 {
			listFailures(w, jobDir, 5)
			fmt.Fprintf(w, "  the failed keys are in %s, the reasons in each audit.log;\n  fix them, then: ./console.sh retry %s && ./console.sh run\n",
				rel(filepath.Join(jobDir, "failed_tasks", "*", "error.list")), name)
		} else {
			fmt.Fprintf(w, "  fix the cause, then: ./console.sh retry %s && ./console.sh run\n", name)
		}
	}
	return silentExit(ExitFailed)
}

// bytesText is the summary's bytes: all the job's, and, for a run that
// took time, how long it took and its rate, over the bytes this run moved
// only: a resumed run (before, the counters it started from) says how many
// earlier runs had done. Skipped bytes count in the total, not in rates.
func bytesText(c state.Counters, before *state.Counters, took time.Duration, checked string) string {
	all := humanBytes(float64(c.BytesDone))
	if took <= 0 {
		return all
	}
	moved := c.BytesDone - c.BytesSkipped
	if before == nil {
		return fmt.Sprintf("%s in %s (%s/s), %s", all, took.Round(10*time.Millisecond), humanBytes(float64(moved)/took.Seconds()), checked)
	}
	moved -= before.BytesDone - before.BytesSkipped
	return fmt.Sprintf("%s: %s in this run's %s (%s/s), %s before it (resumed); %s", all, humanBytes(float64(moved)),
		took.Round(10*time.Millisecond), humanBytes(float64(moved)/took.Seconds()), humanBytes(float64(before.BytesDone)), checked)
}

// endpointText names one side of a job for people: a directory, an
// object store's type://bucket/prefix and endpoint, or an http source's
// URL list.
func endpointText(s task.Spec, e task.Endpoint) string {
	switch {
	case e.Type == "http":
		return "URL list " + s.HTTPList.File
	case e.Type == "local":
		return e.Prefix
	case e.Type == "kafka":
		return "kafka " + e.Domain
	case conf.IsTableType(e.Type):
		return e.Type + " " + e.Domain + "/" + e.Bucket
	case e.Domain != "":
		return fmt.Sprintf("%s://%s/%s at %s", e.Type, e.Bucket, e.Prefix, e.Domain)
	}
	return fmt.Sprintf("%s://%s/%s", e.Type, e.Bucket, e.Prefix)
}

// listFailures prints the first n FAIL lines of the failed attempts.
func listFailures(w io.Writer, jobDir string, n int) {
	logs, _ := filepath.Glob(filepath.Join(jobDir, "failed_tasks", "*", "audit.log"))
	shown := 0
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Split(line, "\t")
			if len(f) == 6 && f[1] == "FAIL" {
				if shown == n {
					fmt.Fprintln(w, "  ...")
					return
				}
				fmt.Fprintf(w, "  FAIL   %s: %s\n", f[4], f[5])
				shown++
			}
		}
	}
}
