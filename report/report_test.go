package report

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// file is one file of a job directory, relative to it.
type file struct{ path, body string }

// writeJobDir lays out files under a new job directory and returns it.
func writeJobDir(t *testing.T, files []file) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "jobs", "j")
	for _, f := range files {
		p := filepath.Join(dir, f.path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// goldenJob is a job directory with one entry of each kind the report
// knows: copied, skipped, failed, failed and retried, excluded, deleted,
// found corrupt and missing by verify, extra at the destination, and keys
// that CSV must quote.
var goldenJob = []file{
	{"succeed_tasks/1_1700000000000@w1/TASK", "job=j\ntask=1\nworker=w1 pid 7\n"},
	{"succeed_tasks/1_1700000000000@w1/audit.log", "" +
		"2023-11-14T22:13:19Z\tOK\t3\t00000000000000aa\ta.txt\t\tmtime=2023-01-02T03:04:05.123456789Z\tdest_crc64=00000000000000aa\tdest_etag=\"e1\"\n" +
		"2023-11-14T22:13:19Z\tOK\t4\t00000000000000bb\tb,\"q\" key\tmd5=x\tmtime=2023-01-02T03:04:05Z\tdest_crc64=00000000000000bb\n" +
		"2023-11-14T22:13:19Z\tSKIP\t0\t-\tlink\tsymbolic link\n" +
		"2023-11-14T22:13:19Z\tOK\t5\t00000000000000cc\tcorrupt.bin\t\tmtime=2023-01-02T03:04:05Z\tdest_crc64=00000000000000cc\n" +
		"2023-11-14T22:13:19Z\tOK\t1\t00000000000000dd\t#hash\\tkey\\xff\t\tdest_crc64=00000000000000dd\n"},
	{"failed_tasks/2_1700000001000@w2/TASK", "job=j\ntask=2\nworker=w2\n"},
	{"failed_tasks/2_1700000001000@w2/audit.log", "" +
		"2023-11-14T22:13:20Z\tFAIL\t9\t-\tchanged.bin\tSOURCE_CHANGED: size/mtime 9/x before, 10/y after\tmtime=2023-01-02T03:04:05Z\n" +
		"2023-11-14T22:13:20Z\tFAIL\t2\t-\tretried.txt\tREAD_ERROR: permission denied\n"},
	{"succeed_tasks/2_1700000005000@w1/TASK", "job=j\ntask=2\nworker=w1 pid 7\n"},
	{"succeed_tasks/2_1700000005000@w1/audit.log",
		"2023-11-14T22:13:24Z\tOK\t2\t00000000000000ee\tretried.txt\t\tdest_crc64=00000000000000ee\n"},
	// Not accepted yet: not reported.
	{".inflight/3_9/audit.log", "2023-11-14T22:13:24Z\tOK\t2\t00000000000000ee\tghost.txt\t\n"},
	{"excluded.log", "2023-11-14T22:13:18.500Z\tEXCLUDE\t7\tskip.tmp\tmatches exclude pattern *.tmp\tmtime=2023-01-02T03:04:05Z\n"},
	{"deleted.log", "2023-11-14T22:13:18Z\tDELETE\t50\tstale.txt\n"},
	// An older verify, superseded by the latest.
	{"verify/1700000000500.report", "DIFFERENT\ta.txt\tsize 3 at the source, 4 at the destination\n"},
	{"verify/1700000010000.report", "" +
		"DIFFERENT\tcorrupt.bin\tcrc64 00000000000000cc at the source, 0000000000000123 at the destination\n" +
		"MISSING\tchanged.bin\tnot at the destination\n" +
		"MISSING\tskip.tmp\tnot at the destination\n" +
		"EXTRA\textra.bin\tnot in the source\n"},
}

func goldenOptions(dir string, f Format, l Level) Options {
	return Options{JobDir: dir, Format: f, Level: l, Job: "j",
		Settings: map[string]string{"source": "local:/src"}, Totals: map[string]int64{"filesTotal": 8},
		Now: func() time.Time { return time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC) }}
}

func write(t *testing.T, opt Options) (string, End) {
	t.Helper()
	var b bytes.Buffer
	end, err := Write(context.Background(), &b, opt)
	if err != nil {
		t.Fatal(err)
	}
	return b.String(), end
}

// TestGolden pins the report's lines, columns included, in both formats:
// testdata/report.csv and report.jsonl (go test -update rewrites them).
// The same report comes out of one run in memory and of many tiny runs
// spilled to files and merged in stages.
func TestGolden(t *testing.T) {
	dir := writeJobDir(t, goldenJob)
	for _, f := range []Format{CSV, JSONL} {
		got, end := write(t, goldenOptions(dir, f, All))
		golden := filepath.Join("testdata", "report."+string(f))
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s report differs from %s:\n%s", f, golden, got)
		}
		if want := (End{End: true, Rows: 10, Entries: Counts{OK: 4, Skip: 1, Fail: 3, Exclude: 1, Delete: 1}}); end != want {
			t.Errorf("%s: end %+v, want %+v", f, end, want)
		}

		old := maxFanIn
		maxFanIn = 3
		opt := goldenOptions(dir, f, All)
		opt.RunBytes, opt.TempDir = 1, t.TempDir()
		spilled, _ := write(t, opt)
		maxFanIn = old
		if spilled != got {
			t.Errorf("%s: the report from spilled runs differs:\n%s\nwant\n%s", f, spilled, got)
		}
		if left, _ := os.ReadDir(opt.TempDir); len(left) != 0 {
			t.Errorf("runs left in %s: %v", opt.TempDir, left)
		}
	}
}

