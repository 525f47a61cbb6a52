package filter

import (
	"path"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		pattern string
		yes, no []string
	}{
		{"a.txt", []string{"a.txt"}, []string{"", "a.tx", "a.txt2", "d/a.txt", "A.txt"}},
		{"*.tmp", []string{"a.tmp", ".tmp", "x.y.tmp"}, []string{"d/a.tmp", "a.tmp/b", "a.tmpx", "tmp"}},
		{"*", []string{"", "a", "abc"}, []string{"a/b", "/"}},
		{"**", []string{"", "a", "a/b/c", "/"}, nil},
		{"**/*.tmp", []string{"a.tmp", "d/a.tmp", "d/e/f/.tmp"}, []string{"a.tmpx", "d/a.tmp/x", "d/tmp"}},
		{"docs/**", []string{"docs/", "docs/a", "docs/a/b/c"}, []string{"docs", "doc/a", "xdocs/a"}},
		{"docs/**/*.md", []string{"docs/a.md", "docs/x/a.md", "docs/x/y/a.md"}, []string{"docs/a.txt", "a.md", "docs.md"}},
		{"a/**/b", []string{"a/b", "a/x/b", "a/x/y/b"}, []string{"ab", "a/xb", "a/b/c", "a//"}},
		// ** inside a name matches across '/'.
		{"a**b", []string{"ab", "a/b", "a/x/y/b", "axb"}, []string{"a/b/c", "ba"}},
		{"x/**b", []string{"x/b", "x/ab", "x/a/b", "x/a/cb"}, []string{"x/a/c", "xb"}},
		{"?", []string{"a", "é", "\xff"}, []string{"", "ab", "/"}},
		{"a?c", []string{"abc", "a-c", "a界c"}, []string{"ac", "a/c", "abbc"}},
		{"[abc]", []string{"a", "b", "c"}, []string{"d", "", "ab", "/"}},
		{"[a-z0-9_]x", []string{"ax", "9x", "_x"}, []string{"Ax", "-x", "x"}},
		{"[!a-c]", []string{"d", "A", "é", "\xff"}, []string{"a", "b", "c", "/", ""}},
		{"[^a-c]", []string{"d"}, []string{"b"}},
		{"[]]", []string{"]"}, []string{"a"}},
		{"[!]]", []string{"a"}, []string{"]"}},
		{"[a-]", []string{"a", "-"}, []string{"b"}},
		{"[-a]", []string{"a", "-"}, []string{"b"}},
		{`[\]\-]`, []string{"]", "-"}, []string{`\`, "a"}},
		{"[é-ë]", []string{"é", "ê", "ë"}, []string{"e", "ì"}},
		{`\*`, []string{"*"}, []string{"a", `\*`}},
		{`a\,b`, []string{"a,b"}, []string{`a\,b`}},
		{`\\`, []string{`\`}, []string{`\\`}},
		{`\[x]`, []string{"[x]"}, []string{"x"}},
		{"a]", []string{"a]"}, nil},
		{"日本/*.txt", []string{"日本/a.txt"}, []string{"日本/a/b.txt"}},
		// Bytes that are not UTF-8 match themselves only.
		{"\xff*", []string{"\xff", "\xffab"}, []string{"\xfe", "a"}},
		{"*\xfe", []string{"a\xfe"}, []string{"a\xff"}},
		{"*a*a*a*a*a*b", []string{"aaaaab"}, []string{strings.Repeat("a", 200)}},
		{"**/**/**/x", []string{"x", "a/x", "a/b/c/d/x"}, []string{strings.Repeat("a/", 200)}},
	}
	for _, tc := range tests {
		p, err := Compile(tc.pattern)
		if err != nil {
			t.Errorf("Compile(%q): %v", tc.pattern, err)
			continue
		}
		if p.String() != tc.pattern {
			t.Errorf("String() = %q, want %q", p.String(), tc.pattern)
		}
		for _, k := range tc.yes {
			if !p.Match(k) {
				t.Errorf("%q does not match %q", tc.pattern, k)
			}
			if !refMatch(p.toks, k) {
				t.Errorf("reference: %q does not match %q", tc.pattern, k)
			}
		}
		for _, k := range tc.no {
			if p.Match(k) {
				t.Errorf("%q matches %q", tc.pattern, k)
			}
			if refMatch(p.toks, k) {
				t.Errorf("reference: %q matches %q", tc.pattern, k)
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"", `pattern "": empty`},
		{"/docs/*", `pattern "/docs/*": starts with "/"; patterns match the key relative to srcPrefix (write "docs/*")`},
		{`a\`, `pattern "a\\": ends with a lone "\" (write \\ for a backslash)`},
		{"a***", `pattern "a***": "***": use * (within a name) or ** (any depth)`},
		{"[abc", `pattern "[abc": "[" without a closing "]"`},
		{"[]", `pattern "[]": "[" without a closing "]"`},
		{"[!", `pattern "[!": "[" without a closing "]"`},
		{`[a\`, `pattern "[a\\": "[" without a closing "]"`},
		{"[z-a]", `pattern "[z-a]": range 'z'-'a' is backwards`},
		{"[a/]", `pattern "[a/]": a character class never matches "/"; write / outside it`},
		{"[+-9]", `pattern "[+-9]": a character class never matches "/"; write / outside it`},
		{"[\xff]", `pattern "[\xff]": character class holds a byte that is not UTF-8`},
	}
	for _, tc := range tests {
		_, err := Compile(tc.pattern)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Compile(%q) = %v, want %s", tc.pattern, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("Compile(%q): error is not one line", tc.pattern)
		}
	}
}

func TestSplitList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"  ", nil, ""},
		{"*.tmp", []string{"*.tmp"}, ""},
		{"*.tmp, **/.git/**,cache/*", []string{"*.tmp", "**/.git/**", "cache/*"}, ""},
		{`a\,b,c`, []string{`a\,b`, "c"}, ""},
		{`a\\,b`, []string{`a\\`, "b"}, ""},
		{`a\ ,\ b`, []string{`a\ `, `\ b`}, ""},
		{"\ta b\t", []string{"a b"}, ""},
		{`x\`, []string{`x\`}, ""}, // Compile refuses it
		{"a,,b", nil, `pattern 2 of the list is empty (a comma inside a pattern is \,)`},
		{"a,", nil, `pattern 2 of the list is empty (a comma inside a pattern is \,)`},
		{",a", nil, `pattern 1 of the list is empty (a comma inside a pattern is \,)`},
		{"a, ,b", nil, `pattern 2 of the list is empty (a comma inside a pattern is \,)`},
	}
	for _, tc := range tests {
		got, err := SplitList(tc.in)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("SplitList(%q) error %v, want %s", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("SplitList(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	ps, err := CompileList(`*.tmp, a\,b`)
	if err != nil || len(ps) != 2 || !ps[1].Match("a,b") || !ps[0].Match("x.tmp") {
		t.Errorf("CompileList: %v, %v", ps, err)
	}
	if _, err := CompileList("ok,[x"); err == nil || err.Error() != `pattern "[x": "[" without a closing "]"` {
		t.Errorf("CompileList: %v", err)
	}
	if _, err := CompileList("a,,b"); err == nil {
		t.Error("CompileList(a,,b): no error")
	}
}

// refMatch is a plain backtracking matcher over the same tokens, the
// reference Match is checked against; memo keeps it polynomial.
func refMatch(toks []token, key string) bool {
	return (&refMatcher{memo: map[[2]int]bool{}}).match(toks, key)
}

type refMatcher struct{ memo map[[2]int]bool }

func (m *refMatcher) match(toks []token, key string) bool {
	k := [2]int{len(toks), len(key)}
	if v, ok := m.memo[k]; ok {
		return v
	}
	v := m.try(toks, key)
	m.memo[k] = v
	return v
}

func (m *refMatcher) try(toks []token, key string) bool {
	refMatch := m.match
	if len(toks) == 0 {
		return key == ""
	}
	t, rest := toks[0], toks[1:]
	switch t.kind {
	case tStar, tGlobstar:
		for i := 0; ; {
			if refMatch(rest, key[i:]) {
				return true
			}
			if i == len(key) || t.kind == tStar && key[i] == '/' {
				return false
			}
			_, w := utf8.DecodeRuneInString(key[i:])
			i += w
		}
	case tDirs: // and the tDirsBody after it
		rest = rest[1:]
		if refMatch(rest, key) {
			return true
		}
		for i := 0; i < len(key); {
			_, w := utf8.DecodeRuneInString(key[i:])
			i += w
			if key[i-1] == '/' && refMatch(rest, key[i:]) {
				return true
			}
		}
		return false
	}
	if key == "" {
		return false
	}
	r, w := utf8.DecodeRuneInString(key)
	valid := !(r == utf8.RuneError && w == 1)
	switch t.kind {
	case tLit:
		if key[:w] != t.lit {
			return false
		}
	case tAny:
		if r == '/' {
			return false
		}
	case tClass:
		if r == '/' || !t.matches(r, valid) {
			return false
		}
	}
	return refMatch(rest, key[w:])
}

// FuzzMatch checks Match against the backtracking reference and, for
// patterns of plain characters, * and ? only, against path.Match, whose
// syntax agrees there. Any pattern either compiles or errors, never panics.
func FuzzMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"**/*.tmp", "a/b.tmp"}, {"a/**/b", "a/x/b"}, {"[!a-c]?x", "dyx"}, {`\*\,`, "*,"},
		{"a**b", "a/b"}, {"*.go", "main.go"}, {"[]]", "]"}, {"\xff*", "\xffa"}, {"**", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, key string) {
		p, err := Compile(pattern)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if p.String() != pattern {
			t.Fatalf("String() = %q", p.String())
		}
		got := p.Match(key)
		if want := refMatch(p.toks, key); got != want {
			t.Fatalf("Match(%q, %q) = %v, reference %v", pattern, key, got, want)
		}
		if strings.Trim(pattern, "abc/.*?") == "" && !strings.Contains(pattern, "**") && utf8.ValidString(key) {
			want, err := path.Match(pattern, key)
			if err == nil && got != want {
				t.Fatalf("Match(%q, %q) = %v, path.Match %v", pattern, key, got, want)
			}
		}
		// A pattern without metacharacters matches exactly itself.
		if !strings.ContainsAny(pattern, `*?[\`) {
			if got != (key == pattern) || !p.Match(pattern) {
				t.Fatalf("literal %q vs %q: %v", pattern, key, got)
			}
		}
	})
}

// FuzzSplitList checks that escaping each item's commas and joining them
// gives the items back, and that splitting never panics.
func FuzzSplitList(f *testing.F) {
	f.Add("a,b", "c")
	f.Add(`x\,y`, " z ")
	f.Add("", ",")
	f.Fuzz(func(t *testing.T, a, b string) {
		SplitList(a + "," + b)
		var items []string
		for _, s := range []string{a, b} {
			// The item as a user would write it: commas and backslashes
			// escaped, no blanks at the ends.
			s = strings.Trim(s, " \t")
			if s == "" {
				return
			}
			s = strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), ",", `\,`)
			items = append(items, s)
		}
		got, err := SplitList(strings.Join(items, " , "))
		if err != nil || !slices.Equal(got, items) {
			t.Fatalf("SplitList(%q) = %q, %v; want %q", strings.Join(items, " , "), got, err, items)
		}
	})
}
