package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"ferry/store/s3test"
)

// Helpers of the object-store tests (s3_test.go). The servers are
// s3test's: gofakes3 in this test process over real HTTP on loopback,
// behind a Signature V4 check; ferry runs as a subprocess pointed at them.
// What landed is read back with minio-go straight from the server (never
// through a fault proxy), independently of ferry's own store code.

// s3Client is a minio-go client of srv, path-style, straight to it.
func s3Client(t *testing.T, srv *s3test.Server) *minio.Client {
	t.Helper()
	c, err := minio.New(srv.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, ""),
		Secure:       false,
		Region:       srv.Region,
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// s3Side is the job.cfg keys of one object-store side (role "src" or
// "dest") on srv, reached at endpoint (srv.URL, or a proxy's URL).
func s3Side(role string, srv *s3test.Server, endpoint, bucket, prefix string) []kv {
	typ := "srcType"
	if role == "dest" {
		typ = "destType"
	}
	return []kv{{typ, "s3"}, {role + "Domain", endpoint}, {role + "Bucket", bucket}, {role + "Prefix", prefix},
		{role + "AccessKey", srv.AccessKey}, {role + "SecretKey", srv.SecretKey}}
}

// s3Replace returns kvs with the values of over in place of theirs.
func s3Replace(kvs []kv, over ...kv) []kv {
	out := append([]kv(nil), kvs...)
	for i := range out {
		for _, o := range over {
			if out[i][0] == o[0] {
				out[i][1] = o[1]
			}
		}
	}
	return out
}

// s3Obj is one object as the server holds it.
type s3Obj struct {
	size int64
	sum  [32]byte
	crc  uint64
	info minio.ObjectInfo // from a HEAD: Metadata holds the response headers
}

// s3Snapshot reads every object of bucket under prefix, keyed by the rest
// of its key.
func s3Snapshot(t *testing.T, srv *s3test.Server, bucket, prefix string) map[string]s3Obj {
	t.Helper()
	c := s3Client(t, srv)
	ctx := context.Background()
	m := map[string]s3Obj{}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s/%s: %v", bucket, prefix, o.Err)
		}
		b := s3Get(t, srv, bucket, o.Key)
		info, err := c.StatObject(ctx, bucket, o.Key, minio.StatObjectOptions{})
		if err != nil {
			t.Fatalf("head %q: %v", o.Key, err)
		}
		m[strings.TrimPrefix(o.Key, prefix)] = s3Obj{size: int64(len(b)), sum: sha256.Sum256(b),
			crc: crc64.Checksum(b, crcTable), info: info}
	}
	return m
}

// s3Get reads one object whole.
func s3Get(t *testing.T, srv *s3test.Server, bucket, key string) []byte {
	t.Helper()
	o, err := s3Client(t, srv).GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return b
}

// s3Put writes one object straight to the server.
func s3Put(t *testing.T, srv *s3test.Server, bucket, key string, body []byte, opts minio.PutObjectOptions) {
	t.Helper()
	// Unsigned payload: over plain HTTP minio-go would otherwise send
	// aws-chunked bodies, which gofakes3 refuses for an empty object.
	opts.DisableContentSha256 = true
	_, err := s3Client(t, srv).PutObject(context.Background(), bucket, key, bytes.NewReader(body), int64(len(body)), opts)
	if err != nil {
		t.Fatalf("put %q: %v", key, err)
	}
}

// s3Delete removes one object straight at the server.
func s3Delete(t *testing.T, srv *s3test.Server, bucket, key string) {
	t.Helper()
	if err := s3Client(t, srv).RemoveObject(context.Background(), bucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("delete %q: %v", key, err)
	}
}

// s3Uploads lists the unfinished multipart uploads of bucket.
func s3Uploads(t *testing.T, srv *s3test.Server, bucket string) []string {
	t.Helper()
	var out []string
	for u := range s3Client(t, srv).ListIncompleteUploads(context.Background(), bucket, "", true) {
		if u.Err != nil {
			t.Fatalf("list uploads: %v", u.Err)
		}
		out = append(out, u.Key+" "+u.UploadID)
	}
	return out
}

