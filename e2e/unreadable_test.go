package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nobody is the unprivileged user ferry runs as when the tests run as root,
// for whom a file of mode 0000 is unreadable.
const nobody = 65534

// runAsNobody makes h run ferry as uid/gid 65534 and hands it everything
// below h.root. It skips the test when that is impossible, except under CI
// (CI=true), where it fails.
func runAsNobody(t *testing.T, h *home) {
	t.Helper()
	unable := func(format string, a ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot run ferry as an unprivileged user (needed to make a file unreadable to it): "+format, a...)
		}
		t.Skipf("skipped: cannot run ferry as an unprivileged user (needed to make a file unreadable to it): "+format, a...)
	}
	// t.TempDir's parent is private (0700): let nobody through.
	if err := os.Chmod(filepath.Dir(h.root), 0o755); err != nil {
		unable("%v", err)
	}
	err := filepath.WalkDir(h.root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	})
	if err != nil {
		unable("chown: %v", err)
	}
	h.cred = &syscall.Credential{Uid: nobody, Gid: nobody}
	if r := h.ferry(30*time.Second, "version"); r.code != 0 {
		unable("`ferry version` as uid %d:\n%s", nobody, r)
	}
}

// unreadableHome makes a home whose source holds 300 small files and bad,
// which ferry cannot read: mode 0000, and ferry runs as nobody when the
// tests run as root. It returns the home and the source's files.
func unreadableHome(t *testing.T, job, bad string) (*home, map[string]fileInfo) {
	t.Helper()
	h := newHome(t, job)
	genSmallTree(t, h.src, 300, 3)
	writeFile(t, filepath.Join(h.src, bad), "cannot be read until chmod\n")
	want := regular(snapshot(t, h.src))
	if os.Geteuid() == 0 {
		runAsNobody(t, h)
	}
	if err := os.Chmod(filepath.Join(h.src, bad), 0); err != nil {
		t.Fatal(err)
	}
	return h, want
}

// TestUnreadableFile: a file that cannot be read fails its entry (exit 1,
// error.list, READ_ERROR) and nothing else; once it is readable, retry and
// run copy that one entry only.
func TestUnreadableFile(t *testing.T) {
	t.Parallel()
	const bad = "d05/unreadable.bin"
	h, want := unreadableHome(t, "unreadable", bad)
	badPath := filepath.Join(h.src, bad)

	r := h.ferry(time.Minute, "run", h.jobFile)
	if r.code != 1 {
		t.Fatalf("want exit 1 (some entries failed):\n%s", r)
	}
	others := map[string]fileInfo{}
	for k, f := range want {
		if k != bad {
			others[k] = f
		}
	}
	checkTree(t, others, h.dst)
	as := h.attempts()
	var failed []attempt
	for _, a := range as {
		if a.failed {
			failed = append(failed, a)
		}
	}
	if len(failed) != 1 {
		t.Fatalf("%d attempts in failed_tasks, want 1", len(failed))
	}
	fa := failed[0]
	if len(fa.errors) != 1 || fa.errors[0] != bad {
		t.Errorf("%s/error.list: %q, want just %q", fa.path, fa.errors, bad)
	}
	for _, rec := range fa.records {
		switch {
		case rec.key == bad && (rec.result != "FAIL" || !strings.HasPrefix(rec.detail, "READ_ERROR")):
			t.Errorf("%s/audit.log: %s %q %q; want FAIL with READ_ERROR", fa.path, rec.result, rec.key, rec.detail)
		case rec.key != bad && rec.result != "OK":
			t.Errorf("%s/audit.log: %s %q %q; want OK", fa.path, rec.result, rec.key, rec.detail)
		}
	}
	if n := keyCounts(as, "FAIL"); len(n) != 1 || n[bad] != 1 {
		t.Errorf("FAIL records %v, want one of %q", n, bad)
	}
	n := int64(len(want))
	st := h.stat()
	if st.state != "Failed" || st.filesFailed != 1 || st.failed != 1 || st.files != n-1 || st.filesTotal != n {
		t.Errorf("stat after the failure: %+v; want Failed, FailedTasks:1, Files:%d/%d Failed:1", st, n-1, n)
	}

	if err := os.Chmod(badPath, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := h.must(30*time.Second, "retry", h.job); out != "Retry has been submitted.\n" {
		t.Errorf("retry printed %q, want %q", out, "Retry has been submitted.\n")
	}
	if r := h.ferry(time.Minute, "run", h.jobFile); r.code != 0 {
		t.Fatalf("run after retry: want exit 0:\n%s", r)
	}
	checkTree(t, want, h.dst)
	st = h.stat()
	if st.state != "Succeed" || st.filesFailed != 0 || st.files != n || st.filesTotal != n {
		t.Errorf("stat after retry: %+v; want Succeed, Files:%d/%d Failed:0", st, n, n)
	}
	var retried []attempt
	for _, a := range h.attempts() {
		if a.task == fa.task && !a.failed {
			retried = append(retried, a)
		}
	}
	switch {
	case len(retried) != 1:
		t.Errorf("%d succeed_tasks attempts of task %d, want the one retry", len(retried), fa.task)
	case len(retried[0].records) != 1 || retried[0].records[0].key != bad || retried[0].records[0].result != "OK":
		t.Errorf("retried attempt %s: want one OK line for %q (only the failed entry is copied again), got %+v",
			retried[0].path, bad, retried[0].records)
	}
	checkOnce(t, "OK records", keyCounts(h.attempts(), "OK"), want)
	want2 := "None failed tasks for job:" + h.job + "\n"
	if out := h.must(30*time.Second, "retry", h.job); out != want2 {
		t.Errorf("second retry printed %q, want %q", out, want2)
	}
}

// TestUnreadableAwkwardName: the failure of an entry whose name is not
// UTF-8 (and holds a tab, a newline and a backslash) is reported like any
// other: the run ends with exit 1, error.list holds the escaped key.
func TestUnreadableAwkwardName(t *testing.T) {
	t.Parallel()
	const bad = "d05/un\treadable \xff\n\\.bin"
	h, want := unreadableHome(t, "unreadable-awkward", bad)

	r := h.ferry(20*time.Second, "run", h.jobFile) // the run takes well under a second
	if r.code != 1 {
		t.Fatalf("want exit 1 (some entries failed):\n%s", r)
	}
	delete(want, bad)
	checkTree(t, want, h.dst)
	var errs []string
	for _, a := range h.attempts() {
		errs = append(errs, a.errors...)
	}
	if len(errs) != 1 || errs[0] != bad {
		t.Errorf("error.list keys %q, want just %q", errs, bad)
	}
	if n := keyCounts(h.attempts(), "FAIL"); len(n) != 1 || n[bad] != 1 {
		t.Errorf("FAIL records %v, want one of %q", n, bad)
	}
}
