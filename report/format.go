package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"ferry/tracker"
)

// Format is how rows are written.
type Format string

const (
	CSV   Format = "csv"   // RFC 4180, a header row; the first and last lines are "# " and JSON
	JSONL Format = "jsonl" // one JSON object a line; the first and last lines are the header and the end
)

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(s); f {
	case CSV, JSONL:
		return f, nil
	}
	return "", fmt.Errorf("unknown format %q (csv or jsonl)", s)
}

// Level says which entries get a row.
type Level string

const (
	All    Level = "all"    // every entry
	Errors Level = "errors" // every entry whose result is not OK or SKIP
)

// ParseLevel checks a level name.
func ParseLevel(s string) (Level, error) {
	switch l := Level(s); l {
	case All, Errors:
		return l, nil
	}
	return "", fmt.Errorf("unknown level %q (errors or all)", s)
}

// Columns are the report's columns, in order: CSV's header row, and the
// names of a JSON row's members.
var Columns = []string{"key", "result", "kind", "size", "srcCrc64", "dstCrc64", "srcMtime", "dstEtag", "worker", "time", "detail"}

// jsonRow is a row as a JSON line; its members are Columns, in order.
type jsonRow struct {
	Key      string `json:"key"`
	Result   string `json:"result"`
	Kind     string `json:"kind"`
	Size     *int64 `json:"size"`
	SrcCRC64 string `json:"srcCrc64"`
	DstCRC64 string `json:"dstCrc64"`
	SrcMTime string `json:"srcMtime"`
	DstETag  string `json:"dstEtag"`
	Worker   string `json:"worker"`
	Time     string `json:"time"`
	Detail   string `json:"detail"`
}

// fields returns r's columns as text: the key, the detail and the ETag
// escaped as in audit.log, a CRC64 as 16 hex digits, times in RFC 3339
// UTC, "" for what is unknown.
func fields(r *Row) jsonRow {
	j := jsonRow{Key: tracker.Escape(r.Key), Result: r.Result, Kind: r.Kind, DstETag: tracker.Escape(r.DstETag),
		Worker: tracker.Escape(r.Worker), Detail: tracker.Escape(r.Detail)}
	if r.Size >= 0 {
		j.Size = &r.Size
	}
	if r.HasSrcCRC {
		j.SrcCRC64 = fmt.Sprintf("%016x", r.SrcCRC)
	}
	if r.HasDstCRC {
		j.DstCRC64 = fmt.Sprintf("%016x", r.DstCRC)
	}
	if !r.SrcMTime.IsZero() {
		j.SrcMTime = r.SrcMTime.UTC().Format(time.RFC3339Nano)
	}
	if !r.Time.IsZero() {
		j.Time = r.Time.UTC().Format(time.RFC3339)
	}
	return j
}

// formatter writes the lines of one format.
type formatter interface {
	meta(v any) error // the first and the last line
	columns() error   // after the first line
	row(r *Row) error
}

func newFormatter(f Format, w *bufio.Writer) formatter {
	if f == JSONL {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return &jsonlFormatter{enc}
	}
	return &csvFormatter{w: w}
}

type jsonlFormatter struct{ enc *json.Encoder }

func (j *jsonlFormatter) meta(v any) error { return j.enc.Encode(v) }
func (j *jsonlFormatter) columns() error   { return nil }
func (j *jsonlFormatter) row(r *Row) error { return j.enc.Encode(fields(r)) }

// csvFormatter writes RFC 4180 CSV. Its first and last lines are "# " and
// a JSON object; a field that starts with '#' is quoted, so that no row is
// taken for them.
type csvFormatter struct {
	w   *bufio.Writer
	buf []byte
}

func (c *csvFormatter) meta(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	c.w.WriteString("# ")
	c.w.Write(b)
	return c.w.WriteByte('\n')
}

func (c *csvFormatter) columns() error {
	c.w.WriteString(strings.Join(Columns, ","))
	return c.w.WriteByte('\n')
}

func (c *csvFormatter) row(r *Row) error {
	j := fields(r)
	size := ""
	if j.Size != nil {
		size = strconv.FormatInt(*j.Size, 10)
	}
	b := c.buf[:0]
	for i, f := range []string{j.Key, j.Result, j.Kind, size, j.SrcCRC64, j.DstCRC64, j.SrcMTime, j.DstETag, j.Worker, j.Time, j.Detail} {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendCSV(b, f)
	}
	b = append(b, '\n')
	c.buf = b
	_, err := c.w.Write(b)
	return err
}

// appendCSV appends one field, quoted when it holds a comma, a quote or
// a line break, starts with '#' or with a space, or ends with one.
func appendCSV(b []byte, f string) []byte {
	if f == "" || !strings.ContainsAny(f, ",\"\r\n") && f[0] != '#' && f[0] != ' ' && f[len(f)-1] != ' ' {
		return append(b, f...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(f, `"`, `""`)...)
	return append(b, '"')
}
