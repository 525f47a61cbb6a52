package report

import (
	"bufio"
	"context"
	"io"
	"time"

	"ferry/verify"
)

// Options say what Write writes.
type Options struct {
	JobDir string // the job's directory: <workdir>/master/jobs/<job>
	Format Format
	Level  Level
	// Header is the first line's content beside what Write adds: the
	// job's settings and stat's totals, from the caller.
	Job      string
	Settings any
	Totals   any
	// TempDir holds the sorted runs while Write runs ("": os.TempDir);
	// RunBytes is the memory for one run (0: DefaultRunBytes).
	TempDir  string
	RunBytes int
	Now      func() time.Time // the header's time; time.Now when nil
}

// Header is the first line of a report: JSON, after "# " in CSV.
type Header struct {
	Report   string   `json:"report"` // "ferry per-entry report"
	Job      string   `json:"job"`
	Level    Level    `json:"level"`
	Written  string   `json:"written"` // when the report was begun, RFC 3339 UTC
	Columns  []string `json:"columns"`
	Settings any      `json:"settings"`
	Totals   any      `json:"totals"` // stat's
}

// Counts are the entries of a report by result, whatever the level.
type Counts struct {
	OK      int64 `json:"ok"`
	Skip    int64 `json:"skip"`
	Fail    int64 `json:"fail"`
	Exclude int64 `json:"exclude"`
	Delete  int64 `json:"delete"`
}

// End is the last line of a report: its rows at its level, and its
// entries by result. A report without it was cut short.
type End struct {
	End     bool   `json:"end"`
	Rows    int64  `json:"rows"`
	Entries Counts `json:"entries"`
}

// Write writes the report of the job in opt.JobDir to w: the header, a
// row an entry (at opt.Level) in key order, the end.
func Write(ctx context.Context, w io.Writer, opt Options) (End, error) {
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	begun := now()
	s := newSorter(opt.TempDir, opt.RunBytes)
	defer s.close()
	if err := readAttempts(ctx, opt.JobDir, s.add); err != nil {
		return End{}, err
	}
	if err := readKeyLogs(opt.JobDir, s.add); err != nil {
		return End{}, err
	}
	vpath, vat, err := latestVerify(opt.JobDir)
	if err != nil {
		return End{}, err
	}
	if vpath != "" {
		if err := readVerify(vpath, vat, s.add); err != nil {
			return End{}, err
		}
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	f := newFormatter(opt.Format, bw)
	if err := f.meta(Header{Report: "ferry per-entry report", Job: opt.Job, Level: opt.Level,
		Written: begun.UTC().Format(time.RFC3339), Columns: Columns, Settings: opt.Settings, Totals: opt.Totals}); err != nil {
		return End{}, err
	}
	if err := f.columns(); err != nil {
		return End{}, err
	}
	end := End{End: true}
	n := 0
	err = s.groups(func(out, find *event) error {
		if n++; n&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		r, ok := resolve(out, find)
		if !ok {
			return nil
		}
		switch r.Result {
		case OK:
			end.Entries.OK++
		case Skip:
			end.Entries.Skip++
		case Fail:
			end.Entries.Fail++
		case Exclude:
			end.Entries.Exclude++
		case Delete:
			end.Entries.Delete++
		}
		if opt.Level == Errors && (r.Result == OK || r.Result == Skip) {
			return nil
		}
		end.Rows++
		return f.row(&r)
	})
	if err != nil {
		return End{}, err
	}
	if err := f.meta(end); err != nil {
		return End{}, err
	}
	return end, bw.Flush()
}

// resolve makes a key's row from its latest outcome and the latest
// verify's finding (either may be nil). The outcome stands when it is
// newer than the finding, or a FAIL or EXCLUDE (which explain a key verify
// finds missing). Else the finding stands: a FAIL of verify's kind, with
// the copy's source facts and what verify found of both sides.
func resolve(out, find *event) (Row, bool) {
	switch {
	case out == nil && find == nil:
		return Row{}, false
	case find == nil:
		return out.row, true
	case out != nil && (out.at > find.at || out.row.Result == Fail || out.row.Result == Exclude):
		return out.row, true
	}
	r := find.row
	reason := r.Detail
	r.Detail = "verify: " + reason
	if out != nil && (out.row.Result == OK || out.row.Result == Skip) {
		o := out.row
		r.Size, r.SrcCRC, r.HasSrcCRC, r.SrcMTime, r.Worker = o.Size, o.SrcCRC, o.HasSrcCRC, o.SrcMTime, o.Worker
	}
	if src, _, ok := verify.Sizes(reason); ok {
		r.Size = src
	}
	if src, dst, ok := verify.Checksums(reason); ok {
		r.SrcCRC, r.HasSrcCRC, r.DstCRC, r.HasDstCRC = src, true, dst, true
	}
	return r, true
}
