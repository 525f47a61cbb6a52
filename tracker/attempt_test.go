package tracker

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// portableTests makes newTracker's trackers portable (TestPortable).
var portableTests bool

func newTracker(t *testing.T) *Tracker {
	t.Helper()
	tr := New(t.TempDir())
	tr.portable = tr.portable || portableTests
	t.Cleanup(func() {
		if err := tr.Close(); err != nil {
			t.Error(err)
		}
	})
	return tr
}

// onDisk reads every file of a directory.
func onDisk(t *testing.T, dir string) []File {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []File
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, File{de.Name(), b})
	}
	return out
}

// sameFiles compares two sets of files, in any order.
func sameFiles(a, b []File) bool {
	cmp := func(x, y File) int { return strings.Compare(x.Name, y.Name) }
	a, b = slices.SortedFunc(slices.Values(a), cmp), slices.SortedFunc(slices.Values(b), cmp)
	return slices.EqualFunc(a, b, func(x, y File) bool { return x.Name == y.Name && string(x.Data) == string(y.Data) })
}

// Seal publishes once; calling it again (a restart) changes nothing.
func TestSealIdempotent(t *testing.T) {
	tr := newTracker(t)
	if err := tr.Append("j", 1, 2, []Record{{Key: "k"}}); err != nil {
		t.Fatal(err)
	}
	prepared, err := tr.Prepare(Attempt{Job: "j", Task: 1, Lease: 2, Worker: "w/x", Files: 1, Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	final := prepared.Name
	if !strings.HasPrefix(final, filepath.Join("succeed_tasks", "1_")) || !strings.HasSuffix(final, "@w_x") {
		t.Fatalf("final dir %q", final)
	}
	for i := 0; i < 2; i++ {
		if err := tr.Seal("j", 1, 2, final); err != nil {
			t.Fatalf("seal %d: %v", i, err)
		}
	}
	des, err := os.ReadDir(filepath.Join(tr.dir, "j", "succeed_tasks"))
	if err != nil || len(des) != 1 {
		t.Fatalf("published: %v, %v", des, err)
	}
	b, err := os.ReadFile(filepath.Join(tr.dir, "j", final, "audit.log"))
	if err != nil || strings.Count(string(b), "\n") != 1 {
		t.Fatalf("audit.log %q, %v", b, err)
	}
	if _, err := os.Stat(tr.inflight("j", 1, 2)); !os.IsNotExist(err) {
		t.Fatalf("in-flight dir after Seal: %v", err)
	}
}

// Prepare returns every byte of the directory it publishes; records that
// arrive after it are dropped, so the published directory and the copy the
// master keeps never differ.
func TestPrepareFreezesLog(t *testing.T) {
	tr := newTracker(t)
	at := time.Unix(1_700_000_000, 0).UTC()
	first := []Record{{Time: at, Key: "a"}, {Time: at, Result: Fail, Key: "b\xff", Detail: "READ_ERROR: x"}}
	if err := tr.Append("j", 1, 2, first); err != nil {
		t.Fatal(err)
	}
	d, err := tr.Prepare(Attempt{Job: "j", Task: 1, Lease: 2, Attempt: 3, Worker: "w", Failed: []string{"b\xff"}, Files: 2, Started: at})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Append("j", 1, 2, []Record{{Time: at, Key: "late"}}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.Name, filepath.Join("failed_tasks", "1_")) {
		t.Fatalf("name %q", d.Name)
	}
	want := map[string]string{"audit.log": first[0].Line() + first[1].Line(), "STATUS": "Failed\n", "error.list": `b\xff` + "\n"}
	for _, f := range d.Files {
		if w, ok := want[f.Name]; ok && string(f.Data) != w {
			t.Errorf("%s: %q, want %q", f.Name, f.Data, w)
		}
		if f.Name == "DONE" {
			t.Error("DONE in a failed attempt")
		}
	}
	if err := tr.Seal("j", 1, 2, d.Name); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(t, filepath.Join(tr.dir, "j", d.Name)); !sameFiles(got, d.Files) {
		t.Fatalf("published %q, prepared %q", got, d.Files)
	}
}

// Two attempts prepared in the same millisecond for the same task and
// worker get different names, even before either is published.
func TestPrepareReservesNames(t *testing.T) {
	tr := newTracker(t)
	at := time.UnixMilli(1_700_000_000_123)
	tr.now = func() time.Time { return at }
	a := Attempt{Job: "j", Task: 7, Worker: "w", Files: 1, Started: at}
	var names []string
	for lease := uint64(1); lease <= 2; lease++ {
		a.Lease = lease
		d, err := tr.Prepare(a)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, d.Name)
	}
	if names[0] == names[1] {
		t.Fatalf("both attempts named %q", names[0])
	}
	tr.Discard("j", 7, 1) // gives its name back
	a.Lease = 3
	if d, err := tr.Prepare(a); err != nil || d.Name != names[0] {
		t.Fatalf("after Discard: %q, %v; want %q", d.Name, err, names[0])
	}
}

// Restore writes the directory exactly as its copy says, over whatever a
// crash left: a published directory missing some writes and a stale
// in-flight one.
func TestRestoreReplacesDamage(t *testing.T) {
	tr := newTracker(t)
	if err := tr.Append("j", 1, 2, []Record{{Key: "a"}, {Key: "b"}}); err != nil {
		t.Fatal(err)
	}
	d, err := tr.Prepare(Attempt{Job: "j", Task: 1, Lease: 2, Worker: "w", Files: 2, Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Seal("j", 1, 2, d.Name); err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(tr.dir, "j", d.Name)
	if err := os.Truncate(filepath.Join(pub, "audit.log"), 3); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(pub, "DONE")); err != nil {
		t.Fatal(err)
	}
	if err := tr.Append("j", 1, 2, []Record{{Key: "late"}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := tr.Restore("j", 1, 2, d); err != nil {
			t.Fatal(err)
		}
		if got := onDisk(t, pub); !sameFiles(got, d.Files) {
			t.Fatalf("restore %d: published %q, want %q", i, got, d.Files)
		}
		if _, err := os.Stat(tr.inflight("j", 1, 2)); !os.IsNotExist(err) {
			t.Fatalf("restore %d: in-flight dir left: %v", i, err)
		}
	}
	for _, bad := range []Dir{{Name: "../x/y"}, {Name: "succeed_tasks"}, {Name: "succeed_tasks/1_2@w", Files: []File{{"../TASK", nil}}}} {
		if err := tr.Restore("j", 1, 2, bad); err == nil {
			t.Errorf("Restore(%q) wrote outside its directory", bad.Name)
		}
	}
}

// The first attempts of a job sealed at the same moment all get published:
// each of them finds succeed_tasks missing, and one makes it while another
// looks (in e2e TestClusterJoin, task 1's directory stayed in .inflight).
// A race: without the fix, about half the runs of this test fail.
func TestSealConcurrentFirstAttempts(t *testing.T) {
	const jobs, perJob = 100, 12
	tr := newTracker(t)
	for j := range jobs {
		job := "j" + strconv.Itoa(j)
		var names [perJob]string
		for task := range perJob {
			if err := tr.Append(job, uint64(task), 1, []Record{{Key: "k"}}); err != nil {
				t.Fatal(err)
			}
			d, err := tr.Prepare(Attempt{Job: job, Task: uint64(task), Lease: 1, Worker: "w", Files: 1, Started: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			names[task] = d.Name
		}
		var wg sync.WaitGroup
		errs := make(chan error, perJob)
		for task := range perJob {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- tr.Seal(job, uint64(task), 1, names[task])
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("%s: %v", job, err)
			}
		}
		if des, err := os.ReadDir(filepath.Join(tr.jobDir(job), "succeed_tasks")); err != nil || len(des) != perJob {
			t.Fatalf("%s: %d published attempts (%v), want %d", job, len(des), err, perJob)
		}
	}
}

// TestPrepareAgainAsFailure: a lease prepared as a success and then again
// as a failure (its first Prepare's name not published) publishes a
// failed attempt without the first one's DONE, which would say it
// completed.
func TestPrepareAgainAsFailure(t *testing.T) {
	tr := newTracker(t)
	if err := tr.Append("j", 1, 1, []Record{{Key: "k"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Prepare(Attempt{Job: "j", Task: 1, Lease: 1, Worker: "w", Files: 1, Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	d, err := tr.Prepare(Attempt{Job: "j", Task: 1, Lease: 1, Worker: "w", Failed: []string{"k"}, Files: 1, Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Seal("j", 1, 1, d.Name); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(tr.dir, "j", d.Name)
	if _, err := os.Stat(filepath.Join(dir, "DONE")); err == nil {
		t.Fatalf("failed attempt %s holds the DONE of an earlier Prepare: %v", d.Name, onDisk(t, dir))
	}
	if got := onDisk(t, dir); !sameFiles(got, d.Files) {
		t.Fatalf("published %q, prepared %q", got, d.Files)
	}
}
