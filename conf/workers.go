package conf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strconv"
	"strings"
)

// Host is one worker host from the workers file.
type Host struct {
	User string // empty: use sys.properties' workerUser
	Addr string // host name or IP address, without brackets
	Port int    // 0: use sys.properties' sshPort
	Line int    // line in the workers file
}

// String returns the host in the form it is written in the workers file:
// [user@]addr[:port], with an IPv6 address in brackets when a port follows.
func (h Host) String() string {
	s := h.Addr
	if h.Port != 0 {
		s = net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))
	}
	if h.User != "" {
		s = h.User + "@" + s
	}
	return s
}

// LoadWorkers reads the workers file at path. A missing file is not an
// error: like a file that lists no host (ferry's template), it means
// standalone mode, and LoadWorkers returns no hosts. Errors are *Error.
func LoadWorkers(path string) ([]Host, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read", Err: err}
	}
	defer f.Close()
	return ParseWorkers(f, path)
}

// ParseWorkers reads a workers file: one host a line as [user@]host[:port],
// an IPv6 address written [::1] or [::1]:22 (a bare ::1 is read as an
// address without port); '#' starts a comment, also after a host; blank
// lines are skipped; a UTF-8 byte order mark and CRLF line ends are
// accepted. Listing the same address and port twice is an error, as ossimport
// ran one worker per machine. ossimport's files (bare IP addresses) parse
// unchanged. The first error is returned, as a *Error naming file and line.
func ParseWorkers(r io.Reader, file string) ([]Host, error) {
	data, err := readAll(r, file)
	if err != nil {
		return nil, err
	}
	var hosts []Host
	seen := make(map[string]int)
	for n, line := range splitLines(data) {
		n++
		line, _, _ = strings.Cut(line, "#")
		line = strings.Trim(line, propSpace)
		if line == "" {
			continue
		}
		if strings.ContainsAny(line, propSpace) {
			return nil, errAt(file, n, "", "expected one host a line as [user@]host[:port], found spaces")
		}
		h, err := parseHost(line)
		if err != nil {
			return nil, errAt(file, n, line, err.Error())
		}
		h.Line = n
		id := net.JoinHostPort(strings.ToLower(h.Addr), strconv.Itoa(h.Port))
		if first, dup := seen[id]; dup {
			return nil, errAt(file, n, line, fmt.Sprintf("listed twice (first on line %d)", first))
		}
		seen[id] = n
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// parseHost parses [user@]host[:port].
func parseHost(s string) (Host, error) {
	var h Host
	if user, rest, ok := strings.Cut(s, "@"); ok {
		if err := checkUser(user); err != nil {
			return h, err
		}
		h.User, s = user, rest
	}
	addr, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return h, errors.New(`"[" without "]" (write an IPv6 address as [::1] or [::1]:22)`)
		}
		addr, port = s[1:end], s[end+1:]
		if port != "" {
			p, ok := strings.CutPrefix(port, ":")
			if !ok {
				return h, fmt.Errorf("unexpected %q after \"]\" (want :port)", port)
			}
			port = p
			if port == "" {
				return h, errors.New(`empty port after ":"`)
			}
		}
		if ip := net.ParseIP(addr); ip == nil || ip.To4() != nil {
			return h, fmt.Errorf("%q in brackets is not an IPv6 address", addr)
		}
	case strings.Count(s, ":") == 1:
		addr, port, _ = strings.Cut(s, ":")
		if port == "" {
			return h, errors.New(`empty port after ":"`)
		}
	case strings.Count(s, ":") > 1 && net.ParseIP(s) == nil:
		return h, fmt.Errorf("%q is not an address (write an IPv6 address with a port as [::1]:22)", s)
	}
	if err := checkHost(addr); err != nil {
		return h, err
	}
	h.Addr = addr
	if port != "" {
		p, err := parseInt(port, 1, 65535)
		if err != nil {
			return h, fmt.Errorf("port %q is not 1 to 65535", port)
		}
		h.Port = p
	}
	return h, nil
}

// checkUser accepts a portable POSIX user name: A-Z a-z 0-9 . _ -, not
// starting with '-' (it reaches ssh's command line).
func checkUser(u string) error {
	if u == "" {
		return errors.New(`empty user name before "@"`)
	}
	if u[0] == '-' {
		return fmt.Errorf("user name %q starts with '-'", u)
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("user name %q has %q (want only A-Z a-z 0-9 . _ -)", u, u[i:i+1])
		}
	}
	return nil
}
