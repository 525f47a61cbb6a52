// Package filter selects the entries a job copies: glob patterns matched
// against keys (Pattern), and a Set of include and exclude patterns with
// size and modification-time bounds, as job.cfg's include, exclude,
// minSize, maxSize, modifiedAfter and modifiedBefore give them.
package filter

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Pattern is a compiled glob pattern. It matches a whole key (relative to
// the job's srcPrefix, '/' separated), case-sensitively:
//
//   - "*" matches any run of characters without '/', including none;
//   - "**" matches any run of characters, '/' included; written as a whole
//     path element followed by '/' ("**/x", "a/**/x") it also matches no
//     directory at all, so "**/*.tmp" matches "a.tmp" and "d/e/a.tmp";
//   - "?" matches one character other than '/';
//   - "[abc]" matches one character of the class, never '/'; ranges as
//     [a-z0-9]; [!abc] or [^abc] negates; a ']' first in the class is
//     literal, and so is a '-' first or last; '\' escapes inside a class;
//   - "\c" matches the character c literally (\*, \?, \[, \\, \,).
//
// Anything else matches itself. There is no alternation ({a,b}): list two
// patterns instead. A pattern is anchored at both ends: "*.tmp" matches
// "a.tmp" but not "d/a.tmp" ("**/*.tmp" matches both), and "docs/**"
// matches everything under docs/. A character is one UTF-8 sequence; a byte
// that is not valid UTF-8 counts as one character and matches itself only.
// Matching takes time proportional to the key's length times the pattern's.
type Pattern struct {
	src    string
	toks   []token
	prefix string // the literal text every match starts with
}

type tokKind uint8

const (
	tLit      tokKind = iota // lit: one character, as its bytes
	tAny                     // ?
	tClass                   // [...]
	tStar                    // *
	tGlobstar                // **
	// "**/" as a whole path element, "" or anything ending in '/', is two
	// tokens: tDirs, which reads nothing and leads past the pair or into
	// tDirsBody, which reads any character and leaves after a '/'.
	tDirs
	tDirsBody
)

type token struct {
	kind   tokKind
	lit    string
	negate bool
	ranges []runeRange
}

type runeRange struct{ lo, hi rune }

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// Compile parses a pattern. Its error says what is wrong, quoting the
// pattern; it is one line.
func Compile(pattern string) (*Pattern, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("pattern %q: %s", pattern, fmt.Sprintf(format, a...))
	}
	if pattern == "" {
		return nil, bad("empty")
	}
	if pattern[0] == '/' {
		return nil, bad("starts with \"/\"; patterns match the key relative to srcPrefix (write %q)",
			strings.TrimLeft(pattern, "/"))
	}
	p := &Pattern{src: pattern}
	// atElem: the next token starts a path element.
	atElem := func() bool {
		n := len(p.toks)
		return n == 0 || p.toks[n-1].kind == tDirsBody || p.toks[n-1].kind == tLit && p.toks[n-1].lit == "/"
	}
	for i := 0; i < len(pattern); {
		switch c := pattern[i]; c {
		case '\\':
			if i+1 == len(pattern) {
				return nil, bad("ends with a lone \"\\\" (write \\\\ for a backslash)")
			}
			_, w := utf8.DecodeRuneInString(pattern[i+1:])
			p.toks = append(p.toks, token{kind: tLit, lit: pattern[i+1 : i+1+w]})
			i += 1 + w
		case '*':
			n := 1
			for i+n < len(pattern) && pattern[i+n] == '*' {
				n++
			}
			switch {
			case n > 2:
				return nil, bad("%q: use * (within a name) or ** (any depth)", strings.Repeat("*", n))
			case n == 1:
				p.toks = append(p.toks, token{kind: tStar})
			case atElem() && i+2 < len(pattern) && pattern[i+2] == '/':
				p.toks = append(p.toks, token{kind: tDirs}, token{kind: tDirsBody})
				n = 3
			default:
				p.toks = append(p.toks, token{kind: tGlobstar})
			}
			i += n
		case '?':
			p.toks = append(p.toks, token{kind: tAny})
			i++
		case '[':
			t, n, err := parseClass(pattern[i:])
			if err != nil {
				return nil, bad("%s", err)
			}
			p.toks = append(p.toks, t)
			i += n
		default:
			_, w := utf8.DecodeRuneInString(pattern[i:])
			p.toks = append(p.toks, token{kind: tLit, lit: pattern[i : i+w]})
			i += w
		}
	}
	var b strings.Builder
	for _, t := range p.toks {
		if t.kind != tLit {
			break
		}
		b.WriteString(t.lit)
	}
	p.prefix = b.String()
	return p, nil
}

