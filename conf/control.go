package conf

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"ferry/task"
)

// UpdateMode is job.cfg's updateMode: what a job does with a source file
// whose key already exists at the destination and that isSkipExistFile has
// not skipped (see Job.UpdateRule). A key missing at the destination is
// always copied. It is the shared task.UpdateMode.
type UpdateMode = task.UpdateMode

// The values of updateMode.
const (
	UpdateAlways   = task.UpdateAlways   // copy again, overwriting
	UpdateNever    = task.UpdateNever    // never overwrite: copy only missing keys
	UpdateNewer    = task.UpdateNewer    // copy when the source's mtime is later than the destination's
	UpdateSize     = task.UpdateSize     // copy when the sizes differ
	UpdateChecksum = task.UpdateChecksum // copy when the sizes or the CRC64s differ
)

// UpdateRule returns how the job treats a file that exists at the
// destination, in the terms of plan.Options: with skipSame, a file whose
// size and mtime match the destination's is skipped first; mode decides
// for the others. skipSame is isSkipExistFile, or true for an incremental
// job that sets neither isSkipExistFile nor updateMode (so that its rounds
// copy only what is new or changed). mode is updateMode, UpdateAlways when
// it is not set (UpdateChecksum for an incremental job of znodes, whose
// copies cannot keep the source's mtime).
func (j *Job) UpdateRule() (skipSame bool, mode UpdateMode) {
	skipSame, mode = j.IsSkipExistFile, j.UpdateMode
	if mode == "" {
		mode = UpdateAlways
		switch {
		case j.IsIncremental && j.SrcType == "zk":
			// A znode's copy has another mtime: rounds compare data
			// CRC64s, ACLs and counters (store/zk Differs).
			mode = UpdateChecksum
		case j.IsIncremental:
			skipSame = true
		}
	}
	return skipSame, mode
}

// updateModes are the values updateMode takes.
var updateModes = []UpdateMode{UpdateAlways, UpdateNever, UpdateNewer, UpdateSize, UpdateChecksum}

// parseUpdateMode reads updateMode, in any case as auditMode.
func parseUpdateMode(v string) (UpdateMode, error) {
	for _, m := range updateModes {
		if strings.EqualFold(v, string(m)) {
			return m, nil
		}
	}
	return "", fmt.Errorf("%q is not an update mode (want always, never, newer, size or checksum)%s", v, commentHint(v))
}

// Limits on the values of the migration-control keys.
const (
	// defaultMinInterval is ossimport's minimum incrementalModeInterval,
	// in seconds; sys.properties incrementalMinInterval may lower it.
	defaultMinInterval = 900
	// maxRequestRate bounds maxRequestsPerSecond.
	maxRequestRate = 1_000_000
	// maxUnixTime is 9999-12-31T23:59:59Z, the last second RFC 3339 writes.
	maxUnixTime = 253402300799
)

// parseInterval parses incrementalModeInterval in seconds, up to ten
// years. The minimum depends on sys.properties, so Job.check tests it.
func parseInterval(v string) (time.Duration, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		_, err = parseIntIn(v, 1, maxIncrementalInterval) // its message
		return 0, err
	}
	if n > maxIncrementalInterval {
		return 0, fmt.Errorf("%d is out of range (want at most %d seconds)", n, maxIncrementalInterval)
	}
	return time.Duration(n) * time.Second, nil
}

// parseTimeBound parses modifiedAfter or modifiedBefore: an RFC 3339 time
// with its zone (2024-05-01T00:00:00Z, 2024-05-01T08:00:00+08:00) or unix
// seconds (date +%s). A fraction of a second is dropped, so the bound is a
// whole unix second. 0 is no bound (the zero time), as importSince=0 is.
func parseTimeBound(v string) (time.Time, error) {
	if strings.Trim(v, "0123456789") == "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > maxUnixTime {
			return time.Time{}, fmt.Errorf("%q is out of range (want unix seconds up to %d, year 9999)", v, int64(maxUnixTime))
		}
		if n == 0 {
			return time.Time{}, nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a time (want RFC 3339 with a zone, e.g. 2024-05-01T00:00:00Z or 2024-05-01T08:00:00+08:00, or unix seconds)%s",
			v, commentHint(v))
	}
	if t.Unix() <= 0 {
		return time.Time{}, fmt.Errorf("%q is not after 1970-01-01T00:00:00Z (want a later time, or 0 for no bound)", v)
	}
	return time.Unix(t.Unix(), 0).UTC(), nil
}

