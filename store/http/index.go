package httpstore

import (
	"bufio"
	"container/heap"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// The list file is read once per store into a sorted file of records
// "key TAB line TAB url LF" in a temporary directory, with an in-memory
// index of every indexEvery-th key. List streams it from the first key it
// needs; Stat and Open find a key's URL with one binary search in the
// index and a short scan. Sorting is an external merge sort: runs of at
// most runBytes are sorted in memory and written out, then merged, so
// memory stays bounded whatever the size and order of the list.

const (
	indexEvery = 128
	maxLine    = 1 << 20
)

// runBytes is the size of the runs of the external sort (a variable for
// tests).
var runBytes = 32 << 20

// record is one line of the list.
type record struct {
	key, url string
	line     int
}

func (r record) String() string { return r.key + "\t" + strconv.Itoa(r.line) + "\t" + r.url + "\n" }

func parseRecord(s string) record {
	k, rest, _ := strings.Cut(strings.TrimSuffix(s, "\n"), "\t")
	ln, u, _ := strings.Cut(rest, "\t")
	n, _ := strconv.Atoi(ln)
	return record{key: k, line: n, url: u}
}

// mark is an indexed key and the offset of its record.
type mark struct {
	key string
	off int64
}

// index is the sorted list.
type index struct {
	f     *os.File
	size  int64
	marks []mark
}

// buildIndex reads the list file into dir.
func (h *HTTP) buildIndex(dir string) (*index, error) {
	in, err := os.Open(h.listFile)
	if err != nil {
		return nil, fmt.Errorf("http list %s: %w", h.listFile, err)
	}
	defer in.Close()
	var runs []string
	var recs []record
	size := 0
	flush := func() error {
		slices.SortStableFunc(recs, func(a, b record) int { return strings.Compare(a.key, b.key) })
		name := filepath.Join(dir, fmt.Sprintf("run%05d", len(runs)))
		if err := writeRecords(name, recs); err != nil {
			return err
		}
		runs = append(runs, name)
		recs, size = recs[:0], 0
		return nil
	}
	br := bufio.NewReaderSize(in, 1<<16)
	for line := 1; ; line++ {
		s, err := br.ReadString('\n')
		if len(s) > maxLine {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", h.listFile, line, maxLine)
		}
		if s != "" {
			r, ok, perr := h.parseLine(s, line)
			if perr != nil {
				return nil, perr
			}
			if ok {
				recs = append(recs, r)
				size += len(r.key) + len(r.url) + 64
				if size >= runBytes {
					if err := flush(); err != nil {
						return nil, err
					}
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("http list %s: %w", h.listFile, err)
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return h.merge(runs, filepath.Join(dir, "sorted"))
}

// parseLine returns the record of one line, or ok false for a blank line
// or a comment. Columns are separated by tabs when the line has one (so
// names may hold spaces), else by runs of blanks, as ossimport splits them.
func (h *HTTP) parseLine(s string, line int) (r record, ok bool, err error) {
	s = strings.TrimRight(s, "\r\n")
	if t := strings.TrimSpace(s); t == "" || strings.HasPrefix(t, "#") {
		return record{}, false, nil
	}
	var cols []string
	if strings.Contains(s, "\t") {
		for c := range strings.SplitSeq(s, "\t") {
			if c = strings.Trim(c, " \r"); c != "" {
				cols = append(cols, c)
			}
		}
	} else {
		cols = strings.Fields(s)
	}
	if need := max(h.prefixCol, h.relCol); len(cols) < need {
		return record{}, false, fmt.Errorf("%s:%d: %d columns, but httpPrefixColumn=%d and relativePathColumn=%d need %d",
			h.listFile, line, len(cols), h.prefixCol, h.relCol, need)
	}
	prefix, rel := cols[h.prefixCol-1], cols[h.relCol-1]
	key := strings.TrimLeft(rel, "/")
	if key == "" {
		return record{}, false, fmt.Errorf("%s:%d: empty relative path %q", h.listFile, line, rel)
	}
	if !strings.Contains(prefix, "://") {
		prefix = "http://" + prefix
	}
	return record{key: key, url: prefix + escapePath(rel), line: line}, true, nil
}

// escapePath percent-encodes each '/'-separated segment of a relative
// path: the list holds names as they are (spaces, '#', '?', '%', UTF-8),
// not as they appear in URLs.
func escapePath(rel string) string {
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		segs[i] = pathEscape(s)
	}
	return strings.Join(segs, "/")
}

// pathEscape escapes all but the unreserved characters and the sub-delims
// that are safe in a path segment on every server.
func pathEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func writeRecords(name string, recs []record) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	for _, r := range recs {
		w.WriteString(r.String())
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
	seq int // the run's number: equal keys keep the order of the list
}

func (r *runReader) next() bool {
	s, err := r.br.ReadString('\n')
	if err != nil {
		return false
	}
	r.cur = parseRecord(s)
	return true
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

// merge merges the sorted runs into the file name, dropping repeated
// lines of a key with the same URL and refusing a key listed with two
// URLs, and returns its index. The runs are removed.
func (h *HTTP) merge(runs []string, name string) (*index, error) {
	var rh runHeap
	defer func() {
		for _, r := range rh {
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
		if r.next() {
			rh = append(rh, r)
		} else {
			f.Close()
		}
	}
	heap.Init(&rh)
	out, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	idx := &index{f: out}
	w := bufio.NewWriterSize(out, 1<<16)
	var last record
	n := 0
	for rh.Len() > 0 {
		r := rh[0]
		rec := r.cur
		if r.next() {
			heap.Fix(&rh, 0)
		} else {
			r.f.Close()
			heap.Pop(&rh)
		}
		if n > 0 && rec.key == last.key {
			if rec.url != last.url {
				out.Close()
				return nil, fmt.Errorf("%s: key %q is listed twice with different URLs, lines %d and %d", h.listFile, rec.key, last.line, rec.line)
			}
			continue
		}
		if n%indexEvery == 0 {
			idx.marks = append(idx.marks, mark{key: rec.key, off: idx.size})
		}
		s := rec.String()
		w.WriteString(s)
		idx.size += int64(len(s))
		last = rec
		n++
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return nil, err
	}
	return idx, nil
}

// scan calls fn with the records from the first whose key is >= from, in
// order, until fn returns false.
func (x *index) scan(from string, fn func(record) (bool, error)) error {
	i, _ := slices.BinarySearchFunc(x.marks, from, func(m mark, k string) int { return strings.Compare(m.key, k) })
	if i == len(x.marks) || i > 0 && x.marks[i].key != from {
		i--
	}
	if i < 0 {
		i = 0
	}
	if len(x.marks) == 0 {
		return nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(x.f, x.marks[i].off, x.size-x.marks[i].off), 1<<16)
	for {
		s, err := br.ReadString('\n')
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		r := parseRecord(s)
		if r.key < from {
			continue
		}
		if more, err := fn(r); err != nil || !more {
			return err
		}
	}
}

// lookup returns the URL of key, or "".
func (x *index) lookup(key string) (string, error) {
	u := ""
	err := x.scan(key, func(r record) (bool, error) {
		if r.key == key {
			u = r.url
		}
		return false, nil
	})
	return u, err
}