// parseClass parses the class at the start of s (s[0] == '['), returning
// it and the bytes it spans.
func parseClass(s string) (token, int, error) {
	t := token{kind: tClass}
	i := 1
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		t.negate = true
		i++
	}
	first := true
	// next reads one class character (maybe escaped) at i.
	next := func() (rune, error) {
		if s[i] == '\\' {
			i++
			if i == len(s) {
				return 0, fmt.Errorf("\"[\" without a closing \"]\"")
			}
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			return 0, fmt.Errorf("character class holds a byte that is not UTF-8")
		}
		i += w
		return r, nil
	}
	for {
		if i == len(s) {
			return t, 0, fmt.Errorf("\"[\" without a closing \"]\"")
		}
		if s[i] == ']' && !first {
			i++
			break
		}
		first = false
		lo, err := next()
		if err != nil {
			return t, 0, err
		}
		hi := lo
		if i+1 < len(s) && s[i] == '-' && s[i+1] != ']' {
			i++
			if hi, err = next(); err != nil {
				return t, 0, err
			}
			if hi < lo {
				return t, 0, fmt.Errorf("range %q-%q is backwards", lo, hi)
			}
		}
		if lo <= '/' && '/' <= hi {
			return t, 0, fmt.Errorf("a character class never matches \"/\"; write / outside it")
		}
		t.ranges = append(t.ranges, runeRange{lo, hi})
	}
	return t, i, nil
}

// Match reports whether the whole key matches the pattern.
func (p *Pattern) Match(key string) bool {
	if !strings.HasPrefix(key, p.prefix) {
		return false
	}
	// A simulation of the pattern's automaton: state i is "tokens before
	// i matched"; len(toks) accepts.
	n := len(p.toks)
	cur := make([]bool, n+1)
	nxt := make([]bool, n+1)
	cur[0] = true
	p.closure(cur)
	for pos := 0; pos < len(key); {
		r, w := utf8.DecodeRuneInString(key[pos:])
		ch := key[pos : pos+w]
		valid := !(r == utf8.RuneError && w == 1)
		clear(nxt)
		any := false
		for i := 0; i < n; i++ {
			if !cur[i] {
				continue
			}
			t := &p.toks[i]
			switch t.kind {
			case tLit:
				if ch == t.lit {
					nxt[i+1], any = true, true
				}
			case tAny:
				if r != '/' {
					nxt[i+1], any = true, true
				}
			case tClass:
				if r != '/' && t.matches(r, valid) {
					nxt[i+1], any = true, true
				}
			case tStar:
				if r != '/' {
					nxt[i], any = true, true
				}
			case tGlobstar:
				nxt[i], any = true, true
			case tDirsBody:
				nxt[i], any = true, true
				if r == '/' {
					nxt[i+1] = true
				}
			}
		}
		if !any {
			return false
		}
		p.closure(nxt)
		cur, nxt = nxt, cur
		pos += w
	}
	return cur[n]
}

// closure adds the states reachable without reading: past a token that
// may match nothing, and from tDirs into its body or past it. Such moves
// only go forward, so one pass suffices.
func (p *Pattern) closure(s []bool) {
	for i, t := range p.toks {
		if !s[i] {
			continue
		}
		switch t.kind {
		case tStar, tGlobstar:
			s[i+1] = true
		case tDirs:
			s[i+1], s[i+2] = true, true
		}
	}
}

// matches reports whether the class holds r; valid is false for a byte
// that is not UTF-8, which only a negated class matches.
func (t *token) matches(r rune, valid bool) bool {
	in := false
	if valid {
		for _, rr := range t.ranges {
			if rr.lo <= r && r <= rr.hi {
				in = true
				break
			}
		}
	}
	return in != t.negate
}

// SplitList splits a comma-separated list of patterns, as job.cfg's include
// and exclude hold them. "\," is a comma inside a pattern (it stays escaped,
// so Compile reads it as a literal comma). Blanks around each pattern are
// dropped; an escaped one ("\ ") is kept. An empty item ("a,,b", a trailing
// comma) is an error; an empty or all-blank list gives none.
func SplitList(v string) ([]string, error) {
	if strings.Trim(v, " \t") == "" {
		return nil, nil
	}
	var out []string
	add := func(item string) error {
		item = strings.TrimLeft(item, " \t")
		// Trim trailing blanks that are not escaped.
		for len(item) > 0 && (item[len(item)-1] == ' ' || item[len(item)-1] == '\t') && !escapedAt(item, len(item)-1) {
			item = item[:len(item)-1]
		}
		if item == "" {
			return fmt.Errorf("pattern %d of the list is empty (a comma inside a pattern is \\,)", len(out)+1)
		}
		out = append(out, item)
		return nil
	}
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++ // the escaped byte
		case ',':
			if err := add(v[start:i]); err != nil {
				return nil, err
			}
			start = i + 1
		}
	}
	if err := add(v[start:]); err != nil {
		return nil, err
	}
	return out, nil
}

// escapedAt reports whether s[i] follows an odd number of backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// CompileList splits v with SplitList and compiles each pattern.
func CompileList(v string) ([]*Pattern, error) {
	items, err := SplitList(v)
	if err != nil {
		return nil, err
	}
	var ps []*Pattern
	for _, it := range items {
		p, err := Compile(it)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}
