package console

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"ferry/conf"
	"ferry/master"
	"ferry/stream/kafka"
	"ferry/task"
)

// dryRunStream prints what a Kafka job would copy, without writing
// anything: each topic with its partitions, records (offsets, for a
// compacted topic an upper bound) and what the destination has of it,
// and the consumer groups it would translate.
func (e *env) dryRunStream(ctx context.Context, j *conf.Job) error {
	spec := j.Spec()
	p, err := kafka.Discover(ctx, spec)
	if err != nil {
		return usageErr("%s: %v", j.File, err)
	}
	fmt.Fprintf(e.out, "dry run of job %s: %s -> %s (nothing written)\n", j.Name, endpointText(spec, spec.Src), endpointText(spec, spec.Dest))
	var parts, records int64
	for _, t := range p.Topics {
		var n int64
		for _, pp := range t.Partitions {
			n += max(0, pp.End-pp.Start)
		}
		dest := "created with the same partitions and configs"
		if t.DestPartitions > 0 {
			dest = fmt.Sprintf("exists with %d partitions", t.DestPartitions)
		}
		fmt.Fprintf(e.out, "  topic    %-30s %3d partitions %12d records  destination: %s\n", t.Name, len(t.Partitions), n, dest)
		parts += int64(len(t.Partitions))
		records += n
	}
	fmt.Fprintf(e.out, "  total    %d topics, %d partitions, %d records (up to the offsets of now; compacted and transactional topics hold fewer)\n",
		len(p.Topics), parts, records)
	if len(p.Groups) == 0 {
		fmt.Fprintf(e.out, "  groups   none\n")
	} else {
		fmt.Fprintf(e.out, "  groups   %d to translate: %s\n", len(p.Groups), strings.Join(p.Groups, ", "))
	}
	mode := "once: up to the offsets when the job starts"
	if spec.Stream.Continuous {
		mode = "continuous: tails the source until stopped"
	}
	fmt.Fprintf(e.out, "  mode     %s\n", mode)
	return nil
}

// verifyStream compares a Kafka job's partitions and group offsets
// (kafka.Verify), prints the findings and writes them to a report under
// the job's directory. Exit status 1 when something differs.
func (e *env) verifyStream(ctx context.Context, spec task.Spec) error {
	dir := filepath.Join(e.masterDir, "jobs", spec.Name, "verify")
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
	start := time.Now()
	var n, records int64
	bad, err := kafka.Verify(ctx, spec, func(c kafka.Check) {
		n++
		records += c.Records
		res := "OK"
		if !c.OK {
			res = "DIFFERENT"
			if strings.HasPrefix(c.Detail, "MISSING") {
				res = "MISSING"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\t%s\n", res, c.Key, c.Records, c.DestRecords, c.Digest, c.DestDigest, c.Detail)
		if !c.OK {
			fmt.Fprintf(e.out, "%-9s %s: %s\n", res, c.Key, c.Detail)
		}
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return failErr("verify %s: %v", spec.Name, err)
	}
	fmt.Fprintf(e.out, "verify job %s in %s: %d partitions and groups, %d records compared\n",
		spec.Name, time.Since(start).Round(time.Millisecond), n, records)
	fmt.Fprintf(e.out, "  match     %d\n  different %d\n", n-int64(bad), bad)
	fmt.Fprintf(e.out, "  report    %s\n", rel(path))
	if bad > 0 {
		return silentExit(ExitFailed)
	}
	return nil
}

// streamSummary is the run summary's middle for a stream job: its tasks
// (partitions and groups), the records and bytes on the destination as
// its checkpoints say, and what was checked. resumed: earlier runs copied
// part of them, so no rate is given.
func streamSummary(w io.Writer, s master.JobStat, took time.Duration, resumed bool) {
	c := s.Counters
	fmt.Fprintf(w, "  tasks  %d of %d done (partitions copied, consumer groups translated), %d skipped, %d failed\n",
		c.FilesDone-c.FilesSkipped, c.FilesTotal, c.FilesSkipped, c.FilesFailed)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	totals, err := kafka.Copied(ctx, s.Spec)
	if err != nil {
		fmt.Fprintf(w, "  copied unknown: reading the checkpoints in %s: %v\n", kafka.CheckpointTopic, err)
	} else {
		var parts int
		var records, bytes int64
		for _, t := range totals {
			parts += t.Partitions
			records += t.Records
			bytes += t.Bytes
		}
		line := fmt.Sprintf("  copied %d records in %d partitions of %d topics, %s of keys and values", records, parts, len(totals), humanBytes(float64(bytes)))
		switch {
		case resumed:
			line += " (with what earlier runs copied)"
		case took > 0:
			line += fmt.Sprintf(" in %s (%.0f records/s, %s/s)", took.Round(10*time.Millisecond),
				float64(records)/took.Seconds(), humanBytes(float64(bytes)/took.Seconds()))
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "  check  exactly once: each partition's records commit on the destination in one transaction with\n"+
		"         their source offsets (%s); `console.sh verify %s` compares both sides record by record\n",
		kafka.CheckpointTopic, s.Spec.Name)
}
