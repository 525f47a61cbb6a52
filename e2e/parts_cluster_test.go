package e2e

import (
	"context"
	"fmt"
	"hash/crc64"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store/s3test"
)

// TestPartTasksCluster is issue 17's acceptance of part tasks, on three
// hosts (network namespaces) whose links are each held to one rate both
// ways, as three machines with one network card each. One large file goes
// to a local destination (read from the S3 test server, so that its bytes
// cross the hosts' links) and one to the S3 test server (read from a
// local file), both through a proxy on the bridge that counts the bytes of
// every request. For each destination:
//
//   - with one worker, then with three, the file is copied byte for byte,
//     its CRC64 (the final audit record's, and the destination's own) the
//     source's, each range's bytes across the network once;
//   - with three, range tasks are completed by all three workers; the
//     copy's time against one worker's is logged, and asserted at most
//     0.45x with FERRY_PARTS_TIMED=1 (bench/parts.sh): speed is measured
//     by benchmarks, not by a suite sharing the CPU with other tests;
//   - with three, a worker holding a range is killed with SIGKILL when it
//     has sent some of its parts: the job succeeds, every other range's
//     bytes crossed the network exactly once, and the killed range's were
//     sent again only from its first part not saved (at most its parts in
//     flight and one more), as the re-leased task resumed after the parts
//     its dead holder saved.
//
// Time. A copy's time runs from submit to stat saying Succeed. To an
// object store, the final task's completion of the upload and its copy of
// the object onto itself (adding the CRC64 to its metadata, unknown when
// the upload began) are the server's work, the same whatever the number
// of workers; the S3 test server does both in memory, copying and hashing
// the whole object (some 3 s for 240 MiB here, under load), where a real
// server completes an upload in a time that does not grow so with its
// size. The ratio is taken without the time the server took to answer
// those two requests (measured at the proxy, for both copies); the log
// gives both.
//
// Size. Issue 17 asks for 2 GiB at 200 Mbit/s (one worker: some 86 s a
// file); CI runs 240 MiB at 100 Mbit/s (one worker: some 20 s), in 8
// ranges of 30 MiB, against 17 ranges of 125 MiB at 2 GiB. The fixed
// costs of a copy (scan, prepare and final tasks, leases) weigh more in
// the shorter run, so the 0.45 bound is harder to meet there.
// FERRY_PARTS_MIB=2048 FERRY_PARTS_MBIT=200 runs the acceptance size.
//
// Each worker holds one task at a time (workerMaxTaskNum=1): a worker
// holding two ranges shares its link between them, and when the last
// ranges go to one worker two by two the copy takes longer than its
// share; with one, three workers take the ranges in turns.
func TestPartTasksCluster(t *testing.T) {
	p := partsParamsFromEnv(t)
	ch := newClusterHome(t, "parts", 3, kv{"workerMaxTaskNum", "1"})
	for i := range ch.hosts {
		ch.c.Shape(i, p.rate)
	}
	srv := s3test.Start(t)
	srv.CreateBucket(t, "src")
	px := s3test.NewProxyOn(t, net.JoinHostPort(ch.c.BridgeAddr(), "0"), srv.URL, s3test.Faults{})
	tally := &rangeTally{}
	px.Watch(tally.seen)

	genStart := time.Now()
	local := filepath.Join(ch.src, "big.bin")
	_, crc := s3BigFile(t, local, p.size, 17)
	if _, err := s3Client(t, srv).FPutObject(context.Background(), "src", "in/big.bin", local,
		minio.PutObjectOptions{DisableContentSha256: true, PartSize: 64 << 20}); err != nil {
		t.Fatalf("put the source object: %v", err)
	}
	t.Logf("%s file (CRC64 %016x) made and put in %s; links at %d Mbit/s each way",
		inMiB(p.size), crc, time.Since(genStart).Round(time.Millisecond), p.rate/1_000_000)

	ch.start()
	ch.writeWorkers(ch.hostLines()[0])
	if r, lines := ch.deploy(); r.code != 0 || !strings.HasPrefix(lines[ch.hostLines()[0]], "OK") {
		t.Fatalf("deploy to host 0: want exit 0 and an OK line:\n%s", r)
	}
	dests := []string{"local", "s3"}
	one := map[string][2]time.Duration{}
	for _, d := range dests {
		one[d] = partsCopy(t, ch, srv, px, tally, p, crc, d, "1w-"+d, 1)
	}
	ch.writeWorkers(ch.hostLines()...)
	ch.mustDeploy()
	for _, d := range dests {
		three := partsCopy(t, ch, srv, px, tally, p, crc, d, "3w-"+d, 3)
		r := (three[0] - three[1]).Seconds() / (one[d][0] - one[d][1]).Seconds()
		t.Logf("PARTS %s: %s, one worker %s, three %s: %.2fx (%.2fx with the server's %s and %s on the completion)", d, inMiB(p.size),
			(one[d][0] - one[d][1]).Round(time.Millisecond), (three[0] - three[1]).Round(time.Millisecond), r,
			three[0].Seconds()/one[d][0].Seconds(), one[d][1].Round(time.Millisecond), three[1].Round(time.Millisecond))
		// One worker's share of its link says whether the link or the
		// machine (CPU shared with other work) held the copies back.
		share := float64(p.size) * 8 / (one[d][0] - one[d][1]).Seconds() / float64(p.rate)
		t.Logf("PARTS %s: one worker moved the file at %.0f%% of its link's rate", d, 100*share)
		// The bound is a speed figure: asserted when the run is a
		// measurement (FERRY_PARTS_TIMED=1, as bench/parts.sh sets), only
		// logged in the test suite, where other tests share the CPU.
		if r > 0.45 && os.Getenv("FERRY_PARTS_TIMED") == "1" {
			t.Errorf("%s: three workers took %.2fx the time of one (%s against %s, without the server's completion), want at most 0.45x "+
				"(one worker used %.0f%% of its link: below some 80%%, this machine's CPU, not the links, set the pace)",
				d, r, three[0]-three[1], one[d][0]-one[d][1], 100*share)
		}
	}
	for _, d := range dests {
		partsKill(t, ch, srv, px, tally, p, crc, d, "kill-"+d)
		ch.mustDeploy() // the killed host's worker back
	}
}

