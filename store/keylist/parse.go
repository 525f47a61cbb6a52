package keylist

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"ferry/tracker"
)

// maxLine is the longest line a key list may have.
const maxLine = 1 << 20

// readKeyList reads the key list at name, calling emit for each key in the
// list's order. Errors name the file and the line.
func readKeyList(name string, emit func(record) error) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("srcListFile: %w", err)
	}
	defer f.Close()
	return parseKeyList(f, name, emit)
}

// parseKeyList reads a key list from r (see the package comment); name
// names it in messages.
func parseKeyList(r io.Reader, name string, emit func(record) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	for line := 1; ; line++ {
		s, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			var long []byte
			long = append(long, s...)
			for err == bufio.ErrBufferFull && len(long) <= maxLine {
				s, err = br.ReadSlice('\n')
				long = append(long, s...)
			}
			if len(long) > maxLine {
				return fmt.Errorf("%s:%d: line longer than %d bytes", name, line, maxLine)
			}
			s = long
		}
		if len(s) > 0 {
			rec, ok, perr := parseLine(string(s), name, line)
			if perr != nil {
				return perr
			}
			if ok {
				if err := emit(rec); err != nil {
					return err
				}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
}

// parseLine reads one line: an escaped key, then optionally a tab and the
// size, then optionally a tab and the mtime. ok is false for a blank line.
func parseLine(s, name string, line int) (r record, ok bool, err error) {
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	if strings.TrimSpace(s) == "" {
		return record{}, false, nil
	}
	cols := strings.Split(s, "\t")
	if len(cols) > 3 {
		return record{}, false, fmt.Errorf("%s:%d: %d tab-separated columns; a line is KEY[<tab>SIZE[<tab>MTIME]] (a tab in a key is written \\t)",
			name, line, len(cols))
	}
	key, err := tracker.Unescape(cols[0])
	if err != nil {
		return record{}, false, fmt.Errorf("%s:%d: key %q: %v (a backslash in a key is written \\\\)", name, line, cols[0], err)
	}
	if key == "" {
		return record{}, false, fmt.Errorf("%s:%d: empty key", name, line)
	}
	r = record{key: key}
	if len(cols) > 1 {
		if r.size, err = strconv.ParseInt(strings.TrimSpace(cols[1]), 10, 64); err != nil || r.size < 0 {
			return record{}, false, fmt.Errorf("%s:%d: size %q of %q: not a number of bytes", name, line, cols[1], tracker.Escape(key))
		}
	}
	if len(cols) > 2 {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(cols[2]))
		if err != nil {
			return record{}, false, fmt.Errorf("%s:%d: mtime %q of %q: not an RFC 3339 time (such as 2026-01-02T15:04:05Z)",
				name, line, cols[2], tracker.Escape(key))
		}
		r.mtime = t.UnixNano()
	}
	return r, true, nil
}
