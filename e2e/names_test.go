package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// awkwardNames are file names that break naive code: shell and URL
// metacharacters, control characters, escapes that look like the audit
// log's own, Unicode in both normal forms, bytes that are not UTF-8, and
// the longest names Linux allows.
var awkwardNames = []string{
	"with space", " leading space", "trailing space ", "it's", `say "hi"`, `both '"`,
	"100%", "%41%2F%00", "#hash", "what?", "star*", "[brackets]", "{braces}", "a=b", "semi;colon",
	"pipe|name", "<angle>", "~tilde", "$HOME", "`tick`", "amp&", "-dash", "--help", "...", "..a", ".hidden",
	"tab\there", "new\nline", "cr\rname", "\x01ctrl", "del\x7f",
	`back\slash`, `\`, `\x41`, `\\n`, `trailing\`,
	"日本語ファイル.txt", "emoji 🚀.bin", "Ünïcödé", "NFC-\u00e9", "NFD-e\u0301",
	"latin1-\xe9t\xe9", "bad-\xff\xfe", "\xc3", "\xed\xa0\x80surrogate",
	strings.Repeat("n", 251) + ".bin",   // 255 bytes
	strings.Repeat("\u00e9", 127) + "x", // 255 bytes of UTF-8
	strings.Repeat("\xff", 255),         // 255 bytes, none of them UTF-8
	strings.Repeat("\t\n\\", 85),        // 255 bytes, every one escaped
	"CON", "nul.txt", "ends.", "a:b",
}

// genAwkwardTree writes a deterministic tree below root: the awkward names
// at the top and again inside awkward directories, byte-order traps (a
// directory "a" beside "a b", "a-b", "a.c", "a0"), empty files, a chain 40
// directories deep, 2,000 files of 0-64 KiB and three of a few MiB.
func genAwkwardTree(t *testing.T, root string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(2024, 1))
	var seed [32]byte
	data := rand.NewChaCha8(seed)
	put := func(key string, size int) {
		path := filepath.Join(root, filepath.FromSlash(key))
		mkdirs(t, filepath.Dir(path))
		b := make([]byte, size)
		data.Read(b)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatalf("write %q: %v", key, err)
		}
	}
	dirs := []string{"", "odd dir 'q' \"dq\" %20 #h ?* [x]/", "tab\tdir/new\nline\ndir/", "d\xff\xfe/ü/"}
	for i, d := range dirs {
		for j, n := range awkwardNames {
			put(d+n, (i*len(awkwardNames)+j)%7*97)
		}
	}
	for _, k := range []string{"a/x", "a/b/c", "a b", "a-b", "a.c", "a0", "a/\xff", "b/", "b0/z", "b-/z"} {
		if !strings.HasSuffix(k, "/") {
			put(k, 10)
		}
	}
	put("empty", 0)
	put("empty dir parent/empty2", 0)
	deep := "deep/"
	for i := 1; i <= 40; i++ {
		deep += fmt.Sprintf("level-%02d/", i)
		if i%10 == 0 {
			put(deep+"marker", i)
		}
	}
	put(deep+"bottom.txt", 123)
	put(deep+"empty at bottom", 0)
	put(deep+"new\nline at \xff bottom", 7)
	for i := range 2000 {
		put(fmt.Sprintf("bulk/g%02d/f%04d.bin", i%20, i), rng.IntN(64<<10+1))
	}
	put("big/three-mib.bin", 3<<20)
	put("big/five-mib-and-a-bit.bin", 5<<20+17)
	put("big/two-mib-plus-one.bin", 2<<20+1)
}

// TestAwkwardNames copies a tree of awkward names and checks that the
// destination equals the source byte for byte, and the workdir, audit logs
// and stat output of DESIGN.md sections 6 and 7.
func TestAwkwardNames(t *testing.T) {
	t.Parallel()
	h := newHome(t, "awkward")
	genAwkwardTree(t, h.src)
	want := regular(snapshot(t, h.src))
	var bytesTotal int64
	for _, f := range want {
		bytesTotal += f.size
	}
	t.Logf("source: %d files, %d bytes", len(want), bytesTotal)

	r := h.ferry(2*time.Minute, "run", h.jobFile)
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	checkTree(t, want, h.dst)

	// Section 7: the working directory.
	for _, f := range []string{"logs/master.log", "logs/tracker.log", "logs/worker.log", "master/ferry.db"} {
		if fi, err := os.Stat(filepath.Join(h.workdir, f)); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("workdir/%s: want a regular file: %v", f, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(h.workdir, "master", "token")); err != nil {
		t.Errorf("workdir/master/token: %v", err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("workdir/master/token: mode %v, want 0600", fi.Mode().Perm())
	}
	des, err := os.ReadDir(h.jobDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		switch de.Name() {
		case "succeed_tasks":
		case ".inflight": // internal; nothing may be left in it once the job is done
			if left, _ := os.ReadDir(filepath.Join(h.jobDir(), de.Name())); len(left) > 0 {
				t.Errorf("%s/.inflight holds %d entries after the job finished", h.jobDir(), len(left))
			}
		default:
			t.Errorf("%s holds %q; a job without failures has only succeed_tasks/", h.jobDir(), de.Name())
		}
	}
	as := h.attempts()
	if len(as) < len(want)/50 {
		t.Errorf("%d attempt directories for %d files in tasks of at most 50", len(as), len(want))
	}
	for _, a := range as {
		if a.failed || !a.done || len(a.errors) > 0 {
			t.Errorf("attempt %s: failed=%v DONE=%v error.list=%q; want a clean success", a.path, a.failed, a.done, a.errors)
		}
		if len(a.records) > 50 {
			t.Errorf("attempt %s: %d records, more than taskObjectCountLimit=50", a.path, len(a.records))
		}
		for _, rec := range a.records {
			if rec.result != "OK" {
				t.Errorf("attempt %s: %s %q %q, want OK", a.path, rec.result, rec.key, rec.detail)
			}
		}
	}
	checkOnce(t, "keys of the audit logs", keyCounts(as, ""), want)
	checkRecords(t, as, want)

	// Section 6: stat.
	st := h.stat()
	n := int64(len(want))
	if st.state != "Succeed" || st.files != n || st.filesTotal != n || st.filesFailed != 0 || st.skipped != 0 ||
		st.bytes != bytesTotal || st.bytesTot != bytesTotal || !st.scanFinished {
		t.Errorf("stat: %+v; want Succeed, Files:%d/%d Bytes:%d/%d Failed:0 Skipped:0, ScanFinished:true", st, n, n, bytesTotal, bytesTotal)
	}
	if st.pending+st.dispatched+st.running+st.failed != 0 || st.succeed != int64(len(as)) {
		t.Errorf("stat: %+v; want every task succeeded (%d attempt directories)", st, len(as))
	}
	js := h.statJSON()
	if js.JobState != "Succeed" || js.FilesDone != n || js.FilesTotal != n || js.BytesDone != bytesTotal || js.FilesFailed != 0 {
		t.Errorf("stat --json: %+v; want Succeed with %d/%d files, %d bytes", js, n, n, bytesTotal)
	}

	// Running a finished job again changes nothing and still exits 0.
	if r := h.ferry(time.Minute, "run", h.jobFile); r.code != 0 {
		t.Errorf("run of a finished job: want exit 0:\n%s", r)
	}
	if got := len(h.attempts()); got != len(as) {
		t.Errorf("run of a finished job: %d attempt directories, was %d", got, len(as))
	}
}

// TestNonUTF8Prefixes: srcPrefix and destPrefix are paths, and Linux paths
// are bytes: directories named in Latin-1 (common on the old servers
// ossimport migrated from) work as source and as destination.
func TestNonUTF8Prefixes(t *testing.T) {
	t.Parallel()
	for _, side := range []string{"srcPrefix", "destPrefix"} {
		t.Run(side, func(t *testing.T) {
			t.Parallel()
			h := newHome(t, "latin1-"+side)
			if side == "srcPrefix" {
				h.src = filepath.Join(h.root, "caf\xe9 src")
			} else {
				h.dst = filepath.Join(h.root, "caf\xe9 dst")
			}
			h.writeJob(h.jobFile)
			genSmallTree(t, h.src, 120, 6)
			writeFile(t, filepath.Join(h.src, "d00", "na\xefve"), "latin-1 inside too\n")
			want := regular(snapshot(t, h.src))
			if r := h.ferry(30*time.Second, "run", h.jobFile); r.code != 0 {
				t.Errorf("run with a %s that is not UTF-8: want exit 0:\n%s", side, r)
			} else {
				checkTree(t, want, h.dst)
			}
			other := filepath.Join(h.root, "submitted.cfg")
			h.writeJob(other, kv{"jobName", h.job + "-submitted"})
			if r := h.ferry(30*time.Second, "submit", other); r.code != 0 {
				t.Errorf("submit with a %s that is not UTF-8: want exit 0:\n%s", side, r)
			}
		})
	}
}