// s3CheckBucket checks that the objects (a snapshot) are exactly the regular
// files of want, byte for byte, each carrying ferry's CRC64 of its
// content in its user metadata.
func s3CheckBucket(t *testing.T, want map[string]fileInfo, got map[string]s3Obj) {
	t.Helper()
	var bad []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("missing %q", k))
		case g.size != w.size:
			bad = append(bad, fmt.Sprintf("%q differs: size %d, want %d", k, g.size, w.size))
		case g.sum != w.sum:
			bad = append(bad, fmt.Sprintf("%q differs: same size, other bytes", k))
		case g.info.Metadata.Get("X-Amz-Meta-Ferry-Crc64") != fmt.Sprintf("%016x", w.crc):
			bad = append(bad, fmt.Sprintf("%q: x-amz-meta-ferry-crc64 %q, want %016x", k, g.info.Metadata.Get("X-Amz-Meta-Ferry-Crc64"), w.crc))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			bad = append(bad, fmt.Sprintf("extra %q", k))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Errorf("bucket differs from what was expected (%d problems):\n  %s", len(bad), strings.Join(head(bad, 15), "\n  "))
	}
}

// s3FileInfos is the fileInfo view of objects (their content only), to
// compare a local copy with checkTree.
func s3FileInfos(m map[string]s3Obj) map[string]fileInfo {
	out := map[string]fileInfo{}
	for k, o := range m {
		out[k] = fileInfo{size: o.size, sum: o.sum, crc: o.crc}
	}
	return out
}

// s3Pattern returns n deterministic pseudo-random bytes of seed.
func s3Pattern(n int, seed byte) []byte {
	var s [32]byte
	s[0] = seed
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// s3WriteTree writes files (key -> content) below root.
func s3WriteTree(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	for k, b := range files {
		p := filepath.Join(root, filepath.FromSlash(k))
		mkdirs(t, filepath.Dir(p))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// verifyResult is what `verify <job>` said.
type verifyResult struct {
	result
	counts map[string]int64  // match, missing, different, extra
	diffs  map[string]string // key -> MISSING, DIFFERENT or EXTRA, from the report file
	report string            // the report's path
}

var verifyCountRE = regexp.MustCompile(`(?m)^\s+(match|missing|different|extra)\s+(\d+)$`)

// verifyJob runs `verify <job>` (detailed mode unless args say otherwise) and
// reads its counts and its report.
func (h *home) verifyJob(args ...string) verifyResult {
	h.t.Helper()
	r := h.ferry(2*time.Minute, append(append([]string{"verify"}, args...), h.job)...)
	v := verifyResult{result: r, counts: map[string]int64{}, diffs: map[string]string{}}
	for _, m := range verifyCountRE.FindAllStringSubmatch(r.stdout, -1) {
		v.counts[m[1]], _ = strconv.ParseInt(m[2], 10, 64)
	}
	if len(v.counts) != 4 {
		h.t.Fatalf("verify printed no counts:\n%s", r)
	}
	reports, _ := filepath.Glob(filepath.Join(h.jobDir(), "verify", "*.report"))
	sort.Strings(reports)
	if len(reports) == 0 {
		h.t.Fatalf("verify wrote no report under %s:\n%s", h.jobDir(), r)
	}
	v.report = reports[len(reports)-1]
	for i, l := range lines(readString(h.t, v.report)) {
		f := strings.Split(l, "\t")
		if len(f) != 3 {
			h.t.Errorf("%s:%d: %q is not KIND<tab>key<tab>reason", v.report, i+1, l)
			continue
		}
		k, err := unescape(f[1])
		if err != nil {
			h.t.Errorf("%s:%d: %v", v.report, i+1, err)
		}
		if _, dup := v.diffs[k]; dup {
			h.t.Errorf("%s: key %q reported twice", v.report, k)
		}
		v.diffs[k] = f[0]
	}
	return v
}

// s3VerifyClean runs verify and wants exit 0, zero differences and the
// source count n.
func (h *home) s3VerifyClean(n int, args ...string) verifyResult {
	h.t.Helper()
	v := h.verifyJob(args...)
	if v.code != 0 || v.counts["match"] != int64(n) || v.counts["missing"]+v.counts["different"]+v.counts["extra"] != 0 || len(v.diffs) != 0 {
		h.t.Errorf("verify: want exit 0 and %d matching, no differences; got counts %v, report %v:\n%s", n, v.counts, v.diffs, v.result)
	}
	return v
}

// s3RunOK runs the job and wants exit 0 and "Succeed".
func (h *home) s3RunOK(args ...string) result {
	h.t.Helper()
	r := h.ferry(3*time.Minute, append([]string{"run", h.jobFile}, args...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "job "+h.job+": Succeed") {
		h.t.Fatalf("run: want exit 0 and the job Succeed:\n%s", r)
	}
	return r
}

// s3Header is a header of the object info's response headers.
func s3Header(o s3Obj, name string) string { return http.Header(o.info.Metadata).Get(name) }
