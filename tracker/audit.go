package tracker

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Result of one entry in the audit log.
type Result int

const (
	OK Result = iota
	Skip
	Fail
)

func (r Result) String() string {
	switch r {
	case Skip:
		return "SKIP"
	case Fail:
		return "FAIL"
	}
	return "OK"
}

// Record is one audit line.
type Record struct {
	Time   time.Time
	Result Result
	Size   int64
	CRC64  uint64
	HasCRC bool
	Key    string
	Detail string
}

// Line formats r as `time result size crc64 key detail`, tab-separated,
// ending in a newline; the key and detail are escaped (see Escape).
func (r Record) Line() string {
	crc := "-"
	if r.HasCRC {
		crc = fmt.Sprintf("%016x", r.CRC64)
	}
	return r.Time.UTC().Format(time.RFC3339) + "\t" + r.Result.String() + "\t" +
		strconv.FormatInt(r.Size, 10) + "\t" + crc + "\t" + Escape(r.Key) + "\t" + Escape(r.Detail) + "\n"
}

// ParseLine reads a line written by Line (without its newline).
func ParseLine(line string) (Record, error) {
	f := strings.Split(line, "\t")
	if len(f) != 6 {
		return Record{}, fmt.Errorf("audit line %q: %d fields, want 6", line, len(f))
	}
	var r Record
	var err error
	if r.Time, err = time.Parse(time.RFC3339, f[0]); err != nil {
		return r, fmt.Errorf("audit line %q: %w", line, err)
	}
	switch f[1] {
	case "OK":
	case "SKIP":
		r.Result = Skip
	case "FAIL":
		r.Result = Fail
	default:
		return r, fmt.Errorf("audit line %q: unknown result %q", line, f[1])
	}
	if r.Size, err = strconv.ParseInt(f[2], 10, 64); err != nil {
		return r, fmt.Errorf("audit line %q: size: %w", line, err)
	}
	if f[3] != "-" {
		if r.CRC64, err = strconv.ParseUint(f[3], 16, 64); err != nil {
			return r, fmt.Errorf("audit line %q: crc64: %w", line, err)
		}
		r.HasCRC = true
	}
	if r.Key, err = Unescape(f[4]); err != nil {
		return r, err
	}
	r.Detail, err = Unescape(f[5])
	return r, err
}

// Attempt describes a finished attempt for its TASK file.
type Attempt struct {
	Job     string
	Task    uint64
	Lease   uint64
	Attempt int
	Worker  string
	Failed  []string // keys that failed, for error.list
	Files   int
	Started time.Time
}

const inflightDir = ".inflight"

func (t *Tracker) jobDir(job string) string { return filepath.Join(t.dir, job) }

func (t *Tracker) inflight(job string, task, lease uint64) string {
	return filepath.Join(t.jobDir(job), inflightDir, fmt.Sprintf("%d_%d", task, lease))
}

// Append adds audit records to a lease's in-flight audit log.
func (t *Tracker) Append(job string, task, lease uint64, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	dir := t.inflight(job, task, lease)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("audit %s task %d: %w", job, task, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "audit.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("audit %s task %d: %w", job, task, err)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	for _, r := range recs {
		w.WriteString(r.Line())
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("audit %s task %d: %w", job, task, err)
	}
	return f.Close()
}

// Prepare writes TASK, STATUS, error.list and (on success) DONE into the
// lease's in-flight directory and makes them durable. It returns the
// directory, relative to the job's, that Seal will publish it as:
// succeed_tasks/<task>_<epochms>@<worker> or failed_tasks/...
func (t *Tracker) Prepare(a Attempt) (string, error) {
	dir := t.inflight(a.Job, a.Task, a.Lease)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	now := time.Now()
	status, parent := "Completed", "succeed_tasks"
	if len(a.Failed) > 0 {
		status, parent = "Failed", "failed_tasks"
	}
	task := fmt.Sprintf("job=%s\ntask=%d\nattempt=%d\nlease=%d\nworker=%s\nentries=%d\nfailed=%d\nstarted=%s\nfinished=%s\n",
		a.Job, a.Task, a.Attempt, a.Lease, a.Worker, a.Files, len(a.Failed),
		a.Started.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	var el strings.Builder
	for _, k := range a.Failed {
		el.WriteString(Escape(k))
		el.WriteByte('\n')
	}
	files := []struct{ name, body string }{
		{"TASK", task}, {"STATUS", status + "\n"}, {"error.list", el.String()},
	}
	if status == "Completed" {
		files = append(files, struct{ name, body string }{"DONE", ""})
	}
	// audit.log exists even for a task whose records were all lost.
	f, err := os.OpenFile(filepath.Join(dir, "audit.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return "", err
	}
	err = f.Sync()
	f.Close()
	if err != nil {
		return "", err
	}
	for _, fl := range files {
		if err := writeSync(filepath.Join(dir, fl.name), fl.body); err != nil {
			return "", err
		}
	}
	if err := syncDir(dir); err != nil {
		return "", err
	}
	worker := strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, a.Worker)
	// Two attempts of one task by one worker in the same millisecond would
	// share a name: take the next free millisecond.
	ms := now.UnixMilli()
	for {
		name := filepath.Join(parent, fmt.Sprintf("%d_%d@%s", a.Task, ms, worker))
		if _, err := os.Lstat(filepath.Join(t.jobDir(a.Job), name)); errors.Is(err, fs.ErrNotExist) {
			return name, nil
		}
		ms++
	}
}

// Seal publishes a prepared in-flight directory under its final name. It
// is idempotent: a restart may call it again for the same attempt.
func (t *Tracker) Seal(job string, task, lease uint64, final string) error {
	src := t.inflight(job, task, lease)
	dst := filepath.Join(t.jobDir(job), final)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Rename(src, dst); err != nil {
		if _, serr := os.Stat(dst); serr == nil {
			// Published already; what is in flight now came too late.
			t.Discard(job, task, lease)
			return nil
		}
		return fmt.Errorf("publish audit %s: %w", final, err)
	}
	t.forget(job, task, lease)
	return syncDir(filepath.Dir(dst))
}

// Discard drops an in-flight directory whose lease was refused.
func (t *Tracker) Discard(job string, task, lease uint64) {
	os.RemoveAll(t.inflight(job, task, lease))
	t.forget(job, task, lease)
}

// Recover settles in-flight directories left by a crash: decide says, for
// a task and lease, the final directory to publish it under (committed
// completion), or keep (the lease is still out), or neither (drop it).
func (t *Tracker) Recover(job string, decide func(task, lease uint64) (final string, keep bool)) error {
	base := filepath.Join(t.jobDir(job), inflightDir)
	des, err := os.ReadDir(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, de := range des {
		var task, lease uint64
		if _, err := fmt.Sscanf(de.Name(), "%d_%d", &task, &lease); err != nil {
			os.RemoveAll(filepath.Join(base, de.Name()))
			continue
		}
		final, keep := decide(task, lease)
		switch {
		case final != "":
			if err := t.Seal(job, task, lease, final); err != nil {
				return err
			}
		case !keep:
			t.Discard(job, task, lease)
		}
	}
	return nil
}

// RemoveJob deletes a job's audit tree.
func (t *Tracker) RemoveJob(job string) error {
	t.mu.Lock()
	delete(t.jobs, job)
	t.mu.Unlock()
	return os.RemoveAll(t.jobDir(job))
}

func writeSync(path, body string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
