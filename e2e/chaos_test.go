package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc64"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store/s3test"
)

// TestChaos is a seeded, repeatable chaos run (as Jepsen's suites are for
// databases; issue 15): three worker hosts in network namespaces copy a
// job of small files and a few large ones (multipart uploads) to the S3
// test server through a proxy that answers 10% of the requests with 503
// SlowDown, while, for a set time, one fault at a time: a worker is killed
// with SIGKILL and started again; the master is killed with SIGKILL and
// started again with `start`; a host's link goes down for longer than a
// lease and comes back; a worker with a multipart upload under way is
// stopped (SIGKILL or SIGTERM) in the middle of a part and started again.
// Then the faults stop, the job's bandwidth limit (which kept it running
// through the faults) is lifted, and the job must succeed with:
//
//   - the bucket equal to the source (listing, sizes, SHA-256 of every
//     object read straight from the server) and nothing else in it;
//   - `stat --json` counting each entry once, the job Succeed;
//   - exactly one OK line per key across the succeed_tasks audit files;
//   - no unfinished multipart upload, no temporary object, no temporary
//     file in the source or any working directory.
//
// All randomness comes from one seed, printed first; FERRY_CHAOS_SEED=<n>
// injects the same faults again. FERRY_CHAOS_FILES, FERRY_CHAOS_LARGE,
// FERRY_CHAOS_LARGE_MIB and FERRY_CHAOS_MINUTES make it longer
// (bench/chaos.sh); by default it is the short run CI runs.
func TestChaos(t *testing.T) {
	p := chaosParamsFromEnv(t)
	t.Logf("chaos seed %d (FERRY_CHAOS_SEED=%d replays these faults): %d files + %d x %d MiB, %s of faults",
		p.seed, p.seed, p.files, p.large, p.largeSize>>20, p.duration)
	ch := newClusterHome(t, "chaos", 3)

	srv := s3test.Start(t)
	px := s3test.NewProxyOn(t, net.JoinHostPort(ch.c.BridgeAddr(), "0"), srv.URL, s3test.Faults{Rate503: 0.10, Seed: p.seed})
	ups := newUploadWatch()
	px.Watch(ups.seen)

	genStart := time.Now()
	total := chaosSource(t, ch.src, p)
	want := regular(snapshot(t, ch.src))
	t.Logf("source: %d entries, %d bytes, made in %s", len(want), total, time.Since(genStart).Round(time.Millisecond))
	// Held to a rate at which the job would take some 85% of the fault
	// period undisturbed, so that the faults hit a job at work.
	rate := max(int64(float64(total)/(0.85*p.duration.Seconds())), 64<<10)
	const prefix = "chaos/"
	ch.writeJob(ch.jobFile, append(s3Side("dest", srv, px.URL, srv.Bucket, prefix),
		kv{"taskObjectCountLimit", "50"}, kv{"multipartUploadThreshold", "8m"}, kv{"multipartUploadPartSize", "5m"},
		kv{"uploadThreadNumPerLargeFile", "2"}, kv{"maxThroughput", strconv.FormatInt(rate, 10)})...)

	mpid := ch.start()
	ch.mustDeploy()
	c := newChaos(t, ch, p.seed, mpid, ups)
	var faulted time.Duration
	defer func() {
		result := "PASS"
		if t.Failed() {
			result = "FAIL"
		}
		t.Logf("CHAOS seed=%d fault_minutes=%.2f total_minutes=%.2f entries=%d bytes=%d faults: %s 503s=%d result=%s",
			p.seed, faulted.Minutes(), time.Since(c.start).Minutes(), len(want), total, c.summary(), ups.injected503(), result)
	}()
	ch.must(30*time.Second, "submit", ch.jobFile)
	done := func() bool { return ch.statJSON().JobState == "Succeed" }
	c.run(p.duration, done)
	faulted = time.Since(c.start)
	c.heal()
	st := ch.statJSON()
	c.logf("faults over after %s; job %s %d/%d files; lifting its bandwidth limit", faulted.Round(time.Millisecond),
		st.JobState, st.FilesDone, st.FilesTotal)
	ch.must(30*time.Second, "throttle", ch.job, "0")
	defer chaosKeep(t, ch, p.seed)
	chaosWaitEnd(t, ch, 5*time.Minute)
	c.logf("job Succeed")
	t.Logf("chaos journal:\n  %s", strings.Join(c.journal, "\n  "))
	t.Logf("proxy: %s", px)

	// stat counts each entry once.
	st = ch.statJSON()
	n := int64(len(want))
	if st.JobState != "Succeed" || st.FilesDone != n || st.FilesTotal != n || st.FilesFailed != 0 || st.FilesSkipped != 0 ||
		st.BytesDone != total || st.BytesTotal != total {
		t.Errorf("stat --json: %+v; want Succeed, files %d/%d, bytes %d/%d, none failed or skipped", st, n, n, total, total)
	}
	if st.PendingTasks+st.DispatchedTasks+st.RunningTasks+st.FailedTasks != 0 {
		t.Errorf("stat --json: %+v; want every task succeeded", st)
	}
	// One OK line per key across succeed_tasks.
	as := ch.attempts()
	var ok []attempt
	resumed := 0
	for _, a := range as {
		if a.failed {
			t.Logf("failed attempt %s: %q", a.path, a.errors)
			continue
		}
		ok = append(ok, a)
		for _, r := range a.records {
			if strings.Contains(r.detail, "resumed=") {
				resumed++
			}
		}
	}
	if st.SucceedTasks != int64(len(ok)) {
		t.Errorf("stat says %d tasks succeeded, the working directory holds %d succeed_tasks attempts", st.SucceedTasks, len(ok))
	}
	checkOnce(t, "OK records across succeed_tasks", keyCounts(ok, "OK"), want)
	checkRecords(t, ok, want)
	t.Logf("%d task attempts (%d failed), %d re-leased; %d large files resumed an upload", len(as), len(as)-len(ok), reLeased(t, as), resumed)

	// The bucket is the source, and nothing else.
	got := map[string]s3Obj{}
	for k, o := range chaosBucket(t, srv) {
		rel, in := strings.CutPrefix(k, prefix)
		if !in || tempName.MatchString(filepath.Base(k)) {
			t.Errorf("bucket: unexpected object %q", k)
			continue
		}
		got[rel] = o
	}
	s3CheckBucket(t, want, got)
	if u := s3Uploads(t, srv, srv.Bucket); len(u) > 0 {
		t.Errorf("%d multipart uploads left unfinished: %q", len(u), head(u, 10))
	}
	// The source is untouched; no temporary file anywhere.
	if got := regular(snapshot(t, ch.src)); len(got) != len(want) {
		t.Errorf("the source has %d files after the run, %d before", len(got), len(want))
	}
	dirs := []string{ch.src, ch.workdir}
	for i := range ch.hosts {
		dirs = append(dirs, ch.remoteDir(i))
	}
	for _, d := range dirs {
		if left := tempFiles(t, d); len(left) > 0 {
			t.Errorf("temporary files left in %s: %q", d, head(left, 10))
		}
	}
	if left, _ := os.ReadDir(filepath.Join(ch.jobDir(), ".inflight")); len(left) > 0 {
		t.Errorf("%d in-flight audit directories left after the job finished", len(left))
	}
	// The faults did land.
	for _, k := range faultKinds {
		if c.counts[k] == 0 {
			t.Errorf("no %s fault was injected: the run did not test what it says", k)
		}
	}
	if ups.injected503() == 0 {
		t.Errorf("the proxy injected no 503")
	}
}

