package e2e

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWorkdirRefused: a job may not copy into ferry's working directory
// (a source holding master/token would replace the master's token) nor out
// of it (ferry.db holds every job's keys), also through a symbolic link.
// run, submit (with and without a running master) and a dry run stop with
// exit 2 and one line naming the key, and the working directory is left as
// it was.
func TestWorkdirRefused(t *testing.T) {
	t.Parallel()
	h := newHome(t, "intruder")
	writeFile(t, filepath.Join(h.src, "a.txt"), "a")
	h.must(time.Minute, "run", h.jobFile) // a real working directory: ferry.db, token, tls.key, logs
	for _, f := range []string{"master/ferry.db", "master/token", "master/tls.key"} {
		if _, err := os.Stat(filepath.Join(h.workdir, f)); err != nil {
			t.Fatalf("after run: %v", err)
		}
	}

	// A source that would replace them.
	evil := filepath.Join(t.TempDir(), "evil") // apart from h.root, which a case copies into
	writeFile(t, filepath.Join(evil, "master", "token"), "chosen-by-the-source's-owner\n")
	writeFile(t, filepath.Join(evil, "master", "ferry.db"), "not a database")
	writeFile(t, filepath.Join(evil, "master", "tls.key"), "not a key")
	link := filepath.Join(h.root, "link-to-work")
	if err := os.Symlink(h.workdir, link); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(h.root, "out")
	real, err := filepath.EvalSymlinks(h.workdir)
	if err != nil {
		t.Fatal(err)
	}

	// The job file: line 1 a comment, srcPrefix on line 4, destPrefix on 6.
	// sys.properties: workingDir on line 2.
	sysAt := fmt.Sprintf(" (workingDir in %s:2): it holds ferry's database and keys; ", h.sysFile)
	cases := []struct {
		name      string
		src, dest string
		want      string
	}{
		{"dest is workdir", evil, h.workdir,
			fmt.Sprintf(`:6: destPrefix: %q is ferry's working directory`, h.workdir) + sysAt + "copy somewhere else"},
		{"dest in workdir", evil, filepath.Join(h.workdir, "master"),
			fmt.Sprintf(`:6: destPrefix: %q is inside ferry's working directory %q`, filepath.Join(h.workdir, "master"), h.workdir) + sysAt},
		{"dest holds workdir", evil, h.root,
			fmt.Sprintf(`:6: destPrefix: %q contains ferry's working directory %q`, h.root, h.workdir) + sysAt},
		{"dest links to workdir", evil, link,
			fmt.Sprintf(`:6: destPrefix: %q is ferry's working directory (after following symbolic links: %q, %q)`, real, real, real)},
		{"src is workdir", h.workdir, out,
			fmt.Sprintf(`:4: srcPrefix: %q is ferry's working directory`, h.workdir) + sysAt + "copy from a directory"},
		{"src links into workdir", filepath.Join(link, "master"), out,
			fmt.Sprintf(`:4: srcPrefix: %q is inside ferry's working directory %q (after following`, filepath.Join(real, "master"), real)},
	}
	before := snapshot(t, h.workdir)
	check := func(t *testing.T, job, want string, args ...string) {
		t.Helper()
		r := h.ferry(time.Minute, append(args, job)...)
		msg := strings.TrimSuffix(r.stderr, "\n")
		if r.code != 2 || strings.Contains(msg, "\n") || !strings.Contains(msg, job+want) {
			t.Errorf("want exit 2 and one line holding %q:\n%s", job+want, r)
		}
		if _, err := os.Lstat(out); err == nil {
			t.Errorf("%s exists: a refused job must write nothing", out)
		}
	}
	for i, c := range cases {
		job := filepath.Join(h.dir, fmt.Sprintf("job%d.cfg", i))
		h.writeJob(job, kv{"jobName", fmt.Sprintf("intruder%d", i)}, kv{"srcPrefix", c.src}, kv{"destPrefix", c.dest})
		t.Run(c.name, func(t *testing.T) {
			check(t, job, c.want, "run")
			check(t, job, c.want, "submit")
			check(t, job, c.want, "submit", "--dry-run")
		})
	}
	if after := snapshot(t, h.workdir); !maps.Equal(before, after) {
		t.Errorf("the working directory changed:\nbefore %v\nafter  %v", before, after)
	}

	// With a master running, submit is refused the same way and the master
	// keeps its token.
	token := readString(t, filepath.Join(h.workdir, "master", "token"))
	h.start()
	job := filepath.Join(h.dir, "job-running.cfg")
	h.writeJob(job, kv{"jobName", "intruder-running"}, kv{"srcPrefix", evil}, kv{"destPrefix", h.workdir})
	check(t, job, cases[0].want, "submit")
	if got := readString(t, filepath.Join(h.workdir, "master", "token")); got != token {
		t.Errorf("the master's token changed: %q, was %q", got, token)
	}
	if s := h.must(time.Minute, "stat", "--json"); strings.Contains(s, "intruder-running") {
		t.Errorf("the refused job was stored: %s", s)
	}
	h.must(time.Minute, "stop")
}