// checkControl runs the checks of the migration-control keys that involve
// several keys or sys.properties. s may be nil (ossimport's minimum
// incremental interval applies).
func (j *Job) checkControl(d *decoder, s *Sys) error {
	// Incremental interval: ossimport's minimum unless sys.properties
	// lowers it.
	if v, line, _ := d.p.get("incrementalModeInterval"); v != "" {
		minimum, lowered := time.Duration(defaultMinInterval)*time.Second, ""
		if s != nil && s.IncrementalMinInterval > 0 {
			minimum = s.IncrementalMinInterval
			if _, sl, ok := s.Get("incrementalMinInterval"); ok {
				file := s.File
				if file == "" {
					file = "sys.properties"
				}
				lowered = fmt.Sprintf("%s:%d", file, sl)
			}
		}
		if j.IncrementalModeInterval < minimum {
			n := int64(j.IncrementalModeInterval / time.Second)
			msg := fmt.Sprintf("%d is below ossimport's minimum of %d seconds (incrementalMinInterval in sys.properties lowers it, for tests)",
				n, defaultMinInterval)
			if lowered != "" {
				msg = fmt.Sprintf("%d is below incrementalMinInterval, %d seconds (%s)", n, int64(minimum/time.Second), lowered)
			}
			return errAt(d.file, line, "incrementalModeInterval", msg)
		}
		if !j.IsIncremental && !keyIndex["incrementalModeInterval"].isDefault(v) {
			d.warn(line, "incrementalModeInterval", "not used with isIncremental=false; ignored")
		}
	}

	// Update mode and isSkipExistFile.
	um, umLine, _ := d.p.get("updateMode")
	switch {
	case j.UpdateMode == UpdateAlways && j.IsSkipExistFile:
		return errAt(d.file, umLine, "updateMode", fmt.Sprintf(
			"%q overwrites existing files, but isSkipExistFile=true (line %d) skips them; keep one", um, d.line("isSkipExistFile")))
	case j.UpdateMode == UpdateAlways && j.IsIncremental:
		d.warn(umLine, "updateMode", fmt.Sprintf(
			"%q copies every file again in every round of an incremental job (isIncremental=true, line %d); leave it empty to copy what is new or changed",
			um, d.line("isIncremental")))
	}
	if um != "" && j.Type == "audit" {
		d.warn(umLine, "updateMode", "not used with jobType=audit; ignored")
	}

	// Filters.
	if f := j.Filter; f.MaxSize > 0 && f.MinSize > f.MaxSize {
		return errAt(d.file, d.line("maxSize"), "maxSize", fmt.Sprintf(
			"%d bytes is less than minSize, %d bytes (line %d); no file would be copied", f.MaxSize, f.MinSize, d.line("minSize")))
	}
	if f := j.Filter; !f.ModifiedAfter.IsZero() && !f.ModifiedBefore.IsZero() && !f.ModifiedAfter.Before(f.ModifiedBefore) {
		return errAt(d.file, d.line("modifiedBefore"), "modifiedBefore", fmt.Sprintf(
			"%s is not after modifiedAfter, %s (line %d); no file would be copied",
			f.ModifiedBefore.UTC().Format(time.RFC3339), f.ModifiedAfter.UTC().Format(time.RFC3339), d.line("modifiedAfter")))
	}

	// Mirror.
	if v, line, _ := d.p.get("maxDelete"); !j.Mirror && !keyIndex["maxDelete"].isDefault(v) {
		d.warn(line, "maxDelete", "not used with mirror=false; ignored")
	}
	if j.Mirror && j.Type == "audit" {
		d.warn(d.line("mirror"), "mirror", "not used with jobType=audit; ignored")
	}

	// Throttling: the schedule falls back to maxThroughput.
	j.ThroughputSchedule.Default = j.MaxThroughput
	return nil
}
