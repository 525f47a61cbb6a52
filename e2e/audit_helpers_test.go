package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Helpers reading what a job leaves in the working directory
// (DESIGN.md section 7), written independently of ferry's own code so that
// they check the contract rather than restate the implementation.

// record is one audit.log line.
type record struct {
	time   time.Time
	result string // OK, SKIP or FAIL
	size   int64
	crc    string // 16 hex digits or "-"
	key    string // unescaped
	detail string // unescaped
	// Trailing name=value fields, when present: the source's mtime, the
	// destination's CRC64 and ETag (unescaped).
	mtime   time.Time
	destCRC string // 16 hex digits or ""
	etag    string
}

// attempt is one finished attempt directory:
// master/jobs/<job>/{succeed,failed}_tasks/<task>_<epochms>@<worker>/.
type attempt struct {
	path    string
	task    uint64
	epochMs int64
	worker  string
	failed  bool // under failed_tasks
	status  string
	done    bool
	errors  []string // error.list, unescaped
	records []record
}

var attemptRE = regexp.MustCompile(`^(\d+)_(\d{13})@(.+)$`)

func (h *home) jobDir() string { return filepath.Join(h.workdir, "master", "jobs", h.job) }

// attempts reads every finished attempt of h's job and checks the layout:
// the directory name, the five files and nothing else, STATUS, DONE, the
// audit.log line format.
func (h *home) attempts() []attempt {
	t := h.t
	t.Helper()
	var out []attempt
	for _, parent := range []string{"succeed_tasks", "failed_tasks"} {
		des, err := os.ReadDir(filepath.Join(h.jobDir(), parent))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, de := range des {
			out = append(out, readAttempt(t, filepath.Join(h.jobDir(), parent, de.Name()), parent == "failed_tasks"))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].task != out[j].task {
			return out[i].task < out[j].task
		}
		return out[i].epochMs < out[j].epochMs
	})
	return out
}

func readAttempt(t *testing.T, dir string, failed bool) attempt {
	t.Helper()
	name := filepath.Base(dir)
	m := attemptRE.FindStringSubmatch(name)
	if m == nil {
		t.Errorf("attempt directory %s: name is not <task>_<epochms>@<worker>", dir)
		return attempt{path: dir, failed: failed}
	}
	a := attempt{path: dir, failed: failed, worker: m[3]}
	a.task, _ = strconv.ParseUint(m[1], 10, 64)
	a.epochMs, _ = strconv.ParseInt(m[2], 10, 64)
	if d := time.Since(time.UnixMilli(a.epochMs)); d < 0 || d > time.Hour {
		t.Errorf("attempt %s: epochms %d is not a recent time", name, a.epochMs)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, de := range des {
		files = append(files, de.Name())
	}
	want := []string{"STATUS", "TASK", "audit.log", "error.list"}
	if !failed {
		want = []string{"DONE", "STATUS", "TASK", "audit.log", "error.list"}
	}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Errorf("attempt %s holds %q, want %q", dir, files, want)
	}
	a.status = strings.TrimSpace(readString(t, filepath.Join(dir, "STATUS")))
	wantStatus := map[bool]string{false: "Completed", true: "Failed"}[failed]
	if a.status != wantStatus {
		t.Errorf("attempt %s: STATUS %q, want %q", dir, a.status, wantStatus)
	}
	_, err = os.Stat(filepath.Join(dir, "DONE"))
	a.done = err == nil
	for _, l := range lines(readString(t, filepath.Join(dir, "error.list"))) {
		k, err := unescape(l)
		if err != nil {
			t.Errorf("%s/error.list: %v", dir, err)
		}
		a.errors = append(a.errors, k)
	}
	for i, l := range lines(readString(t, filepath.Join(dir, "audit.log"))) {
		r, err := parseRecord(l)
		if err != nil {
			t.Errorf("%s/audit.log:%d: %v", dir, i+1, err)
			continue
		}
		a.records = append(a.records, r)
	}
	return a
}

