package e2e

import (
	"fmt"
	"hash/crc64"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store/s3test"
)

// Migration control end to end (issue 5): incremental rounds against the
// S3 test server and on a live local tree, update rules and the reasons
// of their skips, filters, mirror and maxDelete, throttling with two
// workers and `throttle` while the job runs, dry runs, and local
// metadata. Every test runs bin/ferry as a user would.

// ctlPuts counts the object writes that reached the server.
func ctlPuts(px *s3test.Proxy) int {
	return px.Count(s3test.KindPut) + px.Count(s3test.KindPart) + px.Count(s3test.KindCopy)
}

// TestControlIncrementalS3: an incremental job into a bucket copies
// everything in round 1; between rounds a file is added, one changed
// (same size, other bytes, new mtime), one only touched (same bytes, new
// mtime), one grown and one removed; the next round PUTs exactly the four
// new or changed ones (counted at the server), stat shows the round and
// when the next starts, verify finds only the removed key as EXTRA (mirror
// off). The job submitted again with mirror=true deletes it, copies
// nothing, and verify finds no difference.
func TestControlIncrementalS3(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{}) // counts requests
	h := newHome(t, "ctl-inc-s3")
	h.writeSys(kv{"incrementalMinInterval", "1"})
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	files := map[string]int{"a.txt": 100, "b.txt": 200, "c.txt": 300, "f.txt": 50, "d/e.txt": 400, "d/g.bin": 1000,
		"d/h i.txt": 10, "k/l/m.txt": 77, "n.txt": 0, "o.txt": 1, "p.dat": 4096, "q.txt": 33}
	for k, n := range files {
		ctlWriteAt(t, filepath.Join(h.src, k), ctlBody(n, k), base)
	}
	job := append(s3Side("dest", srv, px.URL, srv.Bucket, "inc/"), kv{"isIncremental", "true"}, kv{"incrementalModeInterval", "2"})
	h.writeJob(h.jobFile, job...)
	h.start()
	h.must(30*time.Second, "submit", h.jobFile)

	st := h.ctlWaitRound(1, time.Minute)
	if st.JobState != "Running" || st.FilesDone < int64(len(files)) || st.FilesFailed != 0 {
		t.Fatalf("after round 1: want the job Running with %d files done; stat %+v", len(files), st)
	}
	if n := ctlPuts(px); n != len(files) {
		t.Errorf("round 1 sent %d PUTs, want one per file, %d (%s)", n, len(files), px)
	}
	s3CheckBucket(t, regular(snapshot(t, h.src)), s3Snapshot(t, srv, srv.Bucket, "inc/"))
	// A round with nothing changed PUTs nothing, and asks nothing of the
	// objects either: the master's copied index and the listing's ETags
	// say they are the copies of the files as they are.
	heads := px.Count(s3test.KindHead)
	st = h.ctlWaitRound(st.Round+1, time.Minute)
	if n := ctlPuts(px); n != len(files) {
		t.Errorf("a round with no change sent %d PUTs (%d in all), want none", n-len(files), n)
	}
	if n := px.Count(s3test.KindHead) - heads; n != 0 {
		t.Errorf("a round with no change sent %d HEADs, want none (unchanged entries are skipped by the master)", n)
	}
	if st.FilesUnchanged < int64(len(files)) {
		t.Errorf("after a round with no change: %d entries counted unchanged, want all %d", st.FilesUnchanged, len(files))
	}
	heads = px.Count(s3test.KindHead)

	// Change the live source, each change in one step.
	tmp := filepath.Join(h.root, "tmp")
	mkdirs(t, tmp)
	ctlReplace(t, tmp, filepath.Join(h.src, "new/added.txt"), ctlBody(123, "added"), time.Now())
	ctlReplace(t, tmp, filepath.Join(h.src, "b.txt"), ctlBody(200, "b.txt v2"), base.Add(10*time.Second))                 // same size, other bytes, new mtime
	if err := os.Chtimes(filepath.Join(h.src, "c.txt"), base.Add(20*time.Second), base.Add(20*time.Second)); err != nil { // same size, same bytes, new mtime
		t.Fatal(err)
	}
	ctlReplace(t, tmp, filepath.Join(h.src, "d/e.txt"), ctlBody(401, "d/e.txt v2"), time.Now()) // grown
	if err := os.Remove(filepath.Join(h.src, "f.txt")); err != nil {
		t.Fatal(err)
	}
	changed := []string{"new/added.txt", "b.txt", "c.txt", "d/e.txt"}
	twice := map[string]bool{"b.txt": true, "c.txt": true, "d/e.txt": true}
	// The round under way may have seen part of the changes: wait for
	// one that started after all of them.
	round := st.Round
	st = h.ctlWaitRound(round+2, time.Minute)
	if n := ctlPuts(px) - len(files); n != len(changed) {
		t.Errorf("the rounds after the change sent %d PUTs, want %d, one per new or changed file %q (%s)", n, len(changed), changed, px)
	}
	// Only the changed files are asked about: before the copy (update
	// rules) and after it (isAuditAfterImport).
	if n := px.Count(s3test.KindHead) - heads; n > 2*len(changed) {
		t.Errorf("rounds %d..%d sent %d HEADs, want at most 2 per changed file (%d); the unchanged are skipped by the master",
			round+1, st.Round, n, 2*len(changed))
	}
	n, next, out := h.ctlStatRound()
	if n < 2 || next == "-" {
		t.Errorf("stat of an incremental job between rounds: want Round:N (N >= 2) and a NextRound time, got Round:%d NextRound:%s\n%s", n, next, out)
	} else if nt, err := time.Parse(time.RFC3339, next); err != nil || nt.Before(time.Now().Add(-5*time.Second)) || nt.After(time.Now().Add(10*time.Second)) {
		t.Errorf("stat: NextRound:%s is not a time within the 2 s interval (%v)", next, err)
	}
	if !strings.Contains(out, "JobState:Running") {
		t.Errorf("stat: want the incremental job Running:\n%s", out)
	}
	// The audit logs say the same: each changed key copied twice in all,
	// every other once, and each copy's bytes are the file's as it was.
	ok := keyCounts(h.attempts(), "OK")
	for k := range files {
		want := 1
		if twice[k] {
			want = 2
		}
		if ok[k] != want {
			t.Errorf("audit: %q copied (OK) %d times, want %d", k, ok[k], want)
		}
	}
	if ok["new/added.txt"] != 1 {
		t.Errorf("audit: new/added.txt copied %d times, want 1", ok["new/added.txt"])
	}
	want := regular(snapshot(t, h.src))
	got := s3Snapshot(t, srv, srv.Bucket, "inc/")
	if _, ok := got["f.txt"]; !ok {
		t.Errorf("with mirror off the removed f.txt must stay in the bucket")
	}
	delete(got, "f.txt")
	s3CheckBucket(t, want, got)

	v := h.verifyJob()
	if v.code != 1 || v.counts["match"] != int64(len(want)) || v.counts["missing"]+v.counts["different"] != 0 ||
		v.counts["extra"] != 1 || len(v.diffs) != 1 || v.diffs["f.txt"] != "EXTRA" {
		t.Errorf("verify with mirror off: want exit 1, %d matching and only f.txt EXTRA; got counts %v, report %v\n%s",
			len(want), v.counts, v.diffs, v.result)
	}
	h.must(time.Minute, "stop")

	// The same job with mirror=true: its first round deletes f.txt and
	// copies nothing (every object is there with the file's size and mtime).
	h.must(30*time.Second, "clean", "--force", h.job)
	puts, dels := ctlPuts(px), px.Count(s3test.KindDelete)
	h.writeJob(h.jobFile, append(job, kv{"mirror", "true"})...)
	h.start()
	h.must(30*time.Second, "submit", h.jobFile)
	st = h.ctlWaitRound(1, time.Minute)
	if n := px.Count(s3test.KindDelete) - dels; n != 1 || st.FilesDeleted != 1 {
		t.Errorf("mirror round: %d DELETEs, stat filesDeleted %d; want the one removed key deleted (%s)", n, st.FilesDeleted, px)
	}
	if n := ctlPuts(px) - puts; n != 0 {
		t.Errorf("mirror round: %d PUTs, want none (nothing changed)", n)
	}
	if st.FilesSkipped < int64(len(want)) || st.FilesSkipped != st.FilesDone {
		t.Errorf("mirror round: stat %+v, want all %d files skipped, none copied", st, len(want))
	}
	for _, a := range h.attempts() {
		for _, r := range a.records {
			if r.result != "SKIP" || !strings.Contains(r.detail, "size and mtime") {
				t.Errorf("mirror round: audit %s %q %q, want SKIP with its reason (same size and mtime)", r.result, r.key, r.detail)
			}
		}
	}
	if log := readString(t, filepath.Join(h.jobDir(), "deleted.log")); !regexp.MustCompile(`(?m)\tDELETE\t50\tf\.txt$`).MatchString(log) {
		t.Errorf("deleted.log does not record f.txt:\n%s", log)
	}
	s3CheckBucket(t, want, s3Snapshot(t, srv, srv.Bucket, "inc/"))
	h.ctlVerifyClean(len(want))
	h.must(time.Minute, "stop")
}

