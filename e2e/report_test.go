package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestReport: a job with one file changed while it is copied, one key the
// filters exclude and one destination key the mirror deletes, whose
// destination is then corrupted in one file that `verify` finds. `report
// --level errors` lists exactly those four, each with its result and kind;
// `report` (all) has one row a key, every OK row with the source's CRC64
// (as this test computes it) equal to the destination's; the first line's
// totals are `stat --json`'s; the columns are those of the golden files in
// report/testdata, in CSV (read by encoding/csv, which skips the "#" lines)
// and JSON lines; -o writes the same report to a file; a job that does not
// exist is a one-line error.
func TestReport(t *testing.T) {
	t.Parallel()
	h := newHome(t, "report")
	files := map[string][]byte{}
	for i := range 24 {
		files[fmt.Sprintf("d%d/f%02d.txt", i%3, i)] = []byte(strings.Repeat(fmt.Sprintf("file %d ", i), 20+i))
	}
	files["odd, \"name\".txt"] = []byte("quoted in CSV")
	files["#lead.txt"] = []byte("not a comment")
	files["skip.tmp"] = []byte("excluded")
	big := make([]byte, 6<<20)
	rand.NewChaCha8([32]byte{3}).Read(big)
	files["big.bin"] = big
	for k, b := range files {
		writeFile(t, filepath.Join(h.src, k), string(b))
	}
	writeFile(t, filepath.Join(h.dst, "stale.txt"), "not in the source")
	h.writeJob(h.jobFile, kv{"exclude", "*.tmp"}, kv{"mirror", "true"}, kv{"maxThroughput", "2m"})

	// big.bin changes while the worker reads it (throttled, it takes 3 s).
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := h.background(ctx, "run", h.jobFile)
	bigPath := filepath.Join(h.src, "big.bin")
	for opened := false; !opened; time.Sleep(5 * time.Millisecond) {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", run.cmd.Process.Pid))
		for _, fd := range fds {
			if l, _ := os.Readlink(fd); l == bigPath {
				opened = true
			}
		}
		select {
		case err := <-run.exited:
			t.Fatalf("run ended (%v) before big.bin was seen open:\n%s", err, run.out)
		default:
		}
	}
	f, err := os.OpenFile(bigPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("more"))
	f.Close()
	later := time.Now().Add(time.Second)
	os.Chtimes(bigPath, later, later)
	<-run.exited
	if code := run.cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("run with big.bin changed under it: exit %d, want 1:\n%s", code, run.out)
	}

	// Corrupt one copy, keeping its size and mtime: only verify finds it.
	corrupt := filepath.Join(h.dst, "d1", "f04.txt")
	fi, err := os.Stat(corrupt)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(readString(t, corrupt))
	body[3] ^= 0x20
	if err := os.WriteFile(corrupt, body, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(corrupt, fi.ModTime(), fi.ModTime())
	if v := h.verifyJob(); v.code != 1 || v.diffs["d1/f04.txt"] != "DIFFERENT" {
		t.Fatalf("verify after corrupting d1/f04.txt: exit %d, diffs %v", v.code, v.diffs)
	}

	// --level errors: exactly the four, in CSV.
	errs := h.must(time.Minute, "report", h.job, "--level", "errors")
	rows := readCSVReport(t, errs)
	got := map[string]string{}
	for _, r := range rows[1:] {
		got[r["key"]] = r["result"] + " " + r["kind"]
	}
	want := map[string]string{"big.bin": "FAIL SOURCE_CHANGED", "d1/f04.txt": "FAIL DIFFERENT",
		"skip.tmp": "EXCLUDE ", "stale.txt": "DELETE "}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("report --level errors: rows %v, want %v\n%s", got, want, errs)
	}
	crc := func(b []byte) string { return fmt.Sprintf("%016x", crc64.Checksum(b, crc64.MakeTable(crc64.ECMA))) }
	for _, r := range rows[1:] {
		if r["key"] == "d1/f04.txt" && (r["srcCrc64"] != crc(files["d1/f04.txt"]) || r["dstCrc64"] != crc(body)) {
			t.Errorf("the corrupt copy's row %v: want srcCrc64 %s (the source) and dstCrc64 %s (what verify read)",
				r, crc(files["d1/f04.txt"]), crc(body))
		}
	}

	// All, in JSON lines: the header's totals are stat's, a row a key.
	all := h.must(time.Minute, "report", h.job, "--format", "jsonl")
	lines := strings.Split(strings.TrimSuffix(all, "\n"), "\n")
	var head struct {
		Columns []string       `json:"columns"`
		Totals  map[string]any `json:"totals"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &head); err != nil {
		t.Fatalf("first line %q: %v", lines[0], err)
	}
	var stat []map[string]any
	if err := json.Unmarshal([]byte(h.must(30*time.Second, "stat", "--json", h.job)), &stat); err != nil || len(stat) != 1 {
		t.Fatalf("stat --json: %v", err)
	}
	if !reflect.DeepEqual(head.Totals, stat[0]) {
		t.Errorf("the report's totals\n%v\nare not stat --json's\n%v", head.Totals, stat[0])
	}
	golden := strings.Split(readString(t, filepath.Join("..", "report", "testdata", "report.jsonl")), "\n")
	if want := jsonMembers(t, golden[1]); !slices.Equal(head.Columns, want) {
		t.Errorf("columns %q, want the golden file's %q", head.Columns, want)
	}
	seen := map[string]bool{}
	ok := 0
	for _, l := range lines[1 : len(lines)-1] {
		if m := jsonMembers(t, l); !slices.Equal(m, head.Columns) {
			t.Errorf("row %s: members %q, want %q", l, m, head.Columns)
		}
		var r map[string]any
		json.Unmarshal([]byte(l), &r)
		k := r["key"].(string)
		if seen[k] {
			t.Errorf("key %q has two rows", k)
		}
		seen[k] = true
		if r["result"] != "OK" {
			continue
		}
		ok++
		src, there := files[k]
		if !there || r["srcCrc64"] != crc(src) || r["dstCrc64"] != r["srcCrc64"] || r["size"] != float64(len(src)) {
			t.Errorf("OK row %s: want size %d and srcCrc64 = dstCrc64 = %s", l, len(src), crc(src))
		}
	}
	if n := len(files) + 1; len(seen) != n || ok != len(files)-3 {
		t.Errorf("report: %d keys, %d OK; want %d keys (the source's and stale.txt), %d OK", len(seen), ok, n, len(files)-3)
	}
	var end struct {
		End     bool
		Rows    int
		Entries map[string]int
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &end); err != nil || !end.End || end.Rows != len(seen) || end.Entries["ok"] != ok {
		t.Errorf("last line %q: want the end, %d rows, %d OK", lines[len(lines)-1], len(seen), ok)
	}

	// CSV: the golden file's column names; -o writes the same report.
	allCSV := h.must(time.Minute, "report", h.job)
	goldenCSV := strings.Split(readString(t, filepath.Join("..", "report", "testdata", "report.csv")), "\n")
	if l := strings.Split(allCSV, "\n"); len(l) < 2 || l[1] != goldenCSV[1] {
		t.Errorf("CSV column names %q, want the golden file's %q", l[1], goldenCSV[1])
	}
	if n := len(readCSVReport(t, allCSV)) - 1; n != len(seen) {
		t.Errorf("CSV report: %d rows, JSON lines %d", n, len(seen))
	}
	out := filepath.Join(h.root, "out.csv")
	h.must(time.Minute, "report", "-o", out, h.job)
	if a, b := readString(t, out), allCSV; a[strings.IndexByte(a, '\n'):] != b[strings.IndexByte(b, '\n'):] {
		t.Errorf("report -o %s differs from the report on standard output:\n%s\n%s", out, a, b)
	}

	r := h.ferry(30*time.Second, "report", "nosuch")
	if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, `no job named "nosuch"`) {
		t.Errorf("report of a job that does not exist: want exit 1 and one line naming it:\n%s", r)
	}
	if r := h.ferry(30*time.Second, "report"); r.code != 2 || !strings.Contains(r.stderr, "job name") {
		t.Errorf("report without a job: want exit 2 and a usage line:\n%s", r)
	}
}

// readCSVReport reads a CSV report: the rows as maps by column name, after
// the header row (element 0, by itself). encoding/csv skips the first and
// last lines, which start with '#'.
func readCSVReport(t *testing.T, s string) []map[string]string {
	t.Helper()
	if !strings.HasPrefix(s, "# {") || !strings.Contains(s, "\n# {\"end\":true") {
		t.Fatalf("CSV report without its first and last lines:\n%s", s)
	}
	cr := csv.NewReader(strings.NewReader(s))
	cr.Comment = '#'
	recs, err := cr.ReadAll()
	if err != nil || len(recs) == 0 {
		t.Fatalf("CSV report: %v\n%s", err, s)
	}
	out := []map[string]string{{}}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = rec[i]
			if c == "key" {
				k, err := unescape(rec[i])
				if err != nil {
					t.Errorf("CSV report key %q: %v", rec[i], err)
				}
				m[c] = k
			}
		}
		out = append(out, m)
	}
	return out
}

// jsonMembers returns the names of a JSON object's members, in order.
func jsonMembers(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%q is not a JSON object", line)
	}
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		names = append(names, tok.(string))
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
	}
	return names
}

// TestReportMillion: the report of a job of 1,000,000 entries (audit
// directories written by the test: 100 attempts of 10,000 entries in no
// order, 10,000 of them failed first and retried, 10,000 more keys
// excluded, 1,000 found different by verify) is written whole by a ferry
// process whose peak resident memory (getrusage) stays under 100 MiB.
func TestReportMillion(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 150 MB of audit logs")
	}
	h := newHome(t, "million")
	h.must(time.Minute, "submit", h.jobFile)
	dir := h.jobDir()
	const tasks, per = 100, 10_000
	base := time.Now().Add(-time.Hour).UnixMilli()
	rng := rand.New(rand.NewPCG(1, 2))
	key := func(i int) string { return fmt.Sprintf("data/dir%04d/file-%08d.bin", i/1000, i) }
	writeAttempt := func(parent string, task, ms int64, keys []int, result string) {
		a := filepath.Join(dir, parent, fmt.Sprintf("%d_%d@w%d", task, ms, task%4))
		mkdirs(t, a)
		writeFile(t, filepath.Join(a, "TASK"), fmt.Sprintf("job=million\ntask=%d\nworker=w%d pid 1\n", task, task%4))
		var b bytes.Buffer
		at := time.UnixMilli(ms).UTC().Format(time.RFC3339)
		for _, i := range keys {
			if result == "OK" {
				fmt.Fprintf(&b, "%s\tOK\t%d\t%016x\t%s\t\tmtime=2025-01-02T03:04:05.123456789Z\tdest_crc64=%016x\n", at, i%5000, uint64(i)*7919, key(i), uint64(i)*7919)
			} else {
				fmt.Fprintf(&b, "%s\tFAIL\t%d\t-\t%s\tREAD_ERROR: permission denied\tmtime=2025-01-02T03:04:05Z\n", at, i%5000, key(i))
			}
		}
		if err := os.WriteFile(filepath.Join(a, "audit.log"), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var retried []int
	for task := range int64(tasks) {
		keys := rng.Perm(per)
		for j := range keys {
			keys[j] += int(task) * per
		}
		writeAttempt("succeed_tasks", task, base+task*1000, keys, "OK")
		retried = append(retried, keys[:per/tasks]...)
	}
	writeAttempt("failed_tasks", tasks, base-1000, retried, "FAIL") // before the attempts that copied them
	var excl, ver bytes.Buffer
	for i := range 10_000 {
		fmt.Fprintf(&excl, "%s\tEXCLUDE\t1\t%s\texclude pattern \"*.tmp\" matches\n",
			time.UnixMilli(base).UTC().Format(time.RFC3339), fmt.Sprintf("tmp/%08d.tmp", i))
	}
	for i := range 1000 {
		fmt.Fprintf(&ver, "DIFFERENT\t%s\tcrc64 %016x at the source, %016x at the destination\n", key(i*997), uint64(i*997)*7919, i)
	}
	writeFile(t, filepath.Join(dir, "excluded.log"), excl.String())
	writeFile(t, filepath.Join(dir, "verify", fmt.Sprintf("%d.report", base+tasks*1000+1)), ver.String())

	h.env = append(h.env, "TMPDIR="+t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := h.command(ctx, "report", h.job)
	tail := &lastLines{}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = tail, &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("report of a million entries: %v", err)
	}
	// The peak is the process's own high-water mark (VmHWM), read until it
	// exits. Not its rusage: Linux's ru_maxrss keeps the RSS of the memory
	// it had before exec, which is this test process's, hundreds of MiB
	// when the whole suite runs in it.
	var rss int64
	done, waitDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			if v := vmHWM(cmd.Process.Pid); v > rss {
				rss = v
			}
			select {
			case <-time.After(10 * time.Millisecond):
			case <-waitDone:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(waitDone)
	<-done
	if err != nil {
		t.Fatalf("report of a million entries: %v\n%s", err, stderr.String())
	}
	took := time.Since(start)
	t.Logf("report of %d entries: %d lines, %s, peak RSS %.1f MiB", tasks*per+10_000, tail.n, took.Round(time.Millisecond), float64(rss)/(1<<20))
	if rss >= 100<<20 {
		t.Errorf("peak RSS %.1f MiB, want under 100 MiB", float64(rss)/(1<<20))
	}
	wantEnd := `# {"end":true,"rows":1010000,"entries":{"ok":999000,"skip":0,"fail":1000,"exclude":10000,"delete":0}}`
	if tail.n != 1_010_000+3 || tail.last != wantEnd {
		t.Errorf("report: %d lines ending %q; want %d lines ending %q", tail.n, tail.last, 1_010_000+3, wantEnd)
	}
	if left, _ := os.ReadDir(strings.TrimPrefix(h.env[len(h.env)-1], "TMPDIR=")); len(left) != 0 {
		t.Errorf("the report left %d files in TMPDIR", len(left))
	}
}

// lastLines counts the lines written to it and keeps the last one.
type lastLines struct {
	n    int
	cur  []byte
	last string
}

func (l *lastLines) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			l.cur = append(l.cur, p...)
			break
		}
		l.cur = append(l.cur, p[:i]...)
		l.n++
		l.last, l.cur = string(l.cur), l.cur[:0]
		p = p[i+1:]
	}
	return n, nil
}

var _ io.Writer = (*lastLines)(nil)

// vmHWM returns the peak resident set size of process pid since its exec,
// in bytes, from /proc (0 once it has exited).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
