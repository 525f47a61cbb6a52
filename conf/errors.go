package conf

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Error is a configuration error or warning: one line naming the file, the
// line (0 when the problem is not on one line, e.g. a required key that is
// missing), the key (empty for a line that has none) and what is wrong.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
	Err  error // the underlying error, e.g. from os.Open; may be nil
}

// Error formats the error as FILE:LINE: KEY: MSG, leaving out ":LINE" when
// Line is 0 and "KEY: " when Key is empty. A key that is not plain printable
// text is quoted, so the message stays one line.
func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Key != "" {
		s += ": " + quoteKey(e.Key)
	}
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying error, so errors.Is(err, fs.ErrPermission)
// works on an unreadable file.
func (e *Error) Unwrap() error { return e.Err }

// quoteKey returns k unchanged when it is printable UTF-8 without spaces,
// and Go-quoted otherwise.
func quoteKey(k string) string {
	if !utf8.ValidString(k) {
		return strconv.Quote(k)
	}
	for _, r := range k {
		if !unicode.IsPrint(r) || r == ' ' {
			return strconv.Quote(k)
		}
	}
	return k
}

// errAt builds an *Error; a shorthand for the many call sites.
func errAt(file string, line int, key, msg string) *Error {
	return &Error{File: file, Line: line, Key: key, Msg: msg}
}
