package conf

import (
	"fmt"
	"path"
	"strings"
	"time"

	"ferry/task"
)

// TableKeys are the keys of a table job (srcType and destType mysql or
// postgres, DESIGN.md §10).
type TableKeys struct {
	Tables           []string // tables=: names or path.Match patterns, comma-separated
	ChunkRows        int      // tableChunkRows: rows a task; default 10000
	UpdatedColumn    string   // updatedColumn: the column incremental rounds select changed rows by
	MaxRowsPerSecond int      // maxRowsPerSecond: the job's rows a second; 0 unlimited
	// UpdatedMargin (updatedMargin, seconds; default 300) is how far
	// behind its high-water mark an incremental round starts reading
	// changed rows: transactions in flight when the mark was taken, and
	// writers whose clocks lag, wrote values below it.
	UpdatedMargin time.Duration
}

// defaultUpdatedMargin is updatedMargin's default; maxUpdatedMargin (in
// seconds) bounds it at a week.
const (
	defaultUpdatedMargin = 300 * time.Second
	maxUpdatedMargin     = 7 * 24 * 3600
)

// IsTableType reports whether a srcType or destType value names a
// database.
func IsTableType(typ string) bool { return typ == "mysql" || typ == "postgres" }

// maxChunkRows bounds tableChunkRows: a worker holds a batch, not a chunk,
// but a chunk is verified (and, when it differs, compared row by row) as
// a unit.
const maxChunkRows = 10_000_000

func parseTables(v string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("%q is not a valid pattern: %v", p, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no table named")
	}
	return out, nil
}

// checkTable checks a table job's keys: both sides databases, each with
// its address, database and user, and tables named.
func (j *Job) checkTable(d *decoder) error {
	if !IsTableType(j.SrcType) || !IsTableType(j.DestType) {
		key, typ := "destType", j.DestType
		if !IsTableType(j.SrcType) {
			key, typ = "srcType", j.SrcType
		}
		return errAt(d.file, d.line(key), key, fmt.Sprintf("%s: a table job needs mysql or postgres on both sides", typ))
	}
	for _, side := range []struct {
		role, typ, domain, bucket, user string
	}{{"src", j.SrcType, j.SrcDomain, j.SrcBucket, j.SrcAccessKey}, {"dest", j.DestType, j.DestDomain, j.DestBucket, j.DestAccessKey}} {
		required := func(key, what string) error {
			return errAt(d.file, d.line(key), key, fmt.Sprintf("required with %sType=%s, not set (%s)", side.role, side.typ, what))
		}
		switch {
		case side.domain == "":
			return required(side.role+"Domain", "host:port of the server")
		case strings.Contains(side.domain, "/"):
			return errAt(d.file, d.line(side.role+"Domain"), side.role+"Domain", fmt.Sprintf("%q: give host:port, without a scheme or path", side.domain))
		case side.bucket == "":
			return required(side.role+"Bucket", "the database")
		case side.user == "":
			return required(side.role+"AccessKey", "the user")
		}
	}
	if len(j.Table.Tables) == 0 {
		return errAt(d.file, d.line("tables"), "tables", "required with srcType="+j.SrcType+", not set (table names or patterns, comma-separated, such as orders,shop.*)")
	}
	if j.Table.UpdatedColumn != "" && !j.IsIncremental {
		d.warn(d.line("updatedColumn"), "updatedColumn", "used by the rounds of an incremental job (isIncremental=true) only; a single pass copies every row")
	}
	if j.Type == "audit" {
		return errAt(d.file, d.line("jobType"), "jobType", "audit is not supported for table jobs; use console.sh verify")
	}
	return nil
}

func (t TableKeys) spec() *task.Table {
	return &task.Table{Tables: append([]string(nil), t.Tables...), ChunkRows: t.ChunkRows,
		UpdatedColumn: t.UpdatedColumn, UpdatedMargin: t.UpdatedMargin, MaxRowsPerSecond: t.MaxRowsPerSecond}
}