// TestControlChecksum: a file changed in place with its size and mtime
// kept (os.Chtimes back to the old time) fools isSkipExistFile but not
// updateMode=checksum, which copies exactly that file and skips the
// others, each SKIP with its reason.
func TestControlChecksum(t *testing.T) {
	t.Parallel()
	h := newHome(t, "ctl-checksum")
	base := time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	for i := 0; i < 30; i++ {
		k := fmt.Sprintf("d%d/f%02d.bin", i%3, i)
		ctlWriteAt(t, filepath.Join(h.src, k), ctlBody(500+i*37, k), base.Add(time.Duration(i)*time.Second))
	}
	h.ctlRunOK()

	sneaky := filepath.Join(h.src, "d1/f07.bin")
	mt := ctlMTime(t, sneaky)
	body := ctlBody(500+7*37, "sneaky")
	if err := os.WriteFile(sneaky, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(sneaky, mt, mt); err != nil {
		t.Fatal(err)
	}
	want := regular(snapshot(t, h.src))

	// isSkipExistFile sees the same size and mtime and misses it.
	h.must(30*time.Second, "clean", h.job)
	h.writeJob(h.jobFile, kv{"isSkipExistFile", "true"})
	h.ctlRunOK()
	if n := keyCounts(h.attempts(), "OK"); len(n) != 0 {
		t.Errorf("isSkipExistFile=true: copied %v, want nothing (size and mtime all match)", n)
	}
	if got := snapshot(t, h.dst)["d1/f07.bin"]; got.sum == want["d1/f07.bin"].sum {
		t.Fatalf("the destination already has the new content: the test changed nothing")
	}

	// updateMode=checksum compares CRC64s: exactly that file is copied.
	h.must(30*time.Second, "clean", h.job)
	h.writeJob(h.jobFile, kv{"updateMode", "checksum"})
	h.ctlRunOK()
	as := h.attempts()
	ok, skip := keyCounts(as, "OK"), keyCounts(as, "SKIP")
	if len(ok) != 1 || ok["d1/f07.bin"] != 1 {
		t.Errorf("updateMode=checksum, second run: OK lines %v, want exactly d1/f07.bin once", ok)
	}
	if len(skip) != len(want)-1 || skip["d1/f07.bin"] != 0 {
		t.Errorf("updateMode=checksum, second run: %d SKIP lines (%v), want the other %d files", len(skip), skip, len(want)-1)
	}
	for _, a := range as {
		for _, r := range a.records {
			if r.result == "SKIP" && !strings.Contains(r.detail, "crc64") {
				t.Errorf("SKIP %q: reason %q, want the checksum named", r.key, r.detail)
			}
		}
	}
	if st := h.stat(); st.files != int64(len(want)) || st.skipped != int64(len(want)-1) {
		t.Errorf("stat: %+v, want %d files of which %d skipped", st, len(want), len(want)-1)
	}
	checkTree(t, want, h.dst)
	h.ctlVerifyClean(len(want))
}

// TestControlFilters: include and exclude patterns (*, **, ?, classes, a
// negated class, an escaped character), size and modification-time
// bounds select exactly the expected keys, into a directory and into a
// bucket; stat counts the others as excluded.
func TestControlFilters(t *testing.T) {
	t.Parallel()
	for _, dest := range []string{"local", "s3"} {
		t.Run(dest, func(t *testing.T) {
			t.Parallel()
			h := newHome(t, "ctl-filters-"+dest)
			now := time.Now().Truncate(time.Second)
			after, before := now.Add(-time.Hour), now.Add(time.Hour)
			in := after.Add(time.Minute)
			type f struct {
				size  int
				mtime time.Time
				take  bool
			}
			files := map[string]f{
				"docs/a.md":           {10, in, true},  // docs/**
				"docs/sub/b.md":       {10, in, true},  // docs/** at depth
				"docs/[x] y.md":       {10, in, true},  // docs/**, awkward name
				"docs/sub/deep/c.pdf": {10, in, false}, // exclude docs/**/*.pdf
				"docs.md":             {10, in, false}, // not under docs/
				"src/main.go":         {10, in, true},  // src/*.go
				"src/main_test.go":    {10, in, false}, // exclude **/*_test.go
				"src/sub/util.go":     {10, in, false}, // * does not cross /
				"src/x.tmp":           {10, in, false}, // no include matches
				"data1.csv":           {10, in, true},  // data?.csv
				"data2.csv":           {10, in, true},
				"dataX.csv":           {10, in, false}, // exclude data[!0-9].csv
				"data10.csv":          {10, in, false}, // ? is one character
				"img/pic.JPG":         {10, in, true},  // img/*.[jJ][pP][gG]
				"img/pic.jpg":         {10, in, true},
				"img/pic.jpeg":        {10, in, false},
				"img/sub/pic.jpg":     {10, in, false},
				"HEAD":                {10, in, true},  // **/HEAD with no directory
				"x/y/HEAD":            {10, in, true},  // **/HEAD
				".git/HEAD":           {10, in, false}, // exclude **/.git/**
				"sub/.git/config":     {10, in, false},
				"lit/star*.md":        {10, in, true},  // lit/star\*.md
				"lit/starX.md":        {10, in, false}, // \* is a literal star
				"notes.txt":           {10, in, true},  // *.txt
				"dir/notes.txt":       {10, in, false}, // *.txt is top level only
				"tiny.txt":            {1, in, false},  // below minSize 2
				"empty.txt":           {0, in, false},
				"two.txt":             {2, in, true},      // minSize is inclusive
				"edge.txt":            {65536, in, true},  // maxSize 64K is inclusive
				"huge.txt":            {65537, in, false}, // above maxSize
				"old.txt":             {10, after.Add(-time.Second), false},
				"at.txt":              {10, after, true}, // modifiedAfter is inclusive
				"last.txt":            {10, before.Add(-time.Second), true},
				"future.txt":          {10, before, false}, // modifiedBefore is exclusive
			}
			want := map[string]fileInfo{}
			for k, x := range files {
				ctlWriteAt(t, filepath.Join(h.src, k), ctlBody(x.size, k), x.mtime)
			}
			all := regular(snapshot(t, h.src))
			for k, x := range files {
				if x.take {
					want[k] = all[k]
				}
			}
			job := []kv{
				{"include", `docs/**, src/*.go,data?.csv,img/*.[jJ][pP][gG],**/HEAD,lit/star\*.md,*.txt`},
				{"exclude", `**/*_test.go,docs/**/*.pdf,data[!0-9].csv,**/.git/**`},
				{"minSize", "2"}, {"maxSize", "64K"},
				{"modifiedAfter", after.UTC().Format(time.RFC3339)},
				{"modifiedBefore", strconv.FormatInt(before.Unix(), 10)},
			}
			var srv *s3test.Server
			if dest == "s3" {
				srv = s3test.Start(t)
				job = append(job, s3Side("dest", srv, srv.URL, srv.Bucket, "f/")...)
			}
			h.writeJob(h.jobFile, job...)
			h.ctlRunOK()
			if srv != nil {
				got := s3Snapshot(t, srv, srv.Bucket, "f/")
				s3CheckBucket(t, want, got)
			} else {
				checkTree(t, want, h.dst)
			}
			excluded := len(files) - len(want)
			out := h.must(30*time.Second, "stat", h.job)
			if !strings.Contains(out, fmt.Sprintf("Excluded:%d ", excluded)) {
				t.Errorf("stat: want `Excluded:%d` (%d files, %d taken):\n%s", excluded, len(files), len(want), out)
			}
			if st := h.ctlStatJSON(); st.FilesExcluded != int64(excluded) || st.FilesDone != int64(len(want)) || st.FilesTotal != int64(len(want)) {
				t.Errorf("stat --json: %+v, want %d excluded and %d/%d files", st, excluded, len(want), len(want))
			}
			checkOnce(t, "audit OK lines", keyCounts(h.attempts(), "OK"), want)
		})
	}
}

// TestControlMaxDelete: a mirror into a bucket holding 10 keys the source
// lacks, with maxDelete=5, fails naming maxDelete and deletes nothing;
// with maxDelete=10 it deletes exactly those 10, and never a key the
// exclude patterns cover.
func TestControlMaxDelete(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	h := newHome(t, "ctl-maxdelete")
	for i := 0; i < 5; i++ {
		k := fmt.Sprintf("keep%d.txt", i)
		writeFile(t, filepath.Join(h.src, k), k)
	}
	for i := 0; i < 10; i++ {
		s3Put(t, srv, srv.Bucket, fmt.Sprintf("m/gone/%02d.txt", i), []byte("old"), minio.PutObjectOptions{})
	}
	s3Put(t, srv, srv.Bucket, "m/logs/excluded.log", []byte("not mine"), minio.PutObjectOptions{}) // excluded: never deleted
	s3Put(t, srv, srv.Bucket, "elsewhere/x", []byte("outside destPrefix"), minio.PutObjectOptions{})
	before := s3Snapshot(t, srv, srv.Bucket, "")
	job := append(s3Side("dest", srv, px.URL, srv.Bucket, "m/"), kv{"mirror", "true"}, kv{"maxDelete", "5"}, kv{"exclude", "logs/**"})
	h.writeJob(h.jobFile, job...)

	r := h.ferry(2*time.Minute, "run", h.jobFile)
	if r.code != 1 || !strings.Contains(r.stdout, "job "+h.job+": Failed") || !strings.Contains(r.stdout, "maxDelete") {
		t.Errorf("mirror over maxDelete: want exit 1, the job Failed and an error naming maxDelete:\n%s", r)
	}
	st := h.ctlStatJSON()
	if st.JobState != "Failed" || !strings.Contains(st.Error, "maxDelete") || !strings.Contains(st.Error, "10") {
		t.Errorf("stat: state %s, error %q; want Failed with an error naming maxDelete and the 10 keys", st.JobState, st.Error)
	}
	if n := px.Count(s3test.KindDelete); n != 0 || st.FilesDeleted != 0 {
		t.Errorf("mirror over maxDelete sent %d DELETEs (stat filesDeleted %d), want none", n, st.FilesDeleted)
	}
	after := s3Snapshot(t, srv, srv.Bucket, "")
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("mirror over maxDelete deleted %q", k)
		}
	}

	// With room for them, exactly the 10 go.
	h.must(30*time.Second, "clean", h.job)
	h.writeJob(h.jobFile, s3Replace(job, kv{"maxDelete", "10"})...)
	h.ctlRunOK()
	if n := px.Count(s3test.KindDelete); n != 10 {
		t.Errorf("mirror within maxDelete sent %d DELETEs, want 10", n)
	}
	after = s3Snapshot(t, srv, srv.Bucket, "")
	var keys []string
	for k := range after {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	wantKeys := []string{"elsewhere/x", "m/keep0.txt", "m/keep1.txt", "m/keep2.txt", "m/keep3.txt", "m/keep4.txt", "m/logs/excluded.log"}
	if strings.Join(keys, " ") != strings.Join(wantKeys, " ") {
		t.Errorf("bucket after the mirror: %q, want %q", keys, wantKeys)
	}
	if st := h.ctlStatJSON(); st.FilesDeleted != 10 {
		t.Errorf("stat: filesDeleted %d, want 10", st.FilesDeleted)
	}
}

