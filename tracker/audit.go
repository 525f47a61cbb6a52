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
	// SourceMTime is the source's mtime as the worker saw it (zero when
	// unknown). With DestETag, which travels with an OK or SKIP of an
	// incremental job whose destination has ETags (object stores), it is
	// what the master's copied index keeps: incremental rounds compare the
	// pair with the listings. DestETag is not written to the audit line.
	DestETag    string
	SourceMTime time.Time
	// What the destination holds once copied (or found when skipped or
	// audited), for the per-entry report: its CRC64 as it answered or was
	// read back, when HasDestCRC, and its ETag ("" when it has none).
	DestCRC64  uint64
	HasDestCRC bool
	ETag       string
}

// Trailing audit line fields: after the six of DESIGN.md section 7, a line
// may carry name=value fields, each only when known, so that readers of
// the six keep working. Unknown names are ignored when parsed, for lines
// written by a later ferry.
const (
	fieldMTime    = "mtime="      // the source's mtime, RFC 3339 with nanoseconds, UTC
	fieldDestCRC  = "dest_crc64=" // the destination's CRC64, 16 hex digits
	fieldDestETag = "dest_etag="  // the destination's ETag, escaped
)

// ReportBytes bounds the audit records one report to the master carries,
// as ReportSize counts them: a worker with more queued sends several
// reports. The master refuses reports much larger (rpc's reportCap).
const ReportBytes = 16 << 20

// ReportSize is what r counts against ReportBytes: its strings, and 80 bytes
// for its numbers and their framing, more than any encoding of them takes
// (protobuf's is at most about 70).
func (r Record) ReportSize() int {
	return len(r.Key) + len(r.Detail) + len(r.DestETag) + len(r.ETag) + 80
}

// Line formats r as `time result size crc64 key detail`, tab-separated,
// then the trailing name=value fields r knows (mtime=, dest_crc64=,
// dest_etag=), ending in a newline; the key, detail and ETag are escaped
// (see Escape).
func (r Record) Line() string { return string(r.AppendLine(nil)) }

// AppendLine appends r's Line to b: a task's audit log is built in one
// buffer, without a string per line.
func (r Record) AppendLine(b []byte) []byte {
	b = r.Time.UTC().AppendFormat(b, time.RFC3339)
	b = append(append(b, '\t'), r.Result.String()...)
	b = strconv.AppendInt(append(b, '\t'), r.Size, 10)
	b = append(b, '\t')
	if r.HasCRC {
		b = appendHex(b, r.CRC64)
	} else {
		b = append(b, '-')
	}
	b = append(append(b, '\t'), Escape(r.Key)...)
	b = append(append(b, '\t'), Escape(r.Detail)...)
	if !r.SourceMTime.IsZero() {
		b = append(append(b, '\t'), fieldMTime...)
		b = r.SourceMTime.UTC().AppendFormat(b, time.RFC3339Nano)
	}
	if r.HasDestCRC {
		b = append(append(b, '\t'), fieldDestCRC...)
		b = appendHex(b, r.DestCRC64)
	}
	if r.ETag != "" {
		b = append(append(b, '\t'), fieldDestETag...)
		b = append(b, Escape(r.ETag)...)
	}
	return append(b, '\n')
}

// appendHex appends v as 16 hex digits.
func appendHex(b []byte, v uint64) []byte {
	const hex = "0123456789abcdef"
	for shift := 60; shift >= 0; shift -= 4 {
		b = append(b, hex[v>>shift&0xf])
	}
	return b
}

// ParseLine reads a line written by Line (without its newline), with or
// without trailing fields.
func ParseLine(line string) (Record, error) {
	f := strings.Split(line, "\t")
	if len(f) < 6 {
		return Record{}, fmt.Errorf("audit line %q: %d fields, want 6 or more", line, len(f))
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
	for _, x := range f[6:] {
		if err := r.parseField(x); err != nil {
			return r, fmt.Errorf("audit line %q: %w", line, err)
		}
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

// parseField reads one trailing name=value field into r.
func (r *Record) parseField(x string) error {
	var err error
	switch {
	case strings.HasPrefix(x, fieldMTime):
		if r.SourceMTime, err = time.Parse(time.RFC3339Nano, x[len(fieldMTime):]); err != nil {
			return fmt.Errorf("mtime: %w", err)
		}
		r.SourceMTime = r.SourceMTime.UTC()
	case strings.HasPrefix(x, fieldDestCRC):
		if r.DestCRC64, err = strconv.ParseUint(x[len(fieldDestCRC):], 16, 64); err != nil {
			return fmt.Errorf("dest_crc64: %w", err)
		}
		r.HasDestCRC = true
	case strings.HasPrefix(x, fieldDestETag):
		if r.ETag, err = Unescape(x[len(fieldDestETag):]); err != nil {
			return err
		}
	case !strings.Contains(x, "="):
		return fmt.Errorf("field %q is not name=value", x)
	}
	return nil
}