// tempName matches the names ferry gives temporary files (store/local:
// ".ferry-[tag-]<hex>.tmp"; deploy: ".<name>.new").
var tempName = regexp.MustCompile(`^\.ferry-.*\.tmp$|^\..*\.new$`)

// tempFiles lists the temporary files below root.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var left []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if tempName.MatchString(d.Name()) {
			left = append(left, p)
		}
		return nil
	})
	if err != nil {
		t.Errorf("walk %s: %v", root, err)
	}
	return left
}

// chaosSource writes the run's source below root: p.files small files
// (0 to 16 KiB, 100 to a directory) and p.large large ones among them,
// all from p.seed. It returns their total size.
func chaosSource(t *testing.T, root string, p chaosParams) int64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(p.seed, 0x5a11))
	var total int64
	buf := make([]byte, 16<<10)
	for i := range p.files {
		b := buf[:rng.IntN(len(buf)+1)]
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		path := filepath.Join(root, fmt.Sprintf("d%03d", i/100), fmt.Sprintf("f%05d.bin", i))
		if i%100 == 0 {
			mkdirs(t, filepath.Dir(path))
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		total += int64(len(b))
	}
	// Spread through the key order, so that uploads are under way through
	// the run rather than all in its first tasks.
	for i := range p.large {
		dir := fmt.Sprintf("d%03d", (i+1)*p.files/(p.large+1)/100)
		s3BigFile(t, filepath.Join(root, dir, fmt.Sprintf("large%02d.bin", i)), p.largeSize, byte(p.seed)+byte(i))
		total += p.largeSize
	}
	return total
}

