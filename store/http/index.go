package httpstore

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"ferry/internal/sortedfile"
)

// The list file is read once per store into a sorted file of records
// (key, then the line number and URL) in a temporary directory, with an
// in-memory index of every indexEvery-th key (internal/sortedfile). List
// streams it from the first key it needs; Stat and Open find a key's URL
// with one binary search in the index and a short scan. Memory stays
// bounded whatever the size and order of the list.

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

// value encodes what the sorted copy keeps beside the key.
func (r record) value() []byte { return append(binary.AppendUvarint(nil, uint64(r.line)), r.url...) }

func recordOf(sr sortedfile.Record) (record, error) {
	line, n := binary.Uvarint(sr.Val)
	if n <= 0 {
		return record{}, errors.New("sorted URL list: corrupt record")
	}
	return record{key: sr.Key, line: int(line), url: string(sr.Val[n:])}, nil
}

// index is the sorted list.
type index struct{ *sortedfile.File }

// buildIndex reads the list file into dir. A key listed twice with the same
// URL is kept once; with two URLs it is refused.
func (h *HTTP) buildIndex(dir string) (*index, error) {
	in, err := os.Open(h.listFile)
	if err != nil {
		return nil, fmt.Errorf("http list %s: %w", h.listFile, err)
	}
	defer in.Close()
	b := sortedfile.NewBuilder(dir, runBytes)
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
				if err := b.Add(r.key, r.value()); err != nil {
					return nil, err
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
	f, err := b.Finish(filepath.Join(dir, "sorted"), indexEvery, func(first, later sortedfile.Record) error {
		a, _ := recordOf(first)
		c, _ := recordOf(later)
		if a.url != c.url {
			return fmt.Errorf("%s: key %q is listed twice with different URLs, lines %d and %d", h.listFile, a.key, a.line, c.line)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &index{f}, nil
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

// scan calls fn with the records from the first whose key is >= from, in
// order, until fn returns false.
func (x *index) scan(from string, fn func(record) (bool, error)) error {
	return x.Scan(from, func(sr sortedfile.Record) (bool, error) {
		r, err := recordOf(sr)
		if err != nil {
			return false, err
		}
		return fn(r)
	})
}

// lookup returns the URL of key, or "".
func (x *index) lookup(key string) (string, error) {
	v, ok, err := x.Lookup(key)
	if err != nil || !ok {
		return "", err
	}
	r, err := recordOf(sortedfile.Record{Key: key, Val: v})
	return r.url, err
}