// TestErrorsLevel: --level errors lists exactly the entries that are not
// OK or SKIP: the failure, verify's findings, the excluded and the deleted
// key; the retried key's latest attempt (OK) wins over its failure.
func TestErrorsLevel(t *testing.T) {
	dir := writeJobDir(t, goldenJob)
	got, end := write(t, goldenOptions(dir, CSV, Errors))
	var keys []string
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	for _, l := range lines[2 : len(lines)-1] {
		keys = append(keys, l[:strings.IndexByte(l, ',')])
	}
	want := []string{"changed.bin", "corrupt.bin", "extra.bin", "skip.tmp", "stale.txt"}
	if fmt.Sprint(keys) != fmt.Sprint(want) || end.Rows != 5 {
		t.Errorf("errors: rows %q (%d), want %q", keys, end.Rows, want)
	}
	for _, l := range lines[2 : len(lines)-1] {
		if strings.HasPrefix(l, "corrupt.bin,") && !strings.Contains(l, ",FAIL,DIFFERENT,5,00000000000000cc,0000000000000123,") {
			t.Errorf("the corrupt copy's row %q: want FAIL DIFFERENT with both CRC64s verify found", l)
		}
		if strings.HasPrefix(l, "changed.bin,") && !strings.Contains(l, ",FAIL,SOURCE_CHANGED,") {
			t.Errorf("the changed file's row %q: want its failure, not verify's MISSING", l)
		}
	}
}

// A job directory with nothing recorded yet gives a header, the column
// names and the end.
func TestEmpty(t *testing.T) {
	got, end := write(t, goldenOptions(filepath.Join(t.TempDir(), "none"), CSV, All))
	if n := strings.Count(got, "\n"); n != 3 || end.Rows != 0 {
		t.Errorf("empty job: %d lines, %d rows:\n%s", n, end.Rows, got)
	}
}

// A damaged line is an error naming the file and the line.
func TestDamagedLine(t *testing.T) {
	dir := writeJobDir(t, []file{{"succeed_tasks/1_1@w/audit.log", "2023-11-14T22:13:19Z\tOK\t3\t-\ta\t\nbroken\n"}})
	_, err := Write(context.Background(), &bytes.Buffer{}, goldenOptions(dir, CSV, All))
	if err == nil || !strings.Contains(err.Error(), filepath.Join("1_1@w", "audit.log")+":2:") {
		t.Errorf("Write over a damaged audit.log: %v; want an error naming audit.log:2", err)
	}
}