// TestControlThrottle: a job limit shared by TWO workers (the master's
// local worker and a second `ferry worker` process) holds within 10% over
// a 20-second transfer, measured from the bytes arriving in the
// destination directory; `throttle` to twice the rate while it runs
// raises the measured rate, without a restart.
func TestControlThrottle(t *testing.T) {
	t.Parallel()
	const (
		limit  = 2 << 20   // maxThroughput=2M
		raised = 4 << 20   // throttle 4MB
		size   = 128 << 10 // small files: little in flight at any time
		files  = 1200      // 150 MiB: more than the test copies
	)
	h := newHome(t, "ctl-throttle")
	h.writeSys(kv{"workerTaskThreadNum", "4"}, kv{"workerMaxTaskNum", "2"})
	for i := 0; i < files; i++ {
		k := fmt.Sprintf("d%d/f%04d.bin", i%8, i)
		writeFile(t, filepath.Join(h.src, k), string(ctlBody(size, k)))
	}
	h.writeJob(h.jobFile, kv{"maxThroughput", "2M"}, kv{"taskObjectCountLimit", "8"})
	h.start() // with its local worker
	w2, w2done := h.ctlStartWorker("w2")
	s := ctlSampleDir(h.dst, 200*time.Millisecond)
	defer s.close()
	h.must(30*time.Second, "submit", h.jobFile)

	waitFor(t, 30*time.Second, "the first bytes at the destination", func() bool { return s.last().bytes > 0 })
	time.Sleep(3 * time.Second) // both workers hold leases and have their shares
	ws := h.must(30*time.Second, "stat", "--workers", h.job)
	t0 := time.Now()
	time.Sleep(20 * time.Second)
	t1 := time.Now()
	r1, n1 := s.rate(t0, t1)
	t.Logf("limit %s: measured %s (least squares over %d samples; end points %s)", mib(limit), mib(r1), n1, mib(s.ends(t0, t1)))
	if !(r1 <= 1.10*limit && r1 > 0.5*limit) {
		t.Errorf("maxThroughput=2M with two workers: measured %s over 20 s, want at most %s (limit + 10%%) and above %s",
			mib(r1), mib(1.10*limit), mib(0.5*limit))
	}
	if !regexp.MustCompile(`(?m)^local\s+\S+\s+alive\b`).MatchString(ws) || !regexp.MustCompile(`(?m)^w2\s+\S+\s+alive\b`).MatchString(ws) {
		t.Errorf("stat --workers: want the local worker and w2 alive:\n%s", ws)
	}

	out := h.must(30*time.Second, "throttle", h.job, "4MB")
	if out != "job "+h.job+": limited to 4.0MB/s\n" {
		t.Errorf("throttle printed %q", out)
	}
	time.Sleep(2 * time.Second) // shares reach the workers within about a second
	t2 := time.Now()
	time.Sleep(8 * time.Second)
	t3 := time.Now()
	r2, n2 := s.rate(t2, t3)
	t.Logf("throttled to %s while running: measured %s (least squares over %d samples; end points %s)", mib(raised), mib(r2), n2, mib(s.ends(t2, t3)))
	if !(r2 <= 1.10*raised && r2 > 1.4*r1) {
		t.Errorf("after `throttle %s 4MB`: measured %s, want at most %s and clearly above the %s before",
			h.job, mib(r2), mib(1.10*raised), mib(r1))
	}
	st := h.ctlStatJSON()
	if st.LimitBytesPerS != raised || st.JobState != "Running" {
		t.Errorf("stat after throttle: limitBytesPerSec %d, state %s; want %d and Running", st.LimitBytesPerS, st.JobState, raised)
	}

	// w2 leaves (SIGTERM: it hands its leases back): the local worker
	// now gets the whole limit, and the total still holds.
	if err := w2.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w2done:
	case <-time.After(30 * time.Second):
		t.Fatalf("worker w2 did not stop on SIGTERM")
	}
	time.Sleep(2 * time.Second)
	t4 := time.Now()
	time.Sleep(6 * time.Second)
	t5 := time.Now()
	r3, n3 := s.rate(t4, t5)
	t.Logf("one worker left, limit %s: measured %s (least squares over %d samples; end points %s)", mib(raised), mib(r3), n3, mib(s.ends(t4, t5)))
	if !(r3 <= 1.10*raised && r3 > 0.65*raised) {
		t.Errorf("with w2 gone the local worker should carry the whole limit: measured %s, want at most %s and above %s",
			mib(r3), mib(1.10*raised), mib(0.65*raised))
	}
	if st := h.ctlStatJSON(); st.FilesDone >= files || st.JobState != "Running" {
		t.Errorf("the job ended during the measurement (%+v): the measure is meaningless", st)
	}
	h.must(time.Minute, "stop")
	by := workersOf(h.attempts())
	total := 0
	for _, n := range by {
		total += n
	}
	t.Logf("tasks completed per worker: %v", by)
	if by["local"]*5 < total || by["w2"]*5 < total {
		t.Errorf("tasks per worker %v: want both workers to have copied a fair part (at least a fifth each)", by)
	}
}

