package report

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"ferry/tracker"
)

// What ferry recorded under a job's directory (DESIGN.md section 7), read
// as events, one file at a time: nothing is held beyond a line.

// attemptName is an attempt directory's name: <task>_<epochms>@<worker>.
var attemptName = regexp.MustCompile(`^(\d+)_(\d+)@(.*)$`)

// maxLine bounds a line of the files read (a key is at most a few KiB).
const maxLine = 16 << 20

// readAttempts adds the records of every published attempt of the job in
// dir: an attempt's records are ordered by its directory's time, when its
// completion was accepted (a later attempt of a key is always accepted
// after an earlier one).
func readAttempts(ctx context.Context, dir string, add func(*event) error) error {
	for _, parent := range []string{"succeed_tasks", "failed_tasks"} {
		p := filepath.Join(dir, parent)
		d, err := os.Open(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for {
			des, err := d.ReadDir(256)
			for _, de := range des {
				if err := ctx.Err(); err != nil {
					d.Close()
					return err
				}
				m := attemptName.FindStringSubmatch(de.Name())
				if m == nil || !de.IsDir() {
					continue // not an attempt directory
				}
				ms, _ := strconv.ParseInt(m[2], 10, 64)
				if err := readAttempt(filepath.Join(p, de.Name()), ms, m[3], add); err != nil {
					d.Close()
					return err
				}
			}
			if err != nil {
				break
			}
		}
		d.Close()
	}
	return nil
}

// readAttempt adds one attempt's audit records; its worker is the one its
// TASK file names (the directory's name is the fallback).
func readAttempt(dir string, ms int64, worker string, add func(*event) error) error {
	if b, err := os.ReadFile(filepath.Join(dir, "TASK")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if w, ok := strings.CutPrefix(line, "worker="); ok {
				worker = w
			}
		}
	}
	return eachLine(filepath.Join(dir, "audit.log"), func(line string) error {
		r, err := tracker.ParseLine(line)
		if err != nil {
			return err
		}
		e := event{at: ms, class: outcome, row: Row{Key: r.Key, Result: r.Result.String(), Size: r.Size,
			SrcCRC: r.CRC64, HasSrcCRC: r.HasCRC, DstCRC: r.DestCRC64, HasDstCRC: r.HasDestCRC,
			SrcMTime: r.SourceMTime, DstETag: r.ETag, Worker: worker, Time: r.Time, Detail: r.Detail}}
		if r.Result == tracker.Fail {
			// The detail starts with the kind's code (DESIGN.md section 3).
			e.row.Kind, _, _ = strings.Cut(r.Detail, ":")
		}
		return add(&e)
	})
}

// readKeyLogs adds the master's exclusions and deletions.
func readKeyLogs(dir string, add func(*event) error) error {
	for _, name := range []string{tracker.ExcludedLog, tracker.DeletedLog} {
		err := eachLine(filepath.Join(dir, name), func(line string) error {
			k, err := tracker.ParseKeyEvent(line)
			if err != nil {
				return err
			}
			e := event{at: k.Time.UnixMilli(), class: outcome, row: Row{Key: k.Key, Size: k.Size,
				SrcMTime: k.MTime, Time: k.Time, Detail: k.Reason}}
			switch k.Action {
			case tracker.ActionExclude:
				e.row.Result = Exclude
			case tracker.ActionDelete:
				e.row.Result = Delete
				if e.row.Detail == "" {
					e.row.Detail = "not in the source (mirror)"
				}
			}
			return add(&e)
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// latestVerify returns the path of the job's latest verify report and the
// time it was started, or "" when verify never ran.
func latestVerify(dir string) (string, time.Time, error) {
	des, err := os.ReadDir(filepath.Join(dir, "verify"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, err
	}
	best, bestMs := "", int64(-1)
	for _, de := range des {
		s, ok := strings.CutSuffix(de.Name(), ".report")
		ms, err := strconv.ParseInt(s, 10, 64)
		if ok && err == nil && ms > bestMs {
			best, bestMs = filepath.Join(dir, "verify", de.Name()), ms
		}
	}
	if best == "" {
		return "", time.Time{}, nil
	}
	return best, time.UnixMilli(bestMs).UTC(), nil
}

// readVerify adds the findings of the verify report at path, started at
// at: lines of KIND, key and reason, tab-separated.
func readVerify(path string, at time.Time, add func(*event) error) error {
	return eachLine(path, func(line string) error {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			return fmt.Errorf("%d fields, want KIND<tab>key<tab>reason", len(f))
		}
		key, err := tracker.Unescape(f[1])
		if err != nil {
			return err
		}
		reason, err := tracker.Unescape(f[2])
		if err != nil {
			return err
		}
		return add(&event{at: at.UnixMilli(), class: finding, row: Row{Key: key, Result: Fail, Kind: f[0],
			Size: -1, Time: at, Detail: reason}})
	})
}

// eachLine calls fn with each line of the file at path; an error names the
// file and the line.
func eachLine(path string, fn func(line string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := fn(sc.Text()); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s:%d: %w", path, n+1, err)
	}
	return nil
}
