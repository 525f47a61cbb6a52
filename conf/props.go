package conf

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// maxFileSize bounds what the readers accept: configuration files are a few
// kilobytes, and a multi-megabyte one is a mistake (a wrong path).
const maxFileSize = 4 << 20

// prop is one key=value line.
type prop struct {
	Key, Value string
	Line       int // 1-based
}

// props is a parsed key=value file: the entries in file order and an index
// by key. Keys are unique (a duplicate is a parse error).
type props struct {
	list  []prop
	index map[string]int
}

// get returns the value and line of key, as written (trimmed).
func (p *props) get(key string) (value string, line int, ok bool) {
	i, ok := p.index[key]
	if !ok {
		return "", 0, false
	}
	return p.list[i].Value, p.list[i].Line, true
}

// propSpace is the whitespace trimmed around keys and values: Java's
// Properties set plus \v and a stray \r.
const propSpace = " \t\f\v\r"

// parseProps reads ossimport's key=value syntax:
//
//   - one key=value a line, split at the first '='; the key and the value
//     are trimmed of surrounding blanks; the value may itself contain '='
//     and '#';
//   - blank lines and lines whose first non-blank character is '#' or '!'
//     are comments; '#' later in a line is part of the value;
//   - values are literal: no backslash escapes and no line continuation, so
//     a Windows path such as C:\data\ reads as written (unlike Java's
//     Properties, which ossimport used and which ate the backslashes);
//   - a UTF-8 byte order mark at the start and CRLF line ends are accepted;
//   - a line without '=', an empty key, a control character inside a key or
//     a value (tabs excepted, in values), a misplaced byte order mark and a
//     key set twice are errors. Messages never quote a line or a value,
//     which may hold a secret.
func parseProps(r io.Reader, file string) (*props, error) {
	data, err := readAll(r, file)
	if err != nil {
		return nil, err
	}
	p := &props{index: make(map[string]int)}
	for n, line := range splitLines(data) {
		n++ // 1-based
		t := strings.Trim(line, propSpace)
		if t == "" || t[0] == '#' || t[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return nil, errAt(file, n, "", `expected key=value, found no "="`)
		}
		k = strings.TrimRight(k, propSpace)
		v = strings.TrimLeft(v, propSpace)
		if k == "" {
			return nil, errAt(file, n, "", `missing key before "="`)
		}
		if msg := badChars(k, false); msg != "" {
			return nil, errAt(file, n, "", "key "+msg)
		}
		if msg := badChars(v, true); msg != "" {
			return nil, errAt(file, n, k, "value "+msg)
		}
		if i, dup := p.index[k]; dup {
			return nil, errAt(file, n, k, fmt.Sprintf("set twice (first on line %d); keep one", p.list[i].Line))
		}
		p.index[k] = len(p.list)
		p.list = append(p.list, prop{Key: k, Value: v, Line: n})
	}
	return p, nil
}

// badChars reports a control character (a tab is allowed in values) or a
// byte order mark in s, as a message fragment, or "" when s is clean.
func badChars(s string, value bool) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && !(value && c == '\t')) || c == 0x7f {
			return fmt.Sprintf("contains control character U+%04X", c)
		}
	}
	if strings.Contains(s, "\uFEFF") {
		return "contains a byte order mark (U+FEFF); was the file pasted together?"
	}
	return ""
}

// readAll reads a whole configuration file, refusing an oversized one.
func readAll(r io.Reader, file string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, &Error{File: file, Msg: "cannot read", Err: err}
	}
	if len(data) > maxFileSize {
		return nil, errAt(file, 0, "", fmt.Sprintf("larger than %d MiB; is this the right file?", maxFileSize>>20))
	}
	return data, nil
}

// splitLines drops a leading UTF-8 byte order mark and splits data into
// lines at '\n', removing one '\r' before it. A final line without '\n'
// counts; a final '\n' does not start another line.
func splitLines(data []byte) []string {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}
