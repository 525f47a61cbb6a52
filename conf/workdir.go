package conf

import (
	"fmt"
	"path/filepath"

	"ferry/internal/fspath"
)

// CopiesDir is the directory inside the working directory where copies may
// go (the default job.cfg copies the sample tree there); the rest of the
// working directory is ferry's own.
const CopiesDir = "dest"

// CheckWorkingDir refuses a job whose local paths (srcPrefix for a local
// source, destPrefix for a local destination, httpListFilePath for a URL
// list) are ferry's working directory of s, lie inside it (except in its
// CopiesDir) or contain it: a copy into it could replace ferry's database,
// token or TLS key, and a copy out of it would carry them away. Paths are
// compared as written and with symbolic links resolved as far as they
// exist. Both j and s must be resolved (Resolve). The error is an *Error
// naming the job's key and its line.
func (j *Job) CheckWorkingDir(s *Sys) error {
	if s == nil || s.WorkingDir == "" {
		return nil
	}
	where := s.File
	if _, line, ok := s.Get("workingDir"); ok && line > 0 {
		where = fmt.Sprintf("%s:%d", s.File, line)
	}
	copies := filepath.Join(s.WorkingDir, CopiesDir)
	for _, p := range []struct {
		on     bool
		key    string
		path   string
		advice string
	}{
		{j.SrcType == "local", "srcPrefix", j.SrcPrefix, "copy from a directory that neither holds it nor lies in it"},
		{j.SrcType == "http" && j.HTTPListFilePath != "", "httpListFilePath", j.HTTPListFilePath, "keep the list somewhere else"},
		{j.SrcListFile != "", "srcListFile", j.SrcListFile, "keep the list somewhere else"},
		{j.DestType == "local", "destPrefix", j.DestPrefix,
			fmt.Sprintf("copy somewhere else (%q is free for copies)", copies)},
	} {
		if !p.on {
			continue
		}
		msg := inWorkingDir(s.WorkingDir, p.path)
		if msg == "" {
			rw, rp := fspath.Real(s.WorkingDir), fspath.Real(p.path)
			if msg = inWorkingDir(rw, rp); msg != "" {
				msg += fmt.Sprintf(" (after following symbolic links: %q, %q)", rp, rw)
			}
		}
		if msg != "" {
			return errAt(j.File, j.line(p.key), p.key, fmt.Sprintf("%s (workingDir in %s): it holds ferry's database and keys; %s",
				msg, where, p.advice))
		}
	}
	return nil
}

// inWorkingDir says how the absolute path p meets ferry's working
// directory w, or returns "" when it stays apart from it or lies in its
// CopiesDir.
func inWorkingDir(w, p string) string {
	copies := filepath.Join(w, CopiesDir)
	switch {
	case p == w:
		return fmt.Sprintf("%q is ferry's working directory", p)
	case fspath.Within(w, p) && p != copies && !fspath.Within(copies, p):
		return fmt.Sprintf("%q is inside ferry's working directory %q", p, w)
	case fspath.Within(p, w):
		return fmt.Sprintf("%q contains ferry's working directory %q", p, w)
	}
	return ""
}
