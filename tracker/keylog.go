package tracker

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Key logs: what the master decides for keys no worker sees, one line a
// key, in files of the job's directory: deleted.log (a mirror deleted the
// destination key), excluded.log (the filters set the source key aside;
// rewritten by each pass of the scan). A line is tab-separated:
//
//	time  action  size  key  [reason  [mtime=...]]
//
// time RFC 3339 UTC (with milliseconds in excluded.log), action DELETE or
// EXCLUDE, the key and reason escaped as in audit.log.

// Key log file names and actions.
const (
	DeletedLog  = "deleted.log"
	ExcludedLog = "excluded.log"

	ActionDelete  = "DELETE"
	ActionExclude = "EXCLUDE"
)

// KeyEvent is one line of a key log.
type KeyEvent struct {
	Time   time.Time
	Action string // ActionDelete or ActionExclude
	Size   int64
	Key    string
	Reason string
	MTime  time.Time // the source's mtime, for an exclusion (zero: unknown)
}

// AppendLine appends e's line, newline included, to b. Time is written to
// the millisecond; a DELETE without a reason has the four fields
// deleted.log always had.
func (e KeyEvent) AppendLine(b []byte) []byte {
	b = e.Time.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(append(b, '\t'), e.Action...)
	b = strconv.AppendInt(append(b, '\t'), e.Size, 10)
	b = append(append(b, '\t'), Escape(e.Key)...)
	if e.Reason != "" || !e.MTime.IsZero() {
		b = append(append(b, '\t'), Escape(e.Reason)...)
	}
	if !e.MTime.IsZero() {
		b = append(append(b, '\t'), fieldMTime...)
		b = e.MTime.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	return append(b, '\n')
}

// ParseKeyEvent reads a key log line (without its newline).
func ParseKeyEvent(line string) (KeyEvent, error) {
	f := strings.Split(line, "\t")
	if len(f) < 4 {
		return KeyEvent{}, fmt.Errorf("key log line %q: %d fields, want 4 or more", line, len(f))
	}
	var e KeyEvent
	var err error
	if e.Time, err = time.Parse(time.RFC3339, f[0]); err != nil {
		return e, fmt.Errorf("key log line %q: %w", line, err)
	}
	e.Time = e.Time.UTC()
	switch e.Action = f[1]; e.Action {
	case ActionDelete, ActionExclude:
	default:
		return e, fmt.Errorf("key log line %q: unknown action %q", line, f[1])
	}
	if e.Size, err = strconv.ParseInt(f[2], 10, 64); err != nil {
		return e, fmt.Errorf("key log line %q: size: %w", line, err)
	}
	if e.Key, err = Unescape(f[3]); err != nil {
		return e, fmt.Errorf("key log line %q: %w", line, err)
	}
	if len(f) > 4 {
		if e.Reason, err = Unescape(f[4]); err != nil {
			return e, fmt.Errorf("key log line %q: %w", line, err)
		}
	}
	for _, x := range f[min(len(f), 5):] {
		if v, ok := strings.CutPrefix(x, fieldMTime); ok {
			if e.MTime, err = time.Parse(time.RFC3339Nano, v); err != nil {
				return e, fmt.Errorf("key log line %q: mtime: %w", line, err)
			}
			e.MTime = e.MTime.UTC()
		}
	}
	return e, nil
}
