package task

import (
	"slices"
	"time"
)

// Table is what a table job (srcType and destType mysql or postgres,
// DESIGN.md §10) adds to its spec. Each of its tasks holds one chunk: a
// primary-key range of one table, carried as the task's single entry,
// keyed "table/[lo,hi)" (ferry/table's Chunk.Name). A spec of another
// kind of job has none.
type Table struct {
	// Tables are the table names or path.Match patterns of tables=.
	Tables []string
	// ChunkRows is how many rows a chunk holds (tableChunkRows).
	ChunkRows int
	// UpdatedColumn is the column incremental rounds select changed rows
	// by ("" : every round copies every row).
	UpdatedColumn string
	// UpdatedMargin is how far below the high-water mark sampled at an
	// earlier round's start a round reads changed rows from (updatedMargin;
	// the master's planning alone uses it).
	UpdatedMargin time.Duration
	// MaxRowsPerSecond limits the job's rows a second (0: none), beside
	// the bytes of maxThroughput.
	MaxRowsPerSecond int
}

// IsTable reports whether the job moves database tables.
func (s Spec) IsTable() bool { return s.Table != nil }

// Clone returns a copy of t that shares no slice with it.
func (t *Table) Clone() *Table {
	if t == nil {
		return nil
	}
	c := *t
	c.Tables = slices.Clone(t.Tables)
	return &c
}
