package tracker

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain/key.txt", "plain/key.txt"},
		{"a\tb", `a\tb`},
		{"a\nb\r\n", `a\nb\r\n`},
		{`back\slash`, `back\\slash`},
		{`\t`, `\\t`}, // a literal backslash-t is not a tab
		{"\xff", `\xff`},
		{"dir/\xfe\xffname", `dir/\xfe\xffname`},
		{"\x00\x01\x1f\x7f", `\x00\x01\x1f\x7f`},
		{"日本語/é.txt", "日本語/é.txt"},
		{"\u00a0\u2028\U0001F600", "\u00a0\u2028\U0001F600"}, // valid UTF-8 stays readable
		{"\ufffd", "\ufffd"},                                 // a real U+FFFD is not an invalid byte
		{"\xe6\x97", `\xe6\x97`},                             // truncated sequence
		{"\xed\xa0\x80", `\xed\xa0\x80`},                     // surrogate
		{"\xc0\xaf", `\xc0\xaf`},                             // overlong '/'
		{"é\xffé", `é\xffé`},
		{" spaces  kept ", " spaces  kept "},
	}
	for _, tt := range tests {
		got := Escape(tt.in)
		if got != tt.want {
			t.Errorf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
		}
		back, err := Unescape(got)
		if err != nil || back != tt.in {
			t.Errorf("Unescape(%q) = %q, %v, want %q", got, back, err, tt.in)
		}
	}
}

func TestUnescapeErrors(t *testing.T) {
	for _, s := range []string{`trailing\`, `\q`, `\x`, `\x4`, `\xzz`, `\x+f`, `a\`} {
		if got, err := Unescape(s); err == nil {
			t.Errorf("Unescape(%q) = %q, want an error", s, got)
		}
	}
	// Input that needs no unescaping comes back as it is.
	for _, s := range []string{"", "plain", "日本", "\xff raw"} {
		if got, err := Unescape(s); err != nil || got != s {
			t.Errorf("Unescape(%q) = %q, %v", s, got, err)
		}
	}
}

func checkEscaped(t *testing.T, s string) {
	t.Helper()
	e := Escape(s)
	if strings.ContainsAny(e, "\t\n\r") {
		t.Fatalf("Escape(%q) = %q holds a tab, newline or CR", s, e)
	}
	if !utf8.ValidString(e) {
		t.Fatalf("Escape(%q) = %q is not valid UTF-8", s, e)
	}
	for _, c := range []byte(e) {
		if c < 0x20 || c == 0x7f {
			t.Fatalf("Escape(%q) = %q holds control byte %#x", s, e, c)
		}
	}
	back, err := Unescape(e)
	if err != nil || back != s {
		t.Fatalf("Unescape(Escape(%q)) = %q, %v", s, back, err)
	}
	if utf8.ValidString(s) && !strings.ContainsAny(s, "\\\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f") && e != s {
		t.Fatalf("Escape(%q) = %q changed a clean UTF-8 key", s, e)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a\tb\nc\rd", `\x41\\`, "\xff\xfe", "日本\xe6\x97", "\x00\x7f", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(checkEscaped)
}

func TestEscapeAllBytes(t *testing.T) {
	for c := 0; c < 256; c++ {
		checkEscaped(t, string([]byte{byte(c)}))
		checkEscaped(t, "k"+string([]byte{byte(c)})+"é")
	}
}
