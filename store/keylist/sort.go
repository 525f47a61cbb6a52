package keylist

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
	"time"

	"ferry/store"
)

// record is one key of a list and what the list says of it.
type record struct {
	key   string
	size  int64
	mtime int64 // unix ns; 0 unknown
	etag  string
}

func (r record) entry() store.Entry {
	e := store.Entry{Key: r.key, Size: r.size, ETag: r.etag, Kind: store.File}
	if r.mtime != 0 {
		e.MTime = time.Unix(0, r.mtime)
	}
	return e
}

// Sorted copies hold records in binary: uvarint-prefixed key, varint size,
// varint mtime, uvarint-prefixed etag.
func (r record) append(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(r.key)))
	b = append(b, r.key...)
	b = binary.AppendVarint(b, r.size)
	b = binary.AppendVarint(b, r.mtime)
	b = binary.AppendUvarint(b, uint64(len(r.etag)))
	return append(b, r.etag...)
}

// readRecord reads one record; io.EOF at a clean end.
func readRecord(br *bufio.Reader) (record, int, error) {
	var r record
	n := 0
	str := func() (string, error) {
		l, err := binary.ReadUvarint(br)
		if err != nil {
			return "", err
		}
		if l > 1<<24 {
			return "", errors.New("sorted list: corrupt record")
		}
		b := make([]byte, l)
		if _, err := io.ReadFull(br, b); err != nil {
			return "", err
		}
		n += int(l) + binary.MaxVarintLen64
		return string(b), nil
	}
	var err error
	if r.key, err = str(); err != nil {
		return r, 0, err
	}
	if r.size, err = binary.ReadVarint(br); err != nil {
		return r, 0, noEOF(err)
	}
	if r.mtime, err = binary.ReadVarint(br); err != nil {
		return r, 0, noEOF(err)
	}
	if r.etag, err = str(); err != nil {
		return r, 0, noEOF(err)
	}
	return r, n, nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// runBytes bounds the memory of one sorted run (a variable for tests).
var runBytes = 32 << 20

// indexEvery is how many records apart the in-memory index marks are.
const indexEvery = 1024

// index is a sorted copy of a list, with a mark every indexEvery records.
type index struct {
	f     *os.File
	size  int64
	marks []mark
}

type mark struct {
	key string
	off int64
}

// build reads a list with read (which calls emit for each record, in the
// list's order) into a sorted copy in dir: runs sorted in memory and
// written out, then merged, a key listed twice kept once (its first
// record).
func build(dir, name string, read func(emit func(record) error) error) (*index, error) {
	var runs []string
	var recs []record
	size := 0
	flush := func() error {
		if len(recs) == 0 {
			return nil
		}
		slices.SortStableFunc(recs, func(a, b record) int { return strings.Compare(a.key, b.key) })
		p := filepath.Join(dir, fmt.Sprintf("run%05d", len(runs)))
		if err := writeRun(p, recs); err != nil {
			return err
		}
		runs = append(runs, p)
		recs, size = recs[:0], 0
		return nil
	}
	err := read(func(r record) error {
		recs = append(recs, r)
		size += len(r.key) + len(r.etag) + 96
		if size >= runBytes {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	return merge(runs, filepath.Join(dir, "sorted"))
}

func writeRun(name string, recs []record) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	var b []byte
	for _, r := range recs {
		b = r.append(b[:0])
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// runReader is one sorted run being merged.
type runReader struct {
	br  *bufio.Reader
	f   *os.File
	cur record
	seq int // equal keys keep the order of the runs, which is the list's
	err error
}

func (r *runReader) next() bool {
	var err error
	r.cur, _, err = readRecord(r.br)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return err == nil
}

type runHeap []*runReader

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := strings.Compare(h[i].cur.key, h[j].cur.key); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runReader)) }
func (h *runHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// merge merges the runs into the file name and returns its index; the
// runs are removed.
func merge(runs []string, name string) (*index, error) {
	var rh runHeap
	var all []*runReader
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
		r := &runReader{br: bufio.NewReaderSize(f, 1<<16), f: f, seq: i}
		all = append(all, r)
		if r.next() {
			rh = append(rh, r)
		} else if r.err != nil {
			return nil, r.err
		}
	}
	heap.Init(&rh)
	out, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	x := &index{f: out}
	w := bufio.NewWriterSize(out, 1<<16)
	var b []byte
	last, n := "", 0
	for rh.Len() > 0 {
		r := rh[0]
		rec := r.cur
		if r.next() {
			heap.Fix(&rh, 0)
		} else {
			if r.err != nil {
				out.Close()
				return nil, r.err
			}
			heap.Pop(&rh)
		}
		if n > 0 && rec.key == last {
			continue
		}
		if n%indexEvery == 0 {
			x.marks = append(x.marks, mark{key: rec.key, off: x.size})
		}
		b = rec.append(b[:0])
		w.Write(b)
		x.size += int64(len(b))
		last = rec.key
		n++
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return nil, err
	}
	return x, nil
}

// scan calls fn with the records from the last mark at or before from, in
// order, until fn returns false or an error.
func (x *index) scan(from string, fn func(record) (bool, error)) error {
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
		r, _, err := readRecord(br)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sorted list: %w", err)
		}
		if r.key < from {
			continue
		}
		if more, err := fn(r); err != nil || !more {
			return err
		}
	}
}
