package e2e

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// resumedBytesRE is run's bytes line for a resumed job.
var resumedBytesRE = regexp.MustCompile(`(?m)^  bytes  (\S+): (\S+) in this run's (\S+) \((\S+)/s\), (\S+) before it \(resumed\); every file verified by CRC64$`)

// TestRunSummaryResumed: a run interrupted after four large files, run
// again for the four small ones left, says in its summary how much it
// moved itself and at what rate, and how much earlier runs had done
// (issue 15: it divided all the job's bytes by its own time, "1.0MB in
// 100ms"). Its source is a URL list, which the summary names.
func TestRunSummaryResumed(t *testing.T) {
	t.Parallel()
	h := newHome(t, "run-resumed")
	gate := make(chan struct{}) // closed: the small files are served
	big := strings.Repeat("B", 256<<10)
	small := strings.Repeat("s", 1<<10)
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		body := big
		if strings.HasPrefix(name, "z") {
			body = small
			if r.Method == http.MethodGet { // the listing's HEADs pass
				select {
				case <-gate:
				case <-r.Context().Done():
					return
				}
			}
		}
		http.ServeContent(w, r, "", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), strings.NewReader(body))
	}))
	t.Cleanup(web.Close)
	var list strings.Builder
	for _, n := range []string{"a1", "a2", "a3", "a4", "z1", "z2", "z3", "z4"} {
		fmt.Fprintf(&list, "%s/\t%s\n", web.URL, n)
	}
	listFile := filepath.Join(h.root, "http.list")
	writeFile(t, listFile, list.String())
	h.writeJob(h.jobFile, kv{"srcType", "http"}, kv{"srcPrefix", ""}, kv{"httpListFilePath", listFile}, kv{"taskObjectCountLimit", "1"})

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := h.background(ctx, "run", h.jobFile)
	// The four large files' tasks are complete once their attempts are
	// published; the small ones wait at the gate.
	waitFor(t, time.Minute, "the four large files' tasks to complete", func() bool {
		des, _ := os.ReadDir(filepath.Join(h.jobDir(), "succeed_tasks"))
		return len(des) == 4
	})
	r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not stop within 30s of SIGINT:\n%s", r.out)
	}
	if !strings.Contains(r.out.String(), "interrupted: job run-resumed stops here") {
		t.Fatalf("the first run was not interrupted:\n%s", r.out)
	}

	close(gate)
	res := h.ferry(2*time.Minute, "run", h.jobFile)
	if res.code != 0 || !strings.Contains(res.stdout, "job run-resumed: resuming (4 of 8 files done)") {
		t.Fatalf("second run: want it to resume with 4 of 8 files done and exit 0:\n%s", res)
	}
	m := resumedBytesRE.FindStringSubmatch(res.stdout)
	if m == nil {
		t.Fatalf("the summary's bytes line does not say what this run moved and what was done before:\n%s", res)
	}
	if m[1] != "1.0MB" || m[2] != "4.0KB" || m[5] != "1.0MB" {
		t.Errorf("bytes line %q: want 1.0MB in all, 4.0KB in this run, 1.0MB before it", m[0])
	}
	took, err := time.ParseDuration(m[3])
	if err != nil || took <= 0 {
		t.Fatalf("bytes line %q: this run's time %q: %v", m[0], m[3], err)
	}
	// The time is printed rounded to 10ms; the rate is of the time as
	// measured. All the job's bytes over this run's time would be 257
	// times as much.
	rate := parseBytes(t, m[4])
	lo, hi := 4096/(took+5*time.Millisecond).Seconds(), 4096/max(took-5*time.Millisecond, time.Millisecond).Seconds()
	if rate < lo*0.9 || rate > hi*1.1 {
		t.Errorf("bytes line %q: rate %s/s, want this run's 4.0KB over its %s, %.0f-%.0f B/s", m[0], m[4], took, lo, hi)
	}
	if !strings.Contains(res.stdout, "\n  from   URL list "+listFile+"\n") {
		t.Errorf("the summary does not name the URL list:\n%s", res)
	}
}

// parseBytes reads console's humanBytes ("4.0KB", "512B").
func parseBytes(t *testing.T, s string) float64 {
	t.Helper()
	for i, u := range []string{"PB", "TB", "GB", "MB", "KB", "B"} {
		if v, ok := strings.CutSuffix(s, u); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			return f * math.Pow(1024, float64(5-i))
		}
	}
	t.Fatalf("%q is not a size", s)
	return 0
}
