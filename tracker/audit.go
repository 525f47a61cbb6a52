package tracker

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"ferry/task"
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
	// Detail is what people read: for a FAIL, the kind's code and the
	// cause, "CODE: cause" (the audit log's contract).
	Detail string
	// Kind is why a FAIL failed or a SKIP was skipped (task.Skipped);
	// task.OK for an OK. It is not written to the audit line, whose detail
	// starts with its code.
	Kind task.Kind
	// DestETag and SourceMTime travel with an OK or SKIP to the master
	// when the destination has ETags (object stores): the destination's
	// ETag, and the mtime of the source it is a copy of. Incremental
	// rounds compare them with the listings (master's copied index). They
	// are not written to the audit line.
	DestETag    string
	SourceMTime time.Time
}

// ReportBytes bounds the audit records one report to the master carries,
// as ReportSize counts them: a worker with more queued sends several
// reports. The master refuses reports much larger (rpc's reportCap).
const ReportBytes = 16 << 20

// ReportSize is what r counts against ReportBytes: its strings, and 80 bytes
// for its numbers and their framing, more than any encoding of them takes
// (protobuf's is at most about 70).
func (r Record) ReportSize() int { return len(r.Key) + len(r.Detail) + len(r.DestETag) + 80 }

// Line formats r as `time result size crc64 key detail`, tab-separated,
// ending in a newline; the key and detail are escaped (see Escape).
func (r Record) Line() string { return string(r.AppendLine(nil)) }

// AppendLine appends r's Line to b: a task's audit log is built in one
// buffer, without a string per line.
func (r Record) AppendLine(b []byte) []byte {
	b = r.Time.UTC().AppendFormat(b, time.RFC3339)
	b = append(append(b, '\t'), r.Result.String()...)
	b = strconv.AppendInt(append(b, '\t'), r.Size, 10)
	b = append(b, '\t')
	if r.HasCRC {
		const hex = "0123456789abcdef"
		for shift := 60; shift >= 0; shift -= 4 {
			b = append(b, hex[r.CRC64>>shift&0xf])
		}
	} else {
		b = append(b, '-')
	}
	b = append(append(b, '\t'), Escape(r.Key)...)
	b = append(append(b, '\t'), Escape(r.Detail)...)
	return append(b, '\n')
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
	if r.Detail, err = Unescape(f[5]); err != nil {
		return r, err
	}
	switch r.Result {
	case Skip:
		r.Kind = task.Skipped
	case Fail:
		code, _, _ := strings.Cut(r.Detail, ":")
		r.Kind, _ = task.ParseKind(code)
	}
	return r, nil
}
