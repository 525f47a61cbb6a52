package conf

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseProps(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []prop // when err is ""
		err  string // substring of the error
	}{
		{name: "empty", in: ""},
		{name: "comments and blanks", in: "# a\n  ! b\n\n   \t\n#x=y\n"},
		{name: "trim", in: "  a  =  b c  \n", want: []prop{{"a", "b c", 1}}},
		{name: "first = splits", in: "k=a=b\n", want: []prop{{"k", "a=b", 1}}},
		{name: "hash in value", in: "k=v # not a comment\n", want: []prop{{"k", "v # not a comment", 1}}},
		{name: "empty value", in: "k=\n", want: []prop{{"k", "", 1}}},
		{name: "parens in key", in: "workerMaxThroughput(KB/s)=0", want: []prop{{"workerMaxThroughput(KB/s)", "0", 1}}},
		{name: "backslashes literal", in: `p=C:\data\new\` + "\n", want: []prop{{"p", `C:\data\new\`, 1}}},
		{name: "bom and crlf", in: "\uFEFF# c\r\na=1\r\n\r\nb=2\r\n", want: []prop{{"a", "1", 2}, {"b", "2", 4}}},
		{name: "no final newline", in: "a=1\nb=2", want: []prop{{"a", "1", 1}, {"b", "2", 2}}},
		{name: "tab inside value", in: "a=x\ty\n", want: []prop{{"a", "x\ty", 1}}},
		{name: "utf8 value", in: "p=/données/été\n", want: []prop{{"p", "/données/été", 1}}},
		{name: "no equals", in: "a=1\njust words\n", err: `f:2: expected key=value, found no "="`},
		{name: "no equals does not echo the line", in: "destSecretKey abc123\n", err: "f:1: expected"},
		{name: "empty key", in: " = 1\n", err: `f:1: missing key before "="`},
		{name: "duplicate", in: "a=1\n\na=2\n", err: "f:3: a: set twice (first on line 1); keep one"},
		{name: "control char in value", in: "a=x\x00y\n", err: "f:1: a: value contains control character U+0000"},
		{name: "control char in key", in: "a\x01b=1\n", err: "f:1: key contains control character U+0001"},
		{name: "bom inside", in: "a=1\n\uFEFFb=2\n", err: "f:2: key contains a byte order mark"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parseProps(strings.NewReader(tc.in), "f")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want containing %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "abc123") {
					t.Errorf("error quotes the line: %v", err)
				}
				var ce *Error
				if !errors.As(err, &ce) {
					t.Errorf("err is %T, want *Error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.list) != len(tc.want) {
				t.Fatalf("got %v, want %v", p.list, tc.want)
			}
			for i := range tc.want {
				if p.list[i] != tc.want[i] {
					t.Errorf("prop %d = %+v, want %+v", i, p.list[i], tc.want[i])
				}
				v, line, ok := p.get(tc.want[i].Key)
				if !ok || v != tc.want[i].Value || line != tc.want[i].Line {
					t.Errorf("get(%q) = %q, %d, %v", tc.want[i].Key, v, line, ok)
				}
			}
		})
	}
}

// FuzzParse checks the properties reader against properties that must hold
// for any input.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*")
	seeds = append(seeds, "job.cfg", "sys.properties", "workers")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"", "a=b", "a = b \r\n", "\uFEFFa=b\n#c\n!d\nx==y", "a=1\na=2", "=x", "novalue\n",
		"k=v\x00", "\uFEFF\uFEFFk=v", "k\f=\vv\f", "k=v\r\rw", "a=b\n\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := parseProps(strings.NewReader(string(in)), "fuzz.cfg")
		lines := splitLines(in)
		if err != nil {
			// Errors are one-line *Error values on an existing line.
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T, want *Error: %v", err, err)
			}
			if ce.File != "fuzz.cfg" || ce.Line < 1 || ce.Line > len(lines) {
				t.Fatalf("error points at %s:%d of %d lines: %v", ce.File, ce.Line, len(lines), err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("multi-line error: %q", err.Error())
			}
			return
		}
		// Every entry comes from its line, in order, once; nothing else is
		// an entry but comment and blank lines.
		entries := 0
		for _, l := range lines {
			if t := strings.Trim(l, propSpace); t != "" && t[0] != '#' && t[0] != '!' {
				entries++
			}
		}
		if entries != len(p.list) || len(p.index) != len(p.list) {
			t.Fatalf("%d entries from %d key=value lines, %d indexed", len(p.list), entries, len(p.index))
		}
		prev := 0
		for _, e := range p.list {
			if e.Line <= prev || e.Line > len(lines) {
				t.Fatalf("line %d after %d (of %d)", e.Line, prev, len(lines))
			}
			prev = e.Line
			k, v, ok := strings.Cut(lines[e.Line-1], "=")
			if !ok || strings.Trim(k, propSpace) != e.Key || strings.Trim(v, propSpace) != e.Value {
				t.Fatalf("entry %+v does not come from line %q", e, lines[e.Line-1])
			}
			if e.Key == "" || strings.ContainsAny(e.Key, "=\n") || strings.ContainsAny(e.Value, "\n\r") {
				t.Fatalf("bad entry %+v", e)
			}
		}
		// Written back as key=value lines, the entries read the same.
		var b strings.Builder
		for _, e := range p.list {
			b.WriteString(e.Key + "=" + e.Value + "\n")
		}
		q, err := parseProps(strings.NewReader(b.String()), "again")
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b.String(), err)
		}
		if len(q.list) != len(p.list) {
			t.Fatalf("re-parse: %d entries, want %d", len(q.list), len(p.list))
		}
		for i := range p.list {
			if q.list[i].Key != p.list[i].Key || q.list[i].Value != p.list[i].Value || q.list[i].Line != i+1 {
				t.Fatalf("re-parse entry %d = %+v, want %+v", i, q.list[i], p.list[i])
			}
		}
	})
}
