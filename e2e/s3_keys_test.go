package e2e

import (
	"crypto/sha256"
	"fmt"
	"hash/crc64"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store/s3test"
)

// s3PathLikeKeys are valid S3 keys that are no file paths: empty, "." and
// ".." components and a leading '/' (after the prefix). Between object
// stores they are just keys (issue 15: they failed S3 to S3, every retry).
var s3PathLikeKeys = []string{"a//b", "./x", "../y", "/lead", "a/./b", "a/../b", "a/..", ".", "..", "/", "deep//.././/z"}

// s3PutPathLike puts the path-like keys and one plain key under prefix,
// each holding its own bytes, and returns them.
func s3PutPathLike(t *testing.T, srv *s3test.Server, prefix string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{"plain.txt": []byte("plain")}
	for i, k := range s3PathLikeKeys {
		files[k] = s3Pattern(100+i, byte(i))
	}
	for k, b := range files {
		s3Put(t, srv, srv.Bucket, prefix+k, b, minio.PutObjectOptions{})
	}
	return files
}

// TestS3ToS3PathLikeKeys: objects named "a//b", "../y", "/lead"... are
// copied under exactly their keys, counted once each, and verify matches
// them all.
func TestS3ToS3PathLikeKeys(t *testing.T) {
	t.Parallel()
	a, b := s3test.Start(t), s3test.Start(t)
	h := newHome(t, "s3-s3-pathlike")
	files := s3PutPathLike(t, a, "in/")
	h.writeJob(h.jobFile, append(s3Side("src", a, a.URL, a.Bucket, "in/"), s3Side("dest", b, b.URL, b.Bucket, "out/")...)...)
	h.s3RunOK()

	want := map[string]fileInfo{}
	var bytes int64
	for k, body := range files {
		want[k] = fileInfo{size: int64(len(body)), sum: sha256.Sum256(body), crc: crc64.Checksum(body, crcTable)}
		bytes += int64(len(body))
	}
	s3CheckBucket(t, want, s3Snapshot(t, b, b.Bucket, "out/"))
	as := h.attempts()
	checkOnce(t, "OK records", keyCounts(as, "OK"), want)
	checkRecords(t, as, want)
	if st := h.stat(); st.filesFailed != 0 || st.files != int64(len(files)) || st.bytes != bytes {
		t.Errorf("stat %+v, want %d files, %d bytes, none failed", st, len(files), bytes)
	}
	h.s3VerifyClean(len(files))
}

// TestS3ToLocalPathLikeKeys: to a directory, the same keys cannot be
// file names, nor can a key with a name of 300 bytes (NAME_MAX is 255):
// each fails alone, INVALID_KEY with the reason, and nothing of them
// lands (no file, no directory); the plain key is copied, and verify
// reports the others missing.
func TestS3ToLocalPathLikeKeys(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	h := newHome(t, "s3-local-pathlike")
	s3PutPathLike(t, srv, "data/")
	longName := "made/no/dirs/" + strings.Repeat("n", 300)
	s3Put(t, srv, srv.Bucket, "data/"+longName, []byte("long name"), minio.PutObjectOptions{})
	h.writeJob(h.jobFile, s3Side("src", srv, srv.URL, srv.Bucket, "data/")...)
	r := h.ferry(3*time.Minute, "run", h.jobFile)
	if r.code != 1 {
		t.Fatalf("run: want exit 1 (the path-like keys failed):\n%s", r)
	}
	checkTree(t, map[string]fileInfo{"plain.txt": {size: 5, sum: sha256.Sum256([]byte("plain")), crc: crc64.Checksum([]byte("plain"), crcTable)}}, h.dst)
	if des, _ := os.ReadDir(h.dst); len(des) != 1 {
		t.Errorf("the destination holds %d entries, want plain.txt alone (no directory of a failed key)", len(des))
	}
	errs, fails := failures(h.attempts())
	sort.Strings(errs)
	wantErrs := append([]string{longName}, s3PathLikeKeys...)
	sort.Strings(wantErrs)
	if fmt.Sprint(errs) != fmt.Sprint(wantErrs) {
		t.Errorf("error.list keys %q, want %q", errs, wantErrs)
	}
	for _, f := range fails {
		why := "a valid object key, but not a file path below the destination directory"
		if f.key == longName {
			why = "a name of 300 bytes"
		}
		if !strings.HasPrefix(f.detail, "INVALID_KEY: ") || !strings.Contains(f.detail, fmt.Sprintf("%q", f.key)) || !strings.Contains(f.detail, why) {
			t.Errorf("FAIL record of %q: %q, want INVALID_KEY quoting the key and saying %q", f.key, f.detail, why)
		}
		if strings.Contains(f.detail, "attempts") {
			t.Errorf("FAIL record of %q: %q was retried", f.key, f.detail)
		}
	}
	v := h.verifyJob()
	if v.code != 1 || v.counts["match"] != 1 || v.counts["missing"] != int64(len(wantErrs)) {
		t.Errorf("verify: want exit 1, 1 matching and %d missing; got counts %v, report %v:\n%s", len(wantErrs), v.counts, v.diffs, v.result)
	}
}

// TestS3LongKey: a file whose key is 1,100 bytes (S3 takes 1,024) fails
// alone, as INVALID_KEY saying so, before any request, when copied and
// when audited (issue 15: an audit said READ_ERROR with the server's
// HTTP 400 to the HEAD); the other file is copied.
func TestS3LongKey(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	h := newHome(t, "s3-long-key")
	long := strings.Repeat("d", 200) + "/" + strings.Repeat("e", 200) + "/" + strings.Repeat("f", 200) + "/" +
		strings.Repeat("g", 200) + "/" + strings.Repeat("h", 200) + "/" + strings.Repeat("i", 95)
	if len(long) != 1100 {
		t.Fatalf("the long key has %d bytes", len(long))
	}
	s3WriteTree(t, h.src, map[string][]byte{long: []byte("long"), "short.txt": []byte("short")})
	dest := s3Side("dest", srv, srv.URL, srv.Bucket, "up/")
	check := func(h *home) {
		t.Helper()
		r := h.ferry(3*time.Minute, "run", h.jobFile)
		if r.code != 1 {
			t.Fatalf("run: want exit 1 (the long key failed):\n%s", r)
		}
		errs, fails := failures(h.attempts())
		if len(errs) != 1 || errs[0] != long || len(fails) != 1 || fails[0].key != long {
			t.Fatalf("%s: %d keys in error.list, %d FAIL records: want the long key alone", h.job, len(errs), len(fails))
		}
		if d := fails[0].detail; !strings.HasPrefix(d, "INVALID_KEY: ") || !strings.HasSuffix(d, "1103 bytes with the prefix, longer than S3's 1024") {
			t.Errorf("%s: FAIL record %.40s...%s: want INVALID_KEY saying it is longer than S3's 1024 bytes, not retried", h.job, d, d[max(0, len(d)-80):])
		}
	}
	h.writeJob(h.jobFile, dest...)
	check(h)
	got := s3Snapshot(t, srv, srv.Bucket, "up/")
	if len(got) != 1 || got["short.txt"].size != 5 {
		t.Errorf("bucket holds %d objects, want just short.txt", len(got))
	}
	// An audit of the same: the destination is asked about the long key.
	a := newHome(t, "s3-long-key-audit")
	a.src = h.src
	a.writeJob(a.jobFile, append(dest, kv{"srcPrefix", h.src}, kv{"jobType", "audit"})...)
	check(a)
}