// chaosWaitEnd waits until the job ends; unless it succeeded, it logs its
// failed entries (the FAIL lines of its failed attempts) and fails the test.
func chaosWaitEnd(t *testing.T, ch *clusterHome, timeout time.Duration) {
	t.Helper()
	var st jobStat
	deadline := time.Now().Add(timeout)
	for {
		st = ch.statJSON()
		if st.JobState == "Succeed" {
			return
		}
		if st.JobState == "Failed" || st.JobState == "Cancelled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not end within %s of the last fault (hang?): %+v", timeout, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, a := range ch.attempts() {
		if !a.failed {
			continue
		}
		for _, r := range a.records {
			if r.result == "FAIL" {
				t.Logf("%s: FAIL %q: %s", filepath.Base(a.path), r.key, r.detail)
			}
		}
	}
	t.Fatalf("job ended %s: %+v", st.JobState, st)
}

// chaosKeep copies, when the test failed, the master's working directory
// and the hosts' logs to $TMPDIR/ferry-chaos-<seed>-<time>/, which outlives
// the test's temporary directories.
func chaosKeep(t *testing.T, ch *clusterHome, seed uint64) {
	if !t.Failed() {
		return
	}
	dst := filepath.Join(os.TempDir(), fmt.Sprintf("ferry-chaos-%d-%s", seed, time.Now().Format("150405")))
	copies := [][2]string{{ch.workdir, filepath.Join(dst, "master")}}
	for i := range ch.hosts {
		copies = append(copies, [2]string{filepath.Join(ch.remoteDir(i), "logs"), filepath.Join(dst, fmt.Sprintf("host%d", i))})
	}
	for _, c := range copies {
		if out, err := exec.Command("cp", "-a", c[0], c[1]).CombinedOutput(); err != nil {
			t.Logf("keeping %s: %v: %s", c[0], err, out)
		}
	}
	t.Logf("the run's working directory and logs are kept in %s", dst)
}

// chaosBucket reads every object of srv's bucket, as s3Snapshot does, with
// one client for all (s3Snapshot's client per object runs out of file
// descriptors on 20,000 objects) and one GET each, whose response headers
// hold the metadata.
func chaosBucket(t *testing.T, srv *s3test.Server) map[string]s3Obj {
	t.Helper()
	c := s3Client(t, srv)
	ctx := context.Background()
	m := map[string]s3Obj{}
	for o := range c.ListObjects(ctx, srv.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s: %v", srv.Bucket, o.Err)
		}
		r, err := c.GetObject(ctx, srv.Bucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("get %q: %v", o.Key, err)
		}
		sh, cr := sha256.New(), crc64.New(crcTable)
		n, err := io.Copy(io.MultiWriter(sh, cr), r)
		info, serr := r.Stat()
		r.Close()
		if err != nil || serr != nil {
			t.Fatalf("get %q: %v %v", o.Key, err, serr)
		}
		m[o.Key] = s3Obj{size: n, sum: [32]byte(sh.Sum(nil)), crc: cr.Sum64(), info: info}
	}
	return m
}