// parseRecord reads `time result size crc64 key detail`, then the
// trailing name=value fields (mtime=, dest_crc64=, dest_etag= checked;
// others only for their form), each at most once.
func parseRecord(l string) (record, error) {
	f := strings.Split(l, "\t")
	if len(f) < 6 {
		return record{}, fmt.Errorf("%q: %d tab-separated fields, want 6 and name=value ones", l, len(f))
	}
	var r record
	var err error
	if r.time, err = time.Parse(time.RFC3339, f[0]); err != nil || !strings.HasSuffix(f[0], "Z") {
		return r, fmt.Errorf("%q: time %q is not RFC 3339 UTC", l, f[0])
	}
	r.result = f[1]
	if r.result != "OK" && r.result != "SKIP" && r.result != "FAIL" {
		return r, fmt.Errorf("%q: result %q, want OK, SKIP or FAIL", l, f[1])
	}
	if r.size, err = strconv.ParseInt(f[2], 10, 64); err != nil || r.size < 0 {
		return r, fmt.Errorf("%q: size %q", l, f[2])
	}
	r.crc = f[3]
	if !regexp.MustCompile(`^([0-9a-f]{16}|-)$`).MatchString(r.crc) {
		return r, fmt.Errorf("%q: crc64 %q", l, f[3])
	}
	if r.key, err = unescape(f[4]); err != nil {
		return r, err
	}
	if r.detail, err = unescape(f[5]); err != nil {
		return r, err
	}
	seen := map[string]bool{}
	for _, x := range f[6:] {
		name, v, _ := strings.Cut(x, "=")
		if seen[name] {
			return r, fmt.Errorf("%q: %s= twice", l, name)
		}
		seen[name] = true
		switch name {
		case "mtime":
			if r.mtime, err = time.Parse(time.RFC3339Nano, v); err != nil || !strings.HasSuffix(v, "Z") {
				return r, fmt.Errorf("%q: mtime %q is not RFC 3339 UTC", l, v)
			}
		case "dest_crc64":
			if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(v) {
				return r, fmt.Errorf("%q: dest_crc64 %q", l, v)
			}
			r.destCRC = v
		case "dest_etag":
			if r.etag, err = unescape(v); err != nil || v == "" {
				return r, fmt.Errorf("%q: dest_etag %q", l, v)
			}
		default:
			if !regexp.MustCompile(`^[a-z][a-z0-9_]*=`).MatchString(x) {
				return r, fmt.Errorf("%q: trailing field %q is not name=value", l, x)
			}
		}
	}
	return r, nil
}

// unescape undoes the audit log's key escapes: \\ \t \n \r \xHH.
func unescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", fmt.Errorf("%q: trailing backslash", s)
		}
		i++
		switch s[i] {
		case '\\':
			b.WriteByte('\\')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'x':
			if i+3 > len(s) {
				return "", fmt.Errorf("%q: short \\x escape", s)
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return "", fmt.Errorf("%q: bad \\x escape", s)
			}
			b.WriteByte(byte(v))
			i += 2
		default:
			return "", fmt.Errorf("%q: unknown escape \\%c", s, s[i])
		}
	}
	return b.String(), nil
}

// lines splits a file's text into lines; every line must end in '\n'.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
	}
	return string(b)
}

// keyCounts counts the records of the given result across attempts
// (all results when result is "").
func keyCounts(as []attempt, result string) map[string]int {
	n := map[string]int{}
	for _, a := range as {
		for _, r := range a.records {
			if result == "" || r.result == result {
				n[r.key]++
			}
		}
	}
	return n
}

// failures returns the keys of the attempts' error.list files and their
// FAIL records, in attempt order.
func failures(as []attempt) (errorList []string, fails []record) {
	for _, a := range as {
		errorList = append(errorList, a.errors...)
		for _, rec := range a.records {
			if rec.result == "FAIL" {
				fails = append(fails, rec)
			}
		}
	}
	return errorList, fails
}

// checkOnce checks that counts holds each key of want exactly once, and no
// other key.
func checkOnce(t *testing.T, what string, counts map[string]int, want map[string]fileInfo) {
	t.Helper()
	var bad []string
	for k := range want {
		if counts[k] != 1 {
			bad = append(bad, fmt.Sprintf("%q %d times", k, counts[k]))
		}
	}
	for k, n := range counts {
		if _, ok := want[k]; !ok {
			bad = append(bad, fmt.Sprintf("unexpected key %q (%d times)", k, n))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("%s: want each of the %d source files exactly once; %d problems:\n  %s",
			what, len(want), len(bad), strings.Join(head(bad, 15), "\n  "))
	}
}

// checkRecords checks the size and CRC-64/ECMA of every OK record against
// the source file it names.
func checkRecords(t *testing.T, as []attempt, src map[string]fileInfo) {
	t.Helper()
	bad := 0
	for _, a := range as {
		for _, r := range a.records {
			f, ok := src[r.key]
			if r.result != "OK" || !ok {
				continue
			}
			if r.size != f.size || r.crc != fmt.Sprintf("%016x", f.crc) {
				if bad++; bad <= 5 {
					t.Errorf("audit record of %q: size %d crc %s, want %d %016x", r.key, r.size, r.crc, f.size, f.crc)
				}
			}
		}
	}
}