// TestControlWorkerMaxThroughput: workerMaxThroughput(KB/s) holds one
// worker to its rate: 4 MiB at 1024 KB/s take about 4 seconds.
func TestControlWorkerMaxThroughput(t *testing.T) {
	t.Parallel()
	h := newHome(t, "ctl-worker-rate")
	h.writeSys(kv{"workerMaxThroughput(KB/s)", "1024"})
	for i := 0; i < 16; i++ {
		k := fmt.Sprintf("f%02d", i)
		writeFile(t, filepath.Join(h.src, k), string(ctlBody(256<<10, k)))
	}
	r := h.ctlRunOK()
	t.Logf("4 MiB at workerMaxThroughput 1024 KB/s: %s", r.took)
	if r.took < 3500*time.Millisecond {
		t.Errorf("4 MiB copied in %s at workerMaxThroughput(KB/s)=1024: faster than the limit allows (about 4 s)", r.took)
	}
	checkTree(t, regular(snapshot(t, h.src)), h.dst)
}

// TestControlSchedule: throughputSchedule's window covering the master's
// clock now is the limit in force (stat shows it), and the copy keeps to
// it: 4 MiB at 2 MiB/s take about 2 seconds.
func TestControlSchedule(t *testing.T) {
	t.Parallel()
	h := newHome(t, "ctl-schedule")
	for i := 0; i < 16; i++ {
		k := fmt.Sprintf("f%02d", i)
		writeFile(t, filepath.Join(h.src, k), string(ctlBody(256<<10, k)))
	}
	now := time.Now() // the master runs on this host, in this time zone
	a, b := now.Add(-time.Hour).Format("15:04"), now.Add(time.Hour).Format("15:04")
	sched := fmt.Sprintf("%s-%s=2MB,%s-%s=64KB", a, b, b, a)
	h.writeJob(h.jobFile, kv{"throughputSchedule", sched}, kv{"maxThroughput", "1K"})
	r := h.ctlRunOK()
	t.Logf("4 MiB under throughputSchedule=%s: %s", sched, r.took)
	if r.took < 1800*time.Millisecond || r.took > 30*time.Second {
		t.Errorf("4 MiB at the window's 2 MiB/s took %s, want about 2 s", r.took)
	}
	if st := h.ctlStatJSON(); st.LimitBytesPerS != 2<<20 {
		t.Errorf("stat: limitBytesPerSec %d, want the window's 2 MiB/s (%d)", st.LimitBytesPerS, 2<<20)
	}
	checkTree(t, regular(snapshot(t, h.src)), h.dst)
}

