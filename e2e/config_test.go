package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadConfig: a bad job.cfg or sys.properties ends ferry with exit 2 and
// exactly one line on stderr naming the file, the line (when there is one)
// and the key, before anything is written.
func TestBadConfig(t *testing.T) {
	t.Parallel()
	fixture := func(name string) string {
		p, err := filepath.Abs(filepath.Join("testdata", "badcfg", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		sys  string // --sys, when set
		job  string // job.cfg argument ("" = the home's valid conf/job.cfg)
		file string // the file the message must name
		line int    // the line it must name, 0 when none applies
		key  string // the key it must name, "" when none applies
		also string // another word the message must hold
	}{
		{name: "unknown key", job: fixture("unknown-key.cfg"), line: 4, key: "srcPrefx", also: "srcPrefix"},
		{name: "not a number", job: fixture("bad-int.cfg"), line: 7, key: "taskObjectCountLimit", also: "abc"},
		{name: "out of range", job: fixture("out-of-range.cfg"), line: 7, key: "taskObjectCountLimit"},
		{name: "not a boolean", job: fixture("bad-bool.cfg"), line: 7, key: "isSkipExistFile", also: "maybe"},
		{name: "missing srcPrefix", job: fixture("missing-srcprefix.cfg"), key: "srcPrefix"},
		{name: "bad jobName", job: fixture("bad-jobname.cfg"), line: 2, key: "jobName"},
		{name: "srcPrefix does not exist", job: fixture("no-such-src.cfg"), line: 4, key: "srcPrefix"},
		{name: "missing job.cfg", job: "/nonexistent/e2e/job.cfg"},
		{name: "job.cfg is a directory", job: "testdata"},
		{name: "sys unknown key", sys: fixture("unknown-key.properties"), line: 3, key: "workerTaskThreadNm", also: "workerTaskThreadNum"},
		{name: "sys bad value", sys: fixture("bad-value.properties"), line: 3, key: "taskLeaseSeconds"},
		{name: "sys file named by --sys is missing", sys: "/nonexistent/e2e/sys.properties"},
	}
	for _, c := range cases {
		for _, cmd := range []string{"run", "submit"} {
			t.Run(c.name+"/"+cmd, func(t *testing.T) {
				t.Parallel()
				h := newHome(t, "unused")
				args := []string{cmd}
				file := c.job
				if c.sys != "" {
					args = []string{"--sys", c.sys, cmd}
					file = c.sys
				}
				job := c.job
				if job == "" {
					job = h.jobFile
				} else if !filepath.IsAbs(job) {
					job, _ = filepath.Abs(job)
					file = job
				}
				r := h.ferry(30*time.Second, append(args, job)...)
				if r.code != 2 {
					t.Errorf("want exit 2:\n%s", r)
				}
				msg := strings.TrimSuffix(r.stderr, "\n")
				if msg == "" || strings.Contains(msg, "\n") || r.stderr != msg+"\n" {
					t.Errorf("want exactly one line on stderr, got %q", r.stderr)
				}
				want := []string{file}
				if c.line > 0 {
					want = []string{fmt.Sprintf("%s:%d: %s", file, c.line, c.key)}
				} else if c.key != "" {
					want = append(want, c.key)
				}
				if c.also != "" {
					want = append(want, c.also)
				}
				for _, w := range want {
					if !strings.Contains(msg, w) {
						t.Errorf("stderr %q does not name %q", msg, w)
					}
				}
				for _, d := range []string{h.workdir, filepath.Join(h.dir, "workdir"), filepath.Join(h.dir, "workdir-from-fixture"), h.dst, filepath.Join(h.dir, "dst")} {
					if _, err := os.Lstat(d); err == nil {
						t.Errorf("%s exists: a bad configuration must write nothing", d)
					}
				}
			})
		}
	}
}

// TestJobNameConflict: a job name already in use with another source is
// refused, pointing at `clean`; so is submitting a job that exists.
func TestJobNameConflict(t *testing.T) {
	t.Parallel()
	h := newHome(t, "conflict")
	writeFile(t, filepath.Join(h.src, "a.txt"), "first source\n")
	h.must(time.Minute, "run", h.jobFile)

	src2 := filepath.Join(h.root, "src2")
	writeFile(t, filepath.Join(src2, "b.txt"), "second source\n")
	other := filepath.Join(h.root, "other.cfg")
	h.writeJob(other, kv{"srcPrefix", src2})
	oneLine := func(r result, words ...string) {
		t.Helper()
		msg := strings.TrimSuffix(r.stderr, "\n")
		if msg == "" || strings.Contains(msg, "\n") {
			t.Errorf("want one line on stderr:\n%s", r)
		}
		for _, w := range words {
			if !strings.Contains(msg, w) {
				t.Errorf("stderr %q does not mention %q", msg, w)
			}
		}
	}

	r := h.ferry(time.Minute, "run", other)
	if r.code != 2 {
		t.Errorf("run of an existing job name with another source: want exit 2:\n%s", r)
	}
	oneLine(r, "conflict", "clean")
	if _, err := os.Stat(filepath.Join(h.dst, "b.txt")); err == nil {
		t.Errorf("run copied the second source into the first job's destination")
	}

	for _, cfg := range []string{h.jobFile, other} {
		r := h.ferry(time.Minute, "submit", cfg)
		if r.code == 0 {
			t.Errorf("submit of an existing job: want a non-zero exit:\n%s", r)
		}
		if r.code != 2 {
			t.Logf("note: submit of an existing job exits %d, run of a conflicting one exits 2", r.code)
		}
		oneLine(r, "conflict", "exists", "clean")
	}
	if st := h.stat(); st.state != "Succeed" || st.files != 1 || st.filesTotal != 1 {
		t.Errorf("the first job changed: %+v", st)
	}
}
