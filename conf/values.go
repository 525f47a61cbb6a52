package conf

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
)

// The parsers below return errors whose text is the message part of an
// *Error; the caller adds file, line and key. They quote the value, so they
// are never used for secrets.

// commentHint explains a value that fails to parse because the user put a
// trailing comment on the line, which the key=value syntax does not allow.
func commentHint(v string) string {
	if strings.Contains(v, "#") {
		return " (a comment must be on a line of its own)"
	}
	return ""
}

// parseBool accepts true and false in any case. ossimport (Java's
// Boolean.parseBoolean) read anything else as false; ferry refuses it.
func parseBool(v string) (bool, error) {
	switch {
	case strings.EqualFold(v, "true"):
		return true, nil
	case strings.EqualFold(v, "false"):
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (want true or false)%s", v, commentHint(v))
}

// parseIntIn parses a decimal integer and checks lo <= n <= hi.
func parseIntIn(v string, lo, hi int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of range (want %s)", v, rangeText(lo, hi))
		}
		return 0, fmt.Errorf("%q is not an integer%s", v, commentHint(v))
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range (want %s)", n, rangeText(lo, hi))
	}
	return n, nil
}

// parseInt is parseIntIn for an int destination.
func parseInt(v string, lo, hi int) (int, error) {
	n, err := parseIntIn(v, int64(lo), int64(hi))
	return int(n), err
}

func rangeText(lo, hi int64) string {
	if hi == math.MaxInt64 {
		return fmt.Sprintf("at least %d", lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

// parseSize parses a byte count: plain bytes as in ossimport, or, as a ferry
// extension, a number followed by K, M, G or T (binary: 1K = 1024), in any
// case and optionally followed by B or iB ("1G", "1g", "1GB", "1GiB").
func parseSize(v string, lo, hi int64) (int64, error) {
	bad := fmt.Errorf("%q is not a size (want bytes, or a number with K, M, G or T)%s", v, commentHint(v))
	s, shift := strings.ToUpper(v), 0
	needUnit := false
	if t, ok := strings.CutSuffix(s, "IB"); ok {
		s, needUnit = t, true
	} else {
		s = strings.TrimSuffix(s, "B")
	}
	if s != "" {
		if i := strings.IndexByte("KMGT", s[len(s)-1]); i >= 0 {
			shift = 10 * (i + 1)
			s = s[:len(s)-1]
		}
	}
	if s == "" || (needUnit && shift == 0) || strings.Trim(s, "0123456789") != "" {
		return 0, bad
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("%q is out of range (want %s bytes)", v, rangeText(lo, hi))
	}
	n <<= shift
	if n < lo || n > hi {
		return 0, fmt.Errorf("%q is out of range (want %s bytes)", v, rangeText(lo, hi))
	}
	return n, nil
}

// checkJobName enforces what a job name may be: it names a directory under
// the working directory and is typed on command lines, so 1 to 128 of
// A-Z a-z 0-9 . _ -, not starting with '.' (no ".", "..", hidden names) or
// '-' (which would read as a flag). ossimport allowed [A-Za-z0-9_-]{4,128}.
func checkJobName(v string) error {
	if len(v) > 128 {
		return fmt.Errorf("%d characters long (want at most 128)", len(v))
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			return fmt.Errorf("%q has %q (want only A-Z a-z 0-9 . _ -)", v, v[i:i+1])
		}
	}
	if v[0] == '.' || v[0] == '-' {
		return fmt.Errorf("%q starts with %q (want a letter, digit or _)", v, v[:1])
	}
	return nil
}

// checkHostPort checks a host:port address such as masterAddress.
func checkHostPort(v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. 10.0.0.1:7790, [::1]:7790)", v)
	}
	if host == "" {
		return fmt.Errorf("%q has no host (workers must be able to reach it)", v)
	}
	if err := checkHost(host); err != nil {
		return err
	}
	if _, err := parseInt(port, 1, 65535); err != nil {
		return fmt.Errorf("%q: port %q is not 1 to 65535", v, port)
	}
	return nil
}

// checkHost accepts an IP address or a DNS host name. A leading '-' is
// refused: the name reaches ssh's command line.
func checkHost(h string) error {
	if net.ParseIP(h) != nil {
		return nil
	}
	if len(h) > 253 || h == "" {
		return fmt.Errorf("%q is not a host name or IP address", h)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || label[0] == '-' {
			return fmt.Errorf("%q is not a host name or IP address", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q is not a host name or IP address", h)
			}
		}
	}
	return nil
}