// TestControlRequestRate: maxRequestsPerSecond bounds every store request
// the copying makes, source and destination together: 30 objects copied
// between two prefixes of one server through a counting proxy, at 20
// requests per second, send at most 20 (+10%) per second over the copy.
// The two prefixes are on one server under one key, so the copies are
// server-side: each CopyObject and the HEAD after it count too.
func TestControlRequestRate(t *testing.T) {
	t.Parallel()
	const rps, n = 20, 30
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	h := newHome(t, "ctl-rps")
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("f%02d", i)
		// With ferry's CRC64, as objects ferry copied carry it: the copy,
		// made on the server, keeps it, and the check below wants it.
		meta := map[string]string{"ferry-crc64": fmt.Sprintf("%016x", crc64.Checksum([]byte(k), crcTable))}
		s3Put(t, srv, srv.Bucket, "in/"+k, []byte(k), minio.PutObjectOptions{UserMetadata: meta})
	}
	h.writeJob(h.jobFile, append(append(s3Side("src", srv, px.URL, srv.Bucket, "in/"), s3Side("dest", srv, px.URL, srv.Bucket, "out/")...),
		kv{"maxRequestsPerSecond", strconv.Itoa(rps)})...)
	px.SetFaults(s3test.Faults{}) // count from here
	r := h.ctlRunOK()
	total := 0
	for _, k := range []string{s3test.KindGet, s3test.KindHead, s3test.KindPut, s3test.KindPart, s3test.KindCopy,
		s3test.KindCreate, s3test.KindComplete, s3test.KindDelete, s3test.KindOther} {
		total += px.Count(k) // not the master's listings: the limit is on copying
	}
	rate := float64(total) / r.took.Seconds()
	t.Logf("%d objects at maxRequestsPerSecond=%d: %d requests in %s = %.1f/s (%s)", n, rps, total, r.took, rate, px)
	if rate > 1.10*rps {
		t.Errorf("maxRequestsPerSecond=%d: %d requests in %s, %.1f per second", rps, total, r.took, rate)
	}
	s3CheckBucket(t, s3FileInfos(s3Snapshot(t, srv, srv.Bucket, "in/")), s3Snapshot(t, srv, srv.Bucket, "out/"))
}

