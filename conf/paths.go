package conf

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"ferry/internal/fspath"
)

// Resolve makes the local paths of the job absolute: srcPrefix when srcType
// is local, destPrefix when destType is local and httpListFilePath when
// srcType is http, and srcListFile (whether they exist is left to the
// caller). Object-store
// prefixes are key prefixes and stay as written. A relative path is taken
// against home (the ferry home, the directory holding console.sh); a leading
// "~/" against the user's home directory. The results are clean, without a
// trailing slash. Then it runs the checks that need absolute paths: source
// and destination must not be the same directory or one inside the other,
// compared both as written and with symbolic links resolved as far as the
// paths exist. Errors are *Error naming the key and its line. Resolve may be
// called again; absolute paths are left as they are.
func (j *Job) Resolve(home string) error {
	home, err := filepath.Abs(home)
	if err != nil {
		return &Error{File: j.File, Msg: "cannot resolve paths", Err: err}
	}
	if j.SrcType == "local" {
		p, err := absPath(home, j.SrcPrefix)
		if err != nil {
			return errAt(j.File, j.line("srcPrefix"), "srcPrefix", err.Error())
		}
		j.SrcPrefix = p
	}
	if j.SrcType == "http" && j.HTTPListFilePath != "" {
		p, err := absPath(home, j.HTTPListFilePath)
		if err != nil {
			return errAt(j.File, j.line("httpListFilePath"), "httpListFilePath", err.Error())
		}
		j.HTTPListFilePath = p
	}
	if j.SrcListFile != "" {
		p, err := absPath(home, j.SrcListFile)
		if err != nil {
			return errAt(j.File, j.line("srcListFile"), "srcListFile", err.Error())
		}
		j.SrcListFile = p
	}
	if j.DestType == "local" {
		p, err := absPath(home, j.DestPrefix)
		if err != nil {
			return errAt(j.File, j.line("destPrefix"), "destPrefix", err.Error())
		}
		j.DestPrefix = p
	}
	if j.SrcType == "kafka" {
		if err := j.resolveCAs(home); err != nil {
			return err
		}
	}
	if j.SrcType == "local" && j.DestType == "local" {
		if msg := overlap(j.SrcPrefix, j.DestPrefix, j.line("srcPrefix")); msg != "" {
			return errAt(j.File, j.line("destPrefix"), "destPrefix", msg)
		}
	}
	return nil
}

func (j *Job) line(key string) int {
	_, n, _ := j.Get(key)
	return n
}

// Resolve makes workingDir, privateKeyFile (when set) and knownHostsFile
// absolute: a leading "~/" is taken against the user's home directory, any
// other relative path against home (the ferry home). Errors are *Error
// naming the key and its line (0 for a default).
func (s *Sys) Resolve(home string) error {
	home, err := filepath.Abs(home)
	if err != nil {
		return &Error{File: s.File, Msg: "cannot resolve paths", Err: err}
	}
	for _, f := range []struct {
		key string
		p   *string
	}{
		{"workingDir", &s.WorkingDir},
		{"privateKeyFile", &s.PrivateKeyFile},
		{"knownHostsFile", &s.KnownHostsFile},
	} {
		if *f.p == "" {
			continue
		}
		abs, err := absPath(home, *f.p)
		if err != nil {
			_, line, _ := s.Get(f.key)
			return errAt(s.File, line, f.key, err.Error())
		}
		*f.p = abs
	}
	return nil
}

// absPath returns p made absolute against home ("~/" against the user's
// home directory) and cleaned.
func absPath(home, p string) (string, error) {
	if runtime.GOOS != "windows" && isDrivePath(p) {
		return "", fmt.Errorf("%q is a Windows path; give a path on this %s host", p, runtime.GOOS)
	}
	if p == "~" || strings.HasPrefix(p, "~/") {
		uh, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot expand \"~\": %v", err)
		}
		p = filepath.Join(uh, p[1:])
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(home, p)
	}
	return filepath.Clean(p), nil
}

// isDrivePath reports a Windows drive path such as "D:/work/" or "c:\x",
// which ossimport's templates carry and which on Unix would silently become
// a relative directory named "D:".
func isDrivePath(p string) bool {
	if len(p) < 3 || p[1] != ':' || (p[2] != '/' && p[2] != '\\') {
		return false
	}
	c := p[0] | 0x20
	return c >= 'a' && c <= 'z'
}

// overlap returns why absolute directories src and dst may not be used
// together, or "". srcLine is where srcPrefix is set, for the message.
func overlap(src, dst string, srcLine int) string {
	check := func(src, dst string) string {
		switch {
		case src == dst:
			return fmt.Sprintf("%q is the same directory as srcPrefix (line %d)", dst, srcLine)
		case fspath.Within(src, dst):
			return fmt.Sprintf("%q is inside srcPrefix %q (line %d); the copy would copy itself", dst, src, srcLine)
		case fspath.Within(dst, src):
			return fmt.Sprintf("%q contains srcPrefix %q (line %d); the copy could overwrite its source", dst, src, srcLine)
		}
		return ""
	}
	if msg := check(src, dst); msg != "" {
		return msg
	}
	rs, rd := fspath.Real(src), fspath.Real(dst)
	if msg := check(rs, rd); msg != "" {
		return msg + fmt.Sprintf(" (after following symbolic links: %q, %q)", rs, rd)
	}
	return ""
}