// partsJob writes conf/<name>.cfg for a copy of the big file to dest
// ("local" or "s3"), makes it ch's job and returns its file and the
// key of the split file at the proxy.
func partsJob(ch *clusterHome, srv *s3test.Server, px *s3test.Proxy, p partsParams, dest, name string) (file, key string) {
	ch.job = name
	file = filepath.Join(ch.dir, "conf", name+".cfg")
	over := []kv{{"jobName", name}, {"splitFileThreshold", "16m"}, {"multipartUploadPartSize", strconv.FormatInt(p.unit, 10)},
		{"uploadThreadNumPerLargeFile", "2"}}
	if dest == "local" {
		over = append(over, s3Side("src", srv, px.URL, "src", "in/")...)
		over = append(over, kv{"destPrefix", filepath.Join(ch.root, name)})
		key = "in/big.bin"
	} else {
		over = append(over, s3Side("dest", srv, px.URL, srv.Bucket, name+"/")...)
		key = name + "/big.bin"
	}
	ch.writeJob(file, over...)
	return file, key
}

// partsCopy copies the big file to dest with job name and workers workers
// deployed, checks the copy and returns the time from submit to Succeed
// and, of it, the server's on the completion.
func partsCopy(t *testing.T, ch *clusterHome, srv *s3test.Server, px *s3test.Proxy, tally *rangeTally, p partsParams, crc uint64, dest, name string, workers int) [2]time.Duration {
	t.Helper()
	file, key := partsJob(ch, srv, px, p, dest, name)
	kind, _ := partsCarrier(dest)
	tally.follow(kind, key, p.size, p.unit, 0)
	start := time.Now()
	ch.must(30*time.Second, "submit", file)
	partsWait(t, ch, 10*time.Minute)
	took := time.Since(start)
	partsCheck(t, ch, srv, p, crc, dest, name)
	ranges, sent, server := tally.result()
	for i, r := range ranges {
		if sent[i] != r.Len {
			t.Errorf("%s: range %d (%s) crossed the network as %d bytes, want once (%d)", name, i+1, inMiB(r.Len), sent[i], r.Len)
		}
	}
	by := map[string]int{}
	for _, a := range ch.attempts() {
		for _, r := range a.records {
			if !a.failed && r.result == "OK" && strings.HasPrefix(r.detail, "part ") && !strings.HasPrefix(r.detail, "part 0/") {
				by[a.worker]++
			}
		}
	}
	t.Logf("%s: %s in %s (the server's completion %s); ranges by worker %v", name, inMiB(p.size), took.Round(time.Millisecond),
		server.Round(time.Millisecond), by)
	if len(by) != workers {
		t.Errorf("%s: range tasks completed by %d workers (%v), want all %d", name, len(by), by, workers)
	}
	return [2]time.Duration{took, server}
}

// partsCarrier names the requests that carry the file's bytes across the
// network to dest, and how many parts of a range a worker sends at once.
func partsCarrier(dest string) (kind string, threads int64) {
	if dest == "local" {
		return s3test.KindGet, 1 // ranged reads of the source; a local range writes its parts one by one
	}
	return s3test.KindPart, 2 // uploadThreadNumPerLargeFile
}