// TestControlDryRun: `submit --dry-run` prints the counts and first keys
// of what would be copied, skipped, excluded and deleted, and writes
// nothing: no working directory, the destination untouched (into a
// directory), no write request (into a bucket).
func TestControlDryRun(t *testing.T) {
	t.Parallel()
	h := newHome(t, "ctl-dry")
	old := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := 0; i < 6; i++ {
		ctlWriteAt(t, filepath.Join(h.src, fmt.Sprintf("new%d.txt", i)), ctlBody(100, strconv.Itoa(i)), old)
	}
	ctlWriteAt(t, filepath.Join(h.src, "same.txt"), []byte("same"), old)
	ctlWriteAt(t, filepath.Join(h.src, "skip.tmp"), []byte("excluded"), old)
	ctlWriteAt(t, filepath.Join(h.dst, "same.txt"), []byte("same"), old)
	ctlWriteAt(t, filepath.Join(h.dst, "stale.txt"), []byte("gone from the source"), old)
	ctlWriteAt(t, filepath.Join(h.dst, "sub/stale2.txt"), []byte("also gone"), old)
	job := []kv{{"isSkipExistFile", "true"}, {"mirror", "true"}, {"exclude", "*.tmp"}}
	h.writeJob(h.jobFile, job...)
	dstBefore := snapshot(t, h.dst)
	mtimes := map[string]time.Time{}
	for k := range regular(dstBefore) {
		mtimes[k] = ctlMTime(t, filepath.Join(h.dst, k))
	}

	out := h.must(time.Minute, "submit", "--dry-run", h.jobFile)
	counts := regexp.MustCompile(`(?m)^\s+(copy|skip|exclude|delete)\s+(\d+) entries\s+(\S+)$`).FindAllStringSubmatch(out, -1)
	got := map[string]string{}
	for _, m := range counts {
		got[m[1]] = m[2] + " " + m[3]
	}
	wantCounts := map[string]string{"copy": "6 600B", "skip": "1 4B", "exclude": "1 8B", "delete": "2 29B"}
	for k, w := range wantCounts {
		if got[k] != w {
			t.Errorf("dry run: %s %q, want %q entries and bytes:\n%s", k, got[k], w, out)
		}
	}
	for _, k := range []string{"new0.txt", "same.txt", "skip.tmp", "stale.txt", "sub/stale2.txt", "and 1 more"} {
		if !strings.Contains(out, k) {
			t.Errorf("dry run: the first keys of each kind should include %q:\n%s", k, out)
		}
	}
	if _, err := os.Stat(h.workdir); !os.IsNotExist(err) {
		t.Errorf("dry run created the working directory %s (%v)", h.workdir, err)
	}
	if after := snapshot(t, h.dst); fmt.Sprint(after) != fmt.Sprint(dstBefore) {
		t.Errorf("dry run changed the destination:\nbefore %v\nafter  %v", dstBefore, after)
	}
	for k, m := range mtimes {
		if got := ctlMTime(t, filepath.Join(h.dst, k)); !got.Equal(m) {
			t.Errorf("dry run changed the mtime of %q", k)
		}
	}

	// Into a bucket: nothing but reads reaches the server.
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	s3Put(t, srv, srv.Bucket, "b/stale.txt", []byte("x"), minio.PutObjectOptions{})
	h.writeJob(h.jobFile, append(job, s3Side("dest", srv, px.URL, srv.Bucket, "b/")...)...)
	out = h.must(time.Minute, "submit", "--dry-run", h.jobFile)
	if !regexp.MustCompile(`(?m)^\s+copy\s+7 entries`).MatchString(out) || !regexp.MustCompile(`(?m)^\s+delete\s+1 entries`).MatchString(out) {
		t.Errorf("dry run into a bucket: want 7 to copy and 1 to delete:\n%s", out)
	}
	for _, k := range []string{s3test.KindPut, s3test.KindPart, s3test.KindCopy, s3test.KindCreate, s3test.KindDelete, s3test.KindComplete} {
		if n := px.Count(k); n != 0 {
			t.Errorf("dry run into a bucket sent %d %s requests (%s)", n, k, px)
		}
	}
	if keys := s3Snapshot(t, srv, srv.Bucket, ""); len(keys) != 1 {
		t.Errorf("dry run into a bucket changed it: %d objects", len(keys))
	}
	if _, err := os.Stat(h.workdir); !os.IsNotExist(err) {
		t.Errorf("dry run created the working directory %s (%v)", h.workdir, err)
	}
}

