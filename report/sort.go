package report

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// An external merge sort of events by (key, at, seq), in bounded memory:
// events are encoded into an arena of at most runBytes; a full arena is
// sorted and spilled to a temporary file as a run, keeping of each key only
// its latest outcome and its latest finding (all the report needs); the
// runs and the last arena are then merged as streams, a key at a time.

// DefaultRunBytes is the arena's size when Options.RunBytes is 0.
const DefaultRunBytes = 8 << 20

// maxFanIn bounds the runs merged at once (each holds a read buffer);
// more are first merged into fewer.
var maxFanIn = 64

// runBuffer is each run's read and write buffer.
const runBuffer = 64 << 10

// ent indexes one event in the arena.
type ent struct {
	off            uint32 // of its length
	keyOff, keyLen uint32 // of its key
	at             int64
	seq            uint32
}

// sorter gathers events and yields them a key at a time.
type sorter struct {
	tempDir  string // where the runs' directory is made ("": os.TempDir)
	dir      string // the runs' directory, once made
	runBytes int
	arena    []byte
	idx      []ent
	runs     []string
	made     int // runs made, for their names
	seq      uint32
}

func newSorter(tempDir string, runBytes int) *sorter {
	if runBytes <= 0 {
		runBytes = DefaultRunBytes
	}
	return &sorter{tempDir: tempDir, runBytes: runBytes}
}

// add takes e, in order of arrival: seq breaks ties of at.
func (s *sorter) add(e *event) error {
	s.seq++
	e.seq = s.seq
	off := len(s.arena)
	var ko, kl int
	s.arena, ko, kl = appendEvent(s.arena, e)
	if len(s.arena) > 1<<32-1 {
		return fmt.Errorf("report: an event of %d bytes", len(s.arena)-off)
	}
	s.idx = append(s.idx, ent{off: uint32(off), keyOff: uint32(off + ko), keyLen: uint32(kl), at: e.at, seq: e.seq})
	if len(s.arena) >= s.runBytes {
		return s.spill()
	}
	return nil
}

func (s *sorter) key(e ent) []byte { return s.arena[e.keyOff : e.keyOff+e.keyLen] }