// partsWait polls stat until ch's job succeeds.
func partsWait(t *testing.T, ch *clusterHome, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := ch.statJSON()
		switch st.JobState {
		case "Succeed":
			return
		case "Failed", "Cancelled":
			chaosWaitEnd(t, ch, 0) // logs the failed entries
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not end within %s: %+v", ch.job, timeout, st)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// partsCheck checks ch's finished job: one file, every byte once in stat;
// the final audit record's CRC64 and the destination's own the source's.
// It then removes the copy, to keep memory and disk for the next.
func partsCheck(t *testing.T, ch *clusterHome, srv *s3test.Server, p partsParams, crc uint64, dest, name string) {
	t.Helper()
	if st := ch.statJSON(); st.FilesDone != 1 || st.FilesTotal != 1 || st.BytesDone != p.size || st.BytesTotal != p.size {
		t.Errorf("%s: stat %+v, want 1 file of %d bytes, done", name, st, p.size)
	}
	finals := 0
	for _, a := range ch.attempts() {
		for _, r := range a.records {
			if !a.failed && strings.Contains(r.detail, "ranges=") {
				finals++
				if r.crc != fmt.Sprintf("%016x", crc) {
					t.Errorf("%s: the final record's CRC64 %s, want the source's %016x", name, r.crc, crc)
				}
			}
		}
	}
	if finals != 1 {
		t.Errorf("%s: %d final records, want 1", name, finals)
	}
	var size int64
	var got uint64
	if dest == "local" {
		path := filepath.Join(ch.root, name, "big.bin")
		f, err := os.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		h := crc64.New(crcTable)
		size, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		got = h.Sum64()
		os.Remove(path)
	} else {
		size, _, got = s3ObjectSums(t, srv, srv.Bucket, name+"/big.bin")
		s3Delete(t, srv, srv.Bucket, name+"/big.bin")
	}
	if size != p.size || got != crc {
		t.Errorf("%s: the destination holds %d bytes of CRC64 %016x, want %d of %016x", name, size, got, p.size, crc)
	}
}

// partsKill copies the big file to dest with three workers and kills one
// with SIGKILL once it has sent (threads+2) parts of the range it holds:
// its range is sent again only from the parts it had not saved, and no
// other range's bytes cross the network twice.
func partsKill(t *testing.T, ch *clusterHome, srv *s3test.Server, px *s3test.Proxy, tally *rangeTally, p partsParams, crc uint64, dest, name string) {
	t.Helper()
	file, key := partsJob(ch, srv, px, p, dest, name)
	kind, threads := partsCarrier(dest)
	trip := tally.follow(kind, key, p.size, p.unit, (threads+2)*p.unit)
	ch.must(30*time.Second, "submit", file)
	var hit tripped
	select {
	case hit = <-trip:
	case <-time.After(5 * time.Minute):
		t.Fatalf("%s: no worker sent %d parts of a range within 5 minutes (%+v)", name, threads+2, ch.statJSON())
	}
	// Some time to save the last part sent (SaveUpload) and to send some
	// of the next: the kill lands in the middle of a part.
	time.Sleep(150 * time.Millisecond)
	victim := -1
	for i, h := range ch.hosts {
		if h.Addr == hit.client {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatalf("%s: no host has the address %s", name, hit.client)
	}
	pid := ch.workerPid(victim)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 host %d's worker (pid %d): %v", victim, pid, err)
	}
	t.Logf("%s: killed host %d's worker (pid %d) with %s of range %d sent", name, victim, pid, inMiB(hit.done), hit.rng+1)
	partsWait(t, ch, 10*time.Minute)
	partsCheck(t, ch, srv, p, crc, dest, name)

	ranges, sent, _ := tally.result()
	var total int64
	for i, r := range ranges {
		total += sent[i]
		switch extra := sent[i] - r.Len; {
		case i == hit.rng:
			t.Logf("PARTS %s: range %d of %s sent again: %s (%s in parts of %s; re-sent bytes allowed: %s)", name, i+1,
				inMiB(r.Len), inMiB(extra), inMiB(hit.done), inMiB(p.unit), inMiB((threads+1)*p.unit))
			if extra < 0 || extra > (threads+1)*p.unit {
				t.Errorf("%s: the killed worker's range %d (%s) crossed the network with %s more than its size; want at most %s: "+
					"its parts in flight and the last one it sent, not the %s it had saved",
					name, i+1, inMiB(r.Len), inMiB(extra), inMiB((threads+1)*p.unit), inMiB(hit.done-p.unit))
			}
		case extra != 0:
			t.Errorf("%s: range %d (%s), not the killed worker's, crossed the network with %d bytes more than its size", name, i+1, inMiB(r.Len), extra)
		}
	}
	t.Logf("PARTS %s: %s carried for a file of %s: %s sent again after the kill", name, inMiB(total), inMiB(p.size), inMiB(total-p.size))
	resumed := false
	for _, a := range ch.attempts() {
		for _, r := range a.records {
			if !a.failed && strings.HasPrefix(r.detail, fmt.Sprintf("part %d/", hit.rng+1)) && strings.Contains(r.detail, "resumed=") {
				resumed = true
			}
		}
	}
	if !resumed {
		t.Errorf("%s: no audit record says range %d resumed after the parts its killed worker saved", name, hit.rng+1)
	}
}