// TestControlSkipReasons: each update rule decides as documented for the
// same six situations, and every skip is a SKIP audit line carrying its
// reason, counted in stat's Skipped.
func TestControlSkipReasons(t *testing.T) {
	t.Parallel()
	t0 := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	t1 := t0.Add(time.Hour)
	type side struct {
		body  string
		mtime time.Time
	}
	// key -> source, destination (nil: missing there)
	cases := map[string][2]*side{
		"same.txt":     {{"0123456789", t0}, {"0123456789", t0}},
		"samemeta.txt": {{"ABCDEFGHIJ", t0}, {"0123456789", t0}}, // same size and mtime, other bytes
		"touched.txt":  {{"0123456789", t1}, {"0123456789", t0}}, // same bytes, source newer
		"older.txt":    {{"ABCDEFGHIJ", t0}, {"0123456789", t1}}, // other bytes, source older
		"bigger.txt":   {{"0123456789+", t0}, {"0123456789", t0}},
		"new.txt":      {{"fresh", t0}, nil},
	}
	// What each rule does with each key: "" copy, else a word its SKIP
	// reason must hold.
	rules := []struct {
		name string
		job  []kv
		skip map[string]string
	}{
		{"isSkipExistFile", []kv{{"isSkipExistFile", "true"}},
			map[string]string{"same.txt": "size and mtime", "samemeta.txt": "size and mtime"}},
		{"never", []kv{{"updateMode", "never"}},
			map[string]string{"same.txt": "never", "samemeta.txt": "never", "touched.txt": "never", "older.txt": "never", "bigger.txt": "never"}},
		{"newer", []kv{{"updateMode", "newer"}},
			map[string]string{"same.txt": "newer", "samemeta.txt": "newer", "older.txt": "newer", "bigger.txt": "newer"}},
		{"size", []kv{{"updateMode", "size"}},
			map[string]string{"same.txt": "size", "samemeta.txt": "size", "touched.txt": "size", "older.txt": "size"}},
		{"checksum", []kv{{"updateMode", "checksum"}},
			map[string]string{"same.txt": "crc64", "touched.txt": "crc64"}},
		{"skipexist+checksum", []kv{{"isSkipExistFile", "true"}, {"updateMode", "checksum"}},
			map[string]string{"same.txt": "size and mtime", "samemeta.txt": "size and mtime", "touched.txt": "crc64"}},
	}
	for _, rule := range rules {
		t.Run(rule.name, func(t *testing.T) {
			t.Parallel()
			h := newHome(t, "ctl-skip-"+strings.ReplaceAll(rule.name, "+", "-"))
			for k, c := range cases {
				ctlWriteAt(t, filepath.Join(h.src, k), []byte(c[0].body), c[0].mtime)
				if c[1] != nil {
					ctlWriteAt(t, filepath.Join(h.dst, k), []byte(c[1].body), c[1].mtime)
				}
			}
			h.writeJob(h.jobFile, rule.job...)
			h.ctlRunOK()
			recs := ctlAuditOf(h.attempts())
			for k, c := range cases {
				rs := recs[k]
				if len(rs) != 1 {
					t.Errorf("%q: %d audit lines, want 1: %+v", k, len(rs), rs)
					continue
				}
				r := rs[0]
				word, skipped := rule.skip[k]
				dst := readString(t, filepath.Join(h.dst, k))
				switch {
				case skipped && r.result != "SKIP":
					t.Errorf("%q: %s %q, want SKIP (reason with %q)", k, r.result, r.detail, word)
				case skipped && !strings.Contains(r.detail, word):
					t.Errorf("%q: SKIP with reason %q, want a reason naming %q", k, r.detail, word)
				case skipped && c[1] != nil && dst != c[1].body:
					t.Errorf("%q: skipped but the destination changed to %q", k, dst)
				case !skipped && r.result != "OK":
					t.Errorf("%q: %s %q, want it copied (OK)", k, r.result, r.detail)
				case !skipped && dst != c[0].body:
					t.Errorf("%q: copied but the destination holds %q", k, dst)
				}
			}
			if st := h.stat(); st.files != int64(len(cases)) || st.skipped != int64(len(rule.skip)) {
				t.Errorf("stat: %+v, want %d files of which %d skipped", st, len(cases), len(rule.skip))
			}
		})
	}
}