func (s *sorter) sort() {
	slices.SortFunc(s.idx, func(a, b ent) int {
		if c := bytes.Compare(s.key(a), s.key(b)); c != 0 {
			return c
		}
		if c := cmp.Compare(a.at, b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
}

// spill writes the arena as a sorted run and empties it.
func (s *sorter) spill() error {
	s.sort()
	if s.dir == "" {
		d, err := os.MkdirTemp(s.tempDir, "ferry-report-")
		if err != nil {
			return fmt.Errorf("report: temporary directory: %w", err)
		}
		s.dir = d
	}
	path := s.runPath()
	if err := writeRun(path, []source{&memSource{s: s}}); err != nil {
		return err
	}
	s.runs = append(s.runs, path)
	s.arena, s.idx = s.arena[:0], s.idx[:0]
	return nil
}

// runPath names a new run file.
func (s *sorter) runPath() string {
	s.made++
	return filepath.Join(s.dir, fmt.Sprintf("run%d", s.made))
}

// writeRun merges srcs into a run file at path, keeping the latest
// outcome and finding of each key.
func writeRun(path string, srcs []source) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	w := bufio.NewWriterSize(f, runBuffer)
	var buf []byte
	put := func(e *event) error {
		if e == nil {
			return nil
		}
		buf, _, _ = appendEvent(buf[:0], e)
		_, err := w.Write(buf)
		return err
	}
	err = merge(srcs, func(out, find *event) error {
		if out != nil && find != nil && (find.at < out.at || find.at == out.at && find.seq < out.seq) {
			out, find = find, out // keep their order in the run
		}
		if err := put(out); err != nil {
			return err
		}
		return put(find)
	})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}

// groups calls fn with the latest outcome and the latest finding of each
// key (either may be nil), in key order.
func (s *sorter) groups(fn func(out, find *event) error) error {
	for len(s.runs) >= maxFanIn {
		path := s.runPath()
		srcs, closeAll, err := openRuns(s.runs[:maxFanIn])
		if err != nil {
			return err
		}
		err = writeRun(path, srcs)
		closeAll()
		if err != nil {
			return err
		}
		for _, p := range s.runs[:maxFanIn] {
			os.Remove(p)
		}
		s.runs = append(s.runs[maxFanIn:], path)
	}
	s.sort()
	srcs, closeAll, err := openRuns(s.runs)
	if err != nil {
		return err
	}
	defer closeAll()
	return merge(append(srcs, &memSource{s: s}), fn)
}

// close removes the runs.
func (s *sorter) close() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// source yields events in (key, at, seq) order; nil at its end.
type source interface {
	next() (*event, error)
}

// memSource yields the sorted arena.
type memSource struct {
	s *sorter
	i int
}

func (m *memSource) next() (*event, error) {
	if m.i >= len(m.s.idx) {
		return nil, nil
	}
	e := m.s.idx[m.i]
	m.i++
	n := binary.LittleEndian.Uint32(m.s.arena[e.off:])
	ev := new(event)
	if err := decodeEvent(m.s.arena[e.off+4:e.off+4+n], ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// fileSource yields a run file.
type fileSource struct {
	r    *bufio.Reader
	buf  []byte
	path string
}

func (f *fileSource) next() (*event, error) {
	var l [4]byte
	if _, err := io.ReadFull(f.r, l[:]); err == io.EOF {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("report: read %s: %w", f.path, err)
	}
	n := binary.LittleEndian.Uint32(l[:])
	if cap(f.buf) < int(n) {
		f.buf = make([]byte, n)
	}
	f.buf = f.buf[:n]
	if _, err := io.ReadFull(f.r, f.buf); err != nil {
		return nil, fmt.Errorf("report: read %s: %w", f.path, err)
	}
	ev := new(event)
	if err := decodeEvent(f.buf, ev); err != nil {
		return nil, fmt.Errorf("report: read %s: %w", f.path, err)
	}
	return ev, nil
}

// openRuns opens run files as sources.
func openRuns(paths []string) ([]source, func(), error) {
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	srcs := make([]source, 0, len(paths)+1)
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("report: %w", err)
		}
		files = append(files, f)
		srcs = append(srcs, &fileSource{r: bufio.NewReaderSize(f, runBuffer), path: p})
	}
	return srcs, closeAll, nil
}

// cursor is a source and its current event.
type cursor struct {
	src source
	cur *event
}

// cursors is a min-heap of cursors by their current event.
type cursors []*cursor

func (h cursors) Len() int { return len(h) }
func (h cursors) Less(i, j int) bool {
	a, b := h[i].cur, h[j].cur
	if a.row.Key != b.row.Key {
		return a.row.Key < b.row.Key
	}
	if a.at != b.at {
		return a.at < b.at
	}
	return a.seq < b.seq
}
func (h cursors) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursors) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursors) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// merge merges srcs and calls fn once a key with its latest outcome and
// latest finding.
func merge(srcs []source, fn func(out, find *event) error) error {
	var h cursors
	for _, s := range srcs {
		e, err := s.next()
		if err != nil {
			return err
		}
		if e != nil {
			h = append(h, &cursor{s, e})
		}
	}
	heap.Init(&h)
	var out, find *event
	var key string
	have := false
	for h.Len() > 0 {
		c := h[0]
		e := c.cur
		next, err := c.src.next()
		if err != nil {
			return err
		}
		if next == nil {
			heap.Pop(&h)
		} else {
			c.cur = next
			heap.Fix(&h, 0)
		}
		if have && e.row.Key != key {
			if err := fn(out, find); err != nil {
				return err
			}
			out, find = nil, nil
		}
		key, have = e.row.Key, true
		if e.class == finding {
			find = e
		} else {
			out = e
		}
	}
	if have {
		return fn(out, find)
	}
	return nil
}
