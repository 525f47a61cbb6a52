package conf

import (
	"errors"
	"io/fs"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    *Error
		want string
	}{
		{&Error{File: "conf/job.cfg", Line: 12, Key: "srcPrefx", Msg: "unknown key (did you mean srcPrefix?)"},
			"conf/job.cfg:12: srcPrefx: unknown key (did you mean srcPrefix?)"},
		{&Error{File: "conf/job.cfg", Key: "srcPrefix", Msg: "required, not set"}, "conf/job.cfg: srcPrefix: required, not set"},
		{&Error{File: "conf/job.cfg", Line: 3, Msg: `missing key before "="`}, `conf/job.cfg:3: missing key before "="`},
		{&Error{File: "f", Line: 1, Key: "a\tb", Msg: "m"}, `f:1: "a\tb": m`},
		{&Error{File: "f", Line: 1, Key: "\xff", Msg: "m"}, `f:1: "\xff": m`},
		{&Error{File: "f", Line: 1, Key: "données", Msg: "m"}, `f:1: données: m`},
		{&Error{File: "conf/job.cfg", Msg: "cannot read", Err: &fs.PathError{Op: "open", Path: "conf/job.cfg", Err: fs.ErrPermission}},
			"conf/job.cfg: cannot read: open conf/job.cfg: permission denied"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	e := &Error{File: "f", Msg: "cannot read", Err: fs.ErrPermission}
	if !errors.Is(e, fs.ErrPermission) {
		t.Error("Unwrap does not reach the cause")
	}
}

func TestSuggest(t *testing.T) {
	for in, want := range map[string]string{
		"srcPrefx":                  "srcPrefix",
		"srcprefix":                 "srcPrefix",
		"destprefix":                "destPrefix",
		"taskObjectCountLimt":       "taskObjectCountLimit",
		"workerUsername":            "workerUser",
		"workerMaxThroughput(MB/s)": "workerMaxThroughput(KB/s)",
		"isSkipExistFiles":          "isSkipExistFile",
	} {
		if got := nearestKey(in, jobFile).name; got != want {
			t.Errorf("nearestKey(%q) = %q, want %q", in, got, want)
		}
	}
	if d := editDistance("été", "ete"); d != 2 {
		t.Errorf("editDistance in runes = %d, want 2", d)
	}
}