// TestControlPreserveMetadata: a local destination keeps each file's mode
// bits and mtime; with preserveMetadata=false files get the mode new
// files get (umask) and the time of the copy.
func TestControlPreserveMetadata(t *testing.T) {
	t.Parallel()
	umask := ctlUmask(t)
	old := time.Date(2020, 2, 29, 12, 34, 56, 789000000, time.UTC)
	modes := map[string]os.FileMode{"private": 0o600, "script.sh": 0o755, "group": 0o640, "d/ro": 0o444, "d/plain": 0o644}
	for _, preserve := range []bool{true, false} {
		t.Run(fmt.Sprint("preserveMetadata=", preserve), func(t *testing.T) {
			t.Parallel()
			h := newHome(t, fmt.Sprint("ctl-meta-", preserve))
			for k, m := range modes {
				p := filepath.Join(h.src, k)
				ctlWriteAt(t, p, []byte(k), old)
				if err := os.Chmod(p, m); err != nil {
					t.Fatal(err)
				}
			}
			h.writeJob(h.jobFile, kv{"preserveMetadata", strconv.FormatBool(preserve)})
			start := time.Now().Add(-time.Second)
			h.ctlRunOK()
			for k, m := range modes {
				fi, err := os.Stat(filepath.Join(h.dst, k))
				if err != nil {
					t.Error(err)
					continue
				}
				wantMode := m
				if !preserve {
					wantMode = 0o666 &^ umask
				}
				if fi.Mode().Perm() != wantMode {
					t.Errorf("%q: mode %v, want %v (source %v)", k, fi.Mode().Perm(), wantMode, m)
				}
				switch {
				case preserve && !fi.ModTime().Equal(old):
					t.Errorf("%q: mtime %s, want the source's %s", k, fi.ModTime(), old)
				case !preserve && fi.ModTime().Before(start):
					t.Errorf("%q: mtime %s, want the time of the copy (after %s)", k, fi.ModTime(), start)
				}
			}
			checkTree(t, regular(snapshot(t, h.src)), h.dst)
		})
	}
}

// TestControlAcceptance, the walk-through of issue 5 (cheap version): a
// live local tree is migrated by an incremental mirror job; between
// rounds files are added, changed (one replaced by a different-size
// version carrying an old mtime, as `cp -p` leaves it), renamed, removed,
// a whole directory removed; after the final round verify finds zero
// differences and the destination is the source, byte for byte.
func TestControlAcceptance(t *testing.T) {
	t.Parallel()
	h := newHome(t, "ctl-accept")
	h.writeSys(kv{"incrementalMinInterval", "1"})
	old := time.Now().Add(-30 * 24 * time.Hour).Truncate(time.Second)
	for i := 0; i < 40; i++ {
		k := fmt.Sprintf("dir%d/file%02d.dat", i%4, i)
		ctlWriteAt(t, filepath.Join(h.src, k), ctlBody(200+i*50, k), old.Add(time.Duration(i)*time.Minute))
	}
	h.writeJob(h.jobFile, kv{"isIncremental", "true"}, kv{"incrementalModeInterval", "2"}, kv{"mirror", "true"}, kv{"maxDelete", "100"})
	h.start()
	h.must(30*time.Second, "submit", h.jobFile)
	st := h.ctlWaitRound(1, time.Minute)
	checkTree(t, regular(snapshot(t, h.src)), h.dst)

	tmp := filepath.Join(h.root, "tmp")
	mkdirs(t, tmp)
	src := func(k string) string { return filepath.Join(h.src, filepath.FromSlash(k)) }
	// Changes between rounds, as a live system makes them.
	ctlReplace(t, tmp, src("dir0/file00.dat"), ctlBody(200, "v2"), time.Now())                // same size, new content
	ctlReplace(t, tmp, src("dir1/file01.dat"), ctlBody(999, "restored"), old.Add(-time.Hour)) // cp -p of an older file: old mtime, other size
	ctlReplace(t, tmp, src("new/one.txt"), []byte("one"), time.Now())
	ctlReplace(t, tmp, src("dir2/added two.txt"), []byte("two"), time.Now())
	if err := os.Rename(src("dir3/file03.dat"), src("dir0/renamed.dat")); err != nil { // mv keeps the mtime
		t.Fatal(err)
	}
	for _, k := range []string{"dir2/file02.dat", "dir2/file06.dat"} {
		if err := os.Remove(src(k)); err != nil {
			t.Fatal(err)
		}
	}
	st = h.ctlWaitRound(st.Round+2, time.Minute)
	checkTree(t, regular(snapshot(t, h.src)), h.dst)
	h.ctlVerifyClean(len(regular(snapshot(t, h.src))))

	// More changes: a whole directory goes, names with spaces and
	// non-ASCII arrive, a file shrinks to nothing.
	if err := os.RemoveAll(src("dir1")); err != nil {
		t.Fatal(err)
	}
	ctlReplace(t, tmp, src("über/naïve file.txt"), []byte("unicode"), time.Now())
	ctlReplace(t, tmp, src("dir0/file04.dat"), nil, time.Now())
	st = h.ctlWaitRound(st.Round+2, time.Minute)

	want := regular(snapshot(t, h.src))
	checkTree(t, want, h.dst)
	h.ctlVerifyClean(len(want))
	// 2 removed, 1 renamed away and the 10 files of dir1 (one of them
	// replaced before) were deleted at the destination.
	if st.FilesDeleted != 13 || st.FilesFailed != 0 {
		t.Errorf("stat: %+v, want 13 deleted and none failed", st)
	}
	h.must(time.Minute, "stop")
}
