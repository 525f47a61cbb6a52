// Package sortedfile sorts records that may not fit in memory into one
// file ordered by key, with a sparse in-memory index to read it from any
// key: an external merge sort. Runs of at most a set number of bytes are
// sorted in memory and written out, then merged; memory stays bounded
// whatever the size and order of the input. The stores that take a list
// of keys as their listing (key lists, S3 inventories, URL lists) build
// one of these per store.
package sortedfile

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Record is a key and the bytes that go with it.
type Record struct {
	Key string
	Val []byte
}

// maxField bounds a key or value read back, so a corrupt file cannot ask
// for gigabytes.
const maxField = 1 << 24

// Builder collects records into sorted runs in a directory.
type Builder struct {
	dir      string
	runBytes int
	recs     []Record
	size     int
	runs     []string
}

// NewBuilder returns a Builder writing its runs to dir, each holding at
// most about runBytes of records.
func NewBuilder(dir string, runBytes int) *Builder {
	return &Builder{dir: dir, runBytes: runBytes}
}

// Add adds a record; records with equal keys keep the order they were
// added in.
func (b *Builder) Add(key string, val []byte) error {
	b.recs = append(b.recs, Record{key, val})
	b.size += len(key) + len(val) + 64
	if b.size >= b.runBytes {
		return b.flush()
	}
	return nil
}

func (b *Builder) flush() error {
	if len(b.recs) == 0 {
		return nil
	}
	slices.SortStableFunc(b.recs, func(x, y Record) int { return strings.Compare(x.Key, y.Key) })
	p := filepath.Join(b.dir, fmt.Sprintf("run%05d", len(b.runs)))
	if err := writeRun(p, b.recs); err != nil {
		return err
	}
	b.runs = append(b.runs, p)
	clear(b.recs)
	b.recs, b.size = b.recs[:0], 0
	return nil
}

// Finish merges the runs into the file name, with an index mark every
// `every` records, and removes the runs. Of records with equal keys the
// first added is kept; dup, when not nil, is called with it and each later
// one, and its error ends the merge.
func (b *Builder) Finish(name string, every int, dup func(first, later Record) error) (*File, error) {
	if err := b.flush(); err != nil {
		return nil, err
	}
	return merge(b.runs, name, every, dup)
}

func writeRun(name string, recs []Record) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	var buf []byte
	for _, r := range recs {
		buf = appendRecord(buf[:0], r)
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// appendRecord encodes r: uvarint-prefixed key, uvarint-prefixed value.
func appendRecord(b []byte, r Record) []byte {
	b = binary.AppendUvarint(b, uint64(len(r.Key)))
	b = append(b, r.Key...)
	b = binary.AppendUvarint(b, uint64(len(r.Val)))
	return append(b, r.Val...)
}

// readRecord reads one record; io.EOF at a clean end.
func readRecord(br *bufio.Reader) (Record, error) {
	field := func() ([]byte, error) {
		l, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, err
		}
		if l > maxField {
			return nil, errors.New("corrupt record")
		}
		b := make([]byte, l)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, noEOF(err)
		}
		return b, nil
	}
	k, err := field()
	if err != nil {
		return Record{}, err
	}
	v, err := field()
	if err != nil {
		return Record{}, noEOF(err)
	}
	return Record{string(k), v}, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// run is one sorted run being merged.
type run struct {
	br  *bufio.Reader
	f   *os.File
	cur Record
	seq int // equal keys keep the order of the runs, which is the input's
	err error
}

func (r *run) next() bool {
	var err error
	r.cur, err = readRecord(r.br)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return err == nil
}

type runHeap []*run

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := strings.Compare(h[i].cur.Key, h[j].cur.Key); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*run)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func merge(runs []string, name string, every int, dup func(first, later Record) error) (*File, error) {
	var rh runHeap
	var all []*run
	defer func() {
		for _, r := range all {
			r.f.Close()
		}
		for _, n := range runs {
			os.Remove(n)
		}
	}()
	for i, n := range runs {
		f, err := os.Open(n)
		if err != nil {
			return nil, err
		}
		r := &run{br: bufio.NewReaderSize(f, 1<<16), f: f, seq: i}
		all = append(all, r)
		if r.next() {
			rh = append(rh, r)
		} else if r.err != nil {
			return nil, fmt.Errorf("sorted run %s: %w", n, r.err)
		}
	}
	heap.Init(&rh)
	out, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	x := &File{f: out}
	fail := func(err error) (*File, error) {
		out.Close()
		os.Remove(name)
		return nil, err
	}
	w := bufio.NewWriterSize(out, 1<<16)
	var buf []byte
	var last Record
	n := 0
	for rh.Len() > 0 {
		r := rh[0]
		rec := r.cur
		if r.next() {
			heap.Fix(&rh, 0)
		} else {
			if r.err != nil {
				return fail(fmt.Errorf("sorted run: %w", r.err))
			}
			heap.Pop(&rh)
		}
		if n > 0 && rec.Key == last.Key {
			if dup != nil {
				if err := dup(last, rec); err != nil {
					return fail(err)
				}
			}
			continue
		}
		if n%every == 0 {
			x.marks = append(x.marks, mark{key: rec.Key, off: x.size})
		}
		buf = appendRecord(buf[:0], rec)
		w.Write(buf)
		x.size += int64(len(buf))
		last = rec
		n++
	}
	if err := w.Flush(); err != nil {
		return fail(err)
	}
	return x, nil
}

// File is a sorted file of records with unique keys.
type File struct {
	f     *os.File
	size  int64
	marks []mark
}

// mark is an indexed key and the offset of its record.
type mark struct {
	key string
	off int64
}

// Scan calls fn with the records whose key is >= from, in key order, until
// fn returns false or an error.
func (x *File) Scan(from string, fn func(Record) (bool, error)) error {
	if len(x.marks) == 0 {
		return nil
	}
	i, found := slices.BinarySearchFunc(x.marks, from, func(m mark, k string) int { return strings.Compare(m.key, k) })
	if !found {
		i--
	}
	i = max(i, 0)
	br := bufio.NewReaderSize(io.NewSectionReader(x.f, x.marks[i].off, x.size-x.marks[i].off), 1<<16)
	for {
		r, err := readRecord(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sorted file %s: %w", x.f.Name(), err)
		}
		if r.Key < from {
			continue
		}
		if more, err := fn(r); err != nil || !more {
			return err
		}
	}
}

// Lookup returns the value of key, and whether it is there.
func (x *File) Lookup(key string) ([]byte, bool, error) {
	var v []byte
	ok := false
	err := x.Scan(key, func(r Record) (bool, error) {
		if r.Key == key {
			v, ok = r.Val, true
		}
		return false, nil
	})
	return v, ok, err
}

// Close closes the file; it stays on disk, in the directory its caller
// owns.
func (x *File) Close() error { return x.f.Close() }
