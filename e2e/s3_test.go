package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store/s3test"
)

// Object stores end to end (issue 4): bin/ferry against s3test servers on
// loopback, local <-> s3, s3 -> s3 across two servers, http -> s3, faults
// injected by a proxy, a kill in the middle of a multipart upload, verify
// finding corruption, the classic configuration mistakes, jobType=audit,
// and an ossimport job.cfg for S3 -> OSS changed only in endpoints and keys.

// s3AwkwardFiles are names S3 takes that naive code breaks on (URL and
// shell metacharacters, non-ASCII, both Unicode normal forms), an empty
// file, and three files above a 2 MiB multipart threshold.
func s3AwkwardFiles() map[string][]byte {
	f := map[string][]byte{}
	names := []string{"with space.txt", "100% done.txt", "%41%2F.bin", "#hash.html", "what?.json", "a+b=c&d;e.css",
		"it's (1).png", "日本語/ファイル.txt", "emoji 🚀.bin", "NFC-\u00e9.txt", "NFD-e\u0301.txt",
		"dir with space/sub#dir/x?y.jpg", "~tilde", "[br]{ac}.csv", "semi;colon/=eq/@at!.xml", "a/b/c/deep.js"}
	for i, n := range names {
		f[n] = s3Pattern(100+i*997, byte(i+1))
	}
	f["empty.dat"] = nil
	f["empty dir parent/zero"] = []byte{}
	f["big/three-mib.bin"] = s3Pattern(3<<20, 101)      // one part
	f["big/six mib.pdf"] = s3Pattern(6<<20+1, 102)      // two parts (5 MiB + a bit)
	f["big/eleven#mib?.bin"] = s3Pattern(11<<20+3, 103) // three parts
	return f
}

// s3WantContentType is the Content-Type ferry should guess for a key:
// the common types by name, the others as this system's MIME table says
// (ferry runs on the same system).
func s3WantContentType(key string) string {
	known := map[string]string{".html": "text/html; charset=utf-8", ".json": "application/json", ".png": "image/png",
		".css": "text/css; charset=utf-8", ".jpg": "image/jpeg", ".pdf": "application/pdf"}
	if t, ok := known[path.Ext(key)]; ok {
		return t
	}
	if t := mime.TypeByExtension(path.Ext(key)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// TestS3LocalToS3 copies a local tree with awkward names, empty files and
// multipart-sized files into a bucket: contents, CRC64 and mtime metadata,
// guessed Content-Types, the audit records, then `verify`.
func TestS3LocalToS3(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{}) // counts requests
	h := newHome(t, "s3-up")
	files := s3AwkwardFiles()
	s3WriteTree(t, h.src, files)
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 123456789, time.UTC)
	if err := os.Chtimes(filepath.Join(h.src, "with space.txt"), mtime, mtime); err != nil {
		t.Fatal(err)
	}
	want := regular(snapshot(t, h.src))
	h.writeJob(h.jobFile, append(s3Side("dest", srv, px.URL, srv.Bucket, "up/"),
		kv{"multipartUploadThreshold", "2m"}, kv{"multipartUploadPartSize", "1m"}, kv{"uploadThreadNumPerLargeFile", "2"})...)
	h.s3RunOK()

	got := s3Snapshot(t, srv, srv.Bucket, "up/")
	s3CheckBucket(t, want, got)
	for k, o := range got {
		fi, err := os.Stat(filepath.Join(h.src, filepath.FromSlash(k)))
		if err != nil {
			continue
		}
		if m := s3Header(o, "X-Amz-Meta-Ferry-Mtime"); m != strconv.FormatInt(fi.ModTime().UnixNano(), 10) {
			t.Errorf("%q: x-amz-meta-ferry-mtime %q, want the file's mtime %d", k, m, fi.ModTime().UnixNano())
		}
		if ct, w := o.info.ContentType, s3WantContentType(k); ct != w {
			t.Errorf("%q: Content-Type %q, want %q", k, ct, w)
		}
	}
	if m := s3Header(got["with space.txt"], "X-Amz-Meta-Ferry-Mtime"); m != strconv.FormatInt(mtime.UnixNano(), 10) {
		t.Errorf("mtime with nanoseconds: x-amz-meta-ferry-mtime %q, want %d", m, mtime.UnixNano())
	}

	as := h.attempts()
	for _, a := range as {
		if a.failed {
			t.Errorf("attempt %s failed: %q", a.path, a.errors)
		}
	}
	checkOnce(t, "audit records", keyCounts(as, "OK"), want)
	checkRecords(t, as, want)
	parts := map[string]string{"big/three-mib.bin": "parts=1", "big/six mib.pdf": "parts=2", "big/eleven#mib?.bin": "parts=3"}
	for _, a := range as {
		for _, r := range a.records {
			if p, ok := parts[r.key]; ok && !strings.Contains(r.detail, "multipart "+p) {
				t.Errorf("audit record of %q: detail %q, want a multipart upload of %s (5 MiB parts: ferry raises 1m to S3's least)", r.key, r.detail, p)
			}
		}
	}
	if ups := s3Uploads(t, srv, srv.Bucket); len(ups) != 0 {
		t.Errorf("unfinished multipart uploads left behind: %q", ups)
	}
	// A local file's CRC64 is known before its upload is created, so no
	// server-side copy is needed to record it; every object has it.
	if n := px.Count(s3test.KindCopy); n != 0 {
		t.Errorf("the server received %d copy requests, want none: the multipart uploads should be created with their CRC64", n)
	}
	for k := range parts {
		if o, ok := got[k]; ok && s3Header(o, "X-Amz-Meta-Ferry-Crc64") == "" {
			t.Errorf("%q: no x-amz-meta-ferry-crc64", k)
		}
	}
	h.s3VerifyClean(len(want))

	// Again with isSkipExistFile: the size and the mtime kept in the
	// objects' metadata say every file is there already.
	h.must(30*time.Second, "clean", h.job)
	puts := px.Count(s3test.KindPut) + px.Count(s3test.KindPart)
	h.writeJob(h.jobFile, append(s3Side("dest", srv, px.URL, srv.Bucket, "up/"), kv{"isSkipExistFile", "true"},
		kv{"multipartUploadThreshold", "2m"}, kv{"multipartUploadPartSize", "1m"}, kv{"uploadThreadNumPerLargeFile", "2"})...)
	h.s3RunOK()
	if st := h.stat(); st.skipped != int64(len(want)) || st.files != int64(len(want)) {
		t.Errorf("rerun with isSkipExistFile=true: stat %+v, want all %d files skipped", st, len(want))
	}
	if n := px.Count(s3test.KindPut) + px.Count(s3test.KindPart) - puts; n != 0 {
		t.Errorf("rerun with isSkipExistFile=true sent %d PUTs, want none", n)
	}
}

// TestS3ToLocal copies objects with metadata (and a directory marker,
// which is no file) from a bucket prefix into a directory.
func TestS3ToLocal(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	h := newHome(t, "s3-down")
	files := s3AwkwardFiles()
	for k, b := range files {
		s3Put(t, srv, srv.Bucket, "data/"+k, b, minio.PutObjectOptions{ContentType: s3WantContentType(k),
			ContentDisposition: `attachment; filename="x"`, UserMetadata: map[string]string{"owner": "alice"}})
	}
	s3Put(t, srv, srv.Bucket, "data/a dir marker/", nil, minio.PutObjectOptions{})                // a "folder": not a file
	s3Put(t, srv, srv.Bucket, "elsewhere/not copied.txt", []byte("no"), minio.PutObjectOptions{}) // outside srcPrefix
	src := s3Snapshot(t, srv, srv.Bucket, "data/")
	delete(src, "a dir marker/")
	h.writeJob(h.jobFile, append(s3Side("src", srv, srv.URL, srv.Bucket, "data/"), kv{"srcPrefix", "data/"})...)
	h.s3RunOK()

	checkTree(t, s3FileInfos(src), h.dst)
	for k, o := range src {
		fi, err := os.Stat(filepath.Join(h.dst, filepath.FromSlash(k)))
		if err == nil && !fi.ModTime().Equal(o.info.LastModified) {
			t.Errorf("%q: mtime %s, want the object's Last-Modified %s", k, fi.ModTime(), o.info.LastModified)
		}
	}
	h.s3VerifyClean(len(src))
}

// TestS3ToS3 copies between two servers: contents and metadata carried
// over, small objects and multipart ones, one of which already carries a
// ferry CRC64 from an earlier copy (checked against the bytes read).
func TestS3ToS3(t *testing.T) {
	t.Parallel()
	a, b := s3test.Start(t), s3test.Start(t)
	h := newHome(t, "s3-s3")
	files := s3AwkwardFiles()
	for k, body := range files {
		// Content-Encoding gzip on bytes that are not gzip: a copy that
		// let an HTTP client decompress them would fail or change them.
		enc := "identity"
		if strings.HasSuffix(k, ".bin") {
			enc = "gzip"
		}
		s3Put(t, a, a.Bucket, "in/"+k, body, minio.PutObjectOptions{ContentType: "application/x-test-" + strconv.Itoa(len(k)),
			ContentDisposition: `inline; filename="` + strconv.Itoa(len(body)) + `.dat"`, ContentEncoding: enc,
			CacheControl: "max-age=3600", UserMetadata: map[string]string{"owner": "alice", "Project-Id": "42"}})
	}
	crced := s3Pattern(7<<20+5, 104)
	s3Put(t, a, a.Bucket, "in/big/has-crc.bin", crced, minio.PutObjectOptions{ContentType: "application/x-crc",
		UserMetadata: map[string]string{"ferry-crc64": fmt.Sprintf("%016x", crc64.Checksum(crced, crcTable)), "owner": "bob"}})
	src := s3Snapshot(t, a, a.Bucket, "in/")
	h.writeJob(h.jobFile, append(append(s3Side("src", a, a.URL, a.Bucket, "in/"), s3Side("dest", b, b.URL, b.Bucket, "out/")...),
		kv{"multipartUploadThreshold", "2m"}, kv{"multipartUploadPartSize", "5m"})...)
	h.s3RunOK()

	got := s3Snapshot(t, b, b.Bucket, "out/")
	want := s3FileInfos(src)
	s3CheckBucket(t, want, got)
	for k, s := range src {
		d, ok := got[k]
		if !ok {
			continue
		}
		// gofakes3 keeps Content-Type, Content-Disposition, Content-Encoding
		// and user metadata, not Cache-Control: that one is compared, but
		// only the others must be there at all.
		for _, name := range []string{"Content-Type", "Content-Disposition", "Content-Encoding", "Cache-Control", "X-Amz-Meta-Owner", "X-Amz-Meta-Project-Id"} {
			sv, dv := s3Header(s, name), s3Header(d, name)
			if sv == "" && name != "Cache-Control" && !(k == "big/has-crc.bin" && name != "Content-Type" && name != "X-Amz-Meta-Owner") {
				t.Errorf("%q: the source object has no %s: the test is broken", k, name)
			}
			if sv != dv {
				t.Errorf("%q: %s %q at the source, %q at the destination", k, name, sv, dv)
			}
		}
		if m := s3Header(d, "X-Amz-Meta-Ferry-Mtime"); m != strconv.FormatInt(s.info.LastModified.UnixNano(), 10) {
			t.Errorf("%q: x-amz-meta-ferry-mtime %q, want the source's Last-Modified %d", k, m, s.info.LastModified.UnixNano())
		}
	}
	h.s3VerifyClean(len(src))
}

// s3FolderObjects puts under prefix on srv objects whose keys end with
// '/' (issue 15): "dir/" holding ten bytes, which is data, and "empty/",
// an empty directory marker, beside ordinary objects, one of them below
// "dir/". It returns the objects that are files (all but the marker).
func s3FolderObjects(t *testing.T, srv *s3test.Server, prefix string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{"dir/": []byte("ten bytes!"), "dir/in.txt": []byte("below dir/"),
		"empty/below.txt": []byte("below the marker"), "plain.txt": []byte("plain")}
	for k, b := range files {
		s3Put(t, srv, srv.Bucket, prefix+k, b, minio.PutObjectOptions{})
	}
	s3Put(t, srv, srv.Bucket, prefix+"empty/", nil, minio.PutObjectOptions{})
	return files
}

// s3CheckMarkerSkipped wants the directory marker "empty/" reported once,
// as SKIP with the reason "directory marker".
func s3CheckMarkerSkipped(t *testing.T, as []attempt) {
	t.Helper()
	var skips []record
	for _, a := range as {
		for _, r := range a.records {
			if r.key == "empty/" {
				skips = append(skips, r)
			}
		}
	}
	if len(skips) != 1 || skips[0].result != "SKIP" || skips[0].detail != "directory marker" {
		t.Errorf("audit records of the marker empty/: %+v, want one SKIP with the reason \"directory marker\"", skips)
	}
}

// TestS3ToS3KeysEndingInSlash: between object stores, an object whose key
// ends with '/' and holds bytes is copied like any other, under its key,
// and verify counts it; the empty marker is skipped, with its reason, and
// left out by verify. Before issue 15 "dir/" was skipped (SKIP 0), the job
// succeeded and verify matched everything while the destination lacked it.
func TestS3ToS3KeysEndingInSlash(t *testing.T) {
	t.Parallel()
	a, b := s3test.Start(t), s3test.Start(t)
	h := newHome(t, "s3-s3-slash")
	files := s3FolderObjects(t, a, "in/")
	h.writeJob(h.jobFile, append(s3Side("src", a, a.URL, a.Bucket, "in/"), s3Side("dest", b, b.URL, b.Bucket, "out/")...)...)
	h.s3RunOK()

	got := s3Snapshot(t, b, b.Bucket, "out/")
	want := map[string]fileInfo{}
	var bytes int64
	for k, body := range files {
		want[k] = fileInfo{size: int64(len(body)), sum: sha256.Sum256(body), crc: crc64.Checksum(body, crcTable)}
		bytes += int64(len(body))
	}
	s3CheckBucket(t, want, got) // dir/ with its ten bytes; no empty/
	as := h.attempts()
	checkOnce(t, "OK records", keyCounts(as, "OK"), want)
	checkRecords(t, as, want)
	s3CheckMarkerSkipped(t, as)
	if st := h.stat(); st.filesFailed != 0 || st.skipped != 1 || st.files != int64(len(files))+1 || st.bytes != bytes {
		t.Errorf("stat %+v, want %d files (the marker skipped, none failed) and %d bytes, dir/'s ten among them", st, len(files)+1, bytes)
	}
	h.s3VerifyClean(len(files))

	s3Delete(t, b, b.Bucket, "out/dir/")
	v := h.verifyJob()
	if v.code != 1 || fmt.Sprint(v.diffs) != fmt.Sprint(map[string]string{"dir/": "MISSING"}) || v.counts["missing"] != 1 || v.counts["match"] != int64(len(files)-1) {
		t.Errorf("verify with dir/ deleted at the destination: want exit 1, dir/ MISSING and %d matching; got counts %v, report %v:\n%s",
			len(files)-1, v.counts, v.diffs, v.result)
	}
}

// TestS3ToLocalKeysEndingInSlash: no file can be named "dir/", so to a
// directory that object fails, alone and named, with the reason; the
// others are copied ("dir/in.txt" into the directory dir), the empty
// marker is skipped with its reason, and verify reports dir/ missing.
func TestS3ToLocalKeysEndingInSlash(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	h := newHome(t, "s3-local-slash")
	files := s3FolderObjects(t, srv, "data/")
	h.writeJob(h.jobFile, s3Side("src", srv, srv.URL, srv.Bucket, "data/")...)
	r := h.ferry(3*time.Minute, "run", h.jobFile)
	if r.code != 1 {
		t.Fatalf("run: want exit 1 (dir/ failed):\n%s", r)
	}

	want := map[string]fileInfo{}
	for k, body := range files {
		if k != "dir/" {
			want[k] = fileInfo{size: int64(len(body)), sum: sha256.Sum256(body), crc: crc64.Checksum(body, crcTable)}
		}
	}
	checkTree(t, want, h.dst)
	as := h.attempts()
	errs, fails := failures(as)
	if len(errs) != 1 || errs[0] != "dir/" {
		t.Errorf("error.list keys %q, want just \"dir/\"", errs)
	}
	if len(fails) != 1 || fails[0].key != "dir/" || !strings.HasPrefix(fails[0].detail, "INVALID_KEY: ") ||
		!strings.Contains(fails[0].detail, "10 bytes") || !strings.Contains(fails[0].detail, "a local file cannot be named with a trailing '/'") {
		t.Errorf("FAIL records %+v, want one of dir/: INVALID_KEY, saying it has 10 bytes and a local file cannot be named with a trailing '/'", fails)
	}
	checkOnce(t, "OK records", keyCounts(as, "OK"), want)
	s3CheckMarkerSkipped(t, as)
	if st := h.stat(); st.filesFailed != 1 || st.skipped != 1 {
		t.Errorf("stat %+v, want dir/ failed and the marker skipped", st)
	}
	v := h.verifyJob()
	if v.code != 1 || fmt.Sprint(v.diffs) != fmt.Sprint(map[string]string{"dir/": "MISSING"}) || v.counts["match"] != int64(len(want)) {
		t.Errorf("verify: want exit 1, dir/ MISSING and %d matching; got counts %v, report %v:\n%s", len(want), v.counts, v.diffs, v.result)
	}
}

// TestS3FromHTTPList copies the files an ossimport URL list names, served
// by an httptest file server, into a bucket; names need escaping in URLs.
func TestS3FromHTTPList(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	h := newHome(t, "http-up")
	web := filepath.Join(h.root, "web")
	files := s3AwkwardFiles()
	delete(files, "big/three-mib.bin") // one multipart file is enough here
	delete(files, "big/eleven#mib?.bin")
	files["plain.txt"] = []byte("listed with blanks, not a tab\n")
	s3WriteTree(t, filepath.Join(web, "files"), files)
	hs := httptest.NewServer(http.FileServer(http.Dir(web)))
	t.Cleanup(hs.Close)

	var list strings.Builder
	list.WriteString("# ossimport URL list: prefix, then the path kept at the destination\n\n")
	for k := range files {
		if k == "plain.txt" {
			fmt.Fprintf(&list, "%s/files/  %s\n", hs.URL, k) // blank-separated, as ossimport's examples
			continue
		}
		fmt.Fprintf(&list, "%s/files/\t%s\n", hs.URL, k) // tab-separated: names may hold blanks
	}
	listFile := filepath.Join(h.root, "http.list")
	writeFile(t, listFile, list.String())
	want := regular(snapshot(t, filepath.Join(web, "files")))
	h.writeJob(h.jobFile, append(s3Side("dest", srv, srv.URL, srv.Bucket, "web/"), kv{"srcType", "http"}, kv{"srcPrefix", ""},
		kv{"httpListFilePath", listFile}, kv{"httpPrefixColumn", "1"}, kv{"relativePathColumn", "2"},
		kv{"multipartUploadThreshold", "5m"}, kv{"multipartUploadPartSize", "5m"})...)
	// The sorted copies of the list (one for the scan, one for the worker)
	// go where TMPDIR says, and must be gone once ferry is.
	tmp := filepath.Join(h.root, "tmp")
	if err := os.Mkdir(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	h.env = append(h.env, "TMPDIR="+tmp)
	h.s3RunOK()
	defer func() {
		if left, _ := filepath.Glob(filepath.Join(tmp, "ferry-httplist-*")); len(left) > 0 {
			t.Errorf("ferry left copies of the URL list behind: %q", left)
		}
	}()

	got := s3Snapshot(t, srv, srv.Bucket, "web/")
	s3CheckBucket(t, want, got)
	for k, o := range got {
		fi, err := os.Stat(filepath.Join(web, "files", filepath.FromSlash(k)))
		if err != nil {
			continue
		}
		if m := s3Header(o, "X-Amz-Meta-Ferry-Mtime"); m != strconv.FormatInt(fi.ModTime().Truncate(time.Second).UnixNano(), 10) {
			t.Errorf("%q: x-amz-meta-ferry-mtime %q, want the Last-Modified of the URL, %d", k, m, fi.ModTime().Truncate(time.Second).UnixNano())
		}
	}
	h.s3VerifyClean(len(want))
}

// TestS3Faults copies through a proxy that answers 20% of the requests to
// the destination with 503 SlowDown and cuts 5% of the connections (half
// before the server sees the request, half after it acted): the job still
// succeeds, the bucket is identical, verify agrees, and the audit lines
// count the retries.
func TestS3Faults(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{Rate503: 0.2, CutRate: 0.05, Seed: 4})
	h := newHome(t, "s3-faults")
	files := s3AwkwardFiles()
	delete(files, "big/eleven#mib?.bin")
	for i := range 60 {
		files[fmt.Sprintf("bulk/f%02d.bin", i)] = s3Pattern(i*613, byte(200+i%50))
	}
	s3WriteTree(t, h.src, files)
	want := regular(snapshot(t, h.src))
	h.writeJob(h.jobFile, append(s3Side("dest", srv, px.URL, srv.Bucket, ""),
		kv{"multipartUploadThreshold", "2m"}, kv{"multipartUploadPartSize", "1m"}, kv{"uploadThreadNumPerLargeFile", "3"})...)
	h.s3RunOK()
	t.Logf("proxy during the run: %s", px)
	// A create whose answer was cut after the server acted leaves an
	// upload ferry never learnt the ID of: logged, not an error.
	if ups := s3Uploads(t, srv, srv.Bucket); len(ups) > 0 {
		t.Logf("unfinished uploads after the run: %q", ups)
	}

	s3CheckBucket(t, want, s3Snapshot(t, srv, srv.Bucket, ""))
	as := h.attempts()
	retried := 0
	for _, a := range as {
		if a.failed {
			t.Errorf("attempt %s failed: %q", a.path, a.errors)
		}
		for _, r := range a.records {
			if regexp.MustCompile(`(^|; )retries=[1-9]\d*$`).MatchString(r.detail) {
				retried++
			}
		}
	}
	checkOnce(t, "OK records", keyCounts(as, "OK"), want)
	checkRecords(t, as, want)
	if n := px.Injected(s3test.KindPut) + px.Injected(s3test.KindPart); n == 0 || retried == 0 {
		t.Errorf("%d faults injected into PUTs, %d audit lines saying retries=N: want some of both", n, retried)
	}
	t.Logf("%d of %d audit lines say retries=N", retried, len(want))
	px.SetFaults(s3test.Faults{Rate503: 0.2, CutRate: 0.05, Seed: 5}) // verify goes through the proxy too
	h.s3VerifyClean(len(want))
	t.Logf("proxy during verify: %s", px)
}

// s3BigFile writes a deterministic file of size bytes at p and returns the
// SHA-256 and CRC64 of its content, without holding it in memory.
func s3BigFile(t *testing.T, p string, size int64, seed byte) ([32]byte, uint64) {
	t.Helper()
	mkdirs(t, filepath.Dir(p))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var s [32]byte
	s[0] = seed
	sh, cr := sha256.New(), crc64.New(crcTable)
	if _, err := io.CopyN(io.MultiWriter(f, sh, cr), rand.NewChaCha8(s), size); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return [32]byte(sh.Sum(nil)), cr.Sum64()
}

// s3ObjectSums streams one object and returns its size, SHA-256 and CRC64.
func s3ObjectSums(t *testing.T, srv *s3test.Server, bucket, key string) (int64, [32]byte, uint64) {
	t.Helper()
	o, err := s3Client(t, srv).GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	defer o.Close()
	sh, cr := sha256.New(), crc64.New(crcTable)
	n, err := io.Copy(io.MultiWriter(sh, cr), o)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	return n, [32]byte(sh.Sum(nil)), cr.Sum64()
}

// s3BigDir is a directory for large test files: on /dev/shm when there is
// one (memory is faster than the disk, and the file is gone at the end).
func s3BigDir(t *testing.T) string {
	t.Helper()
	if d, err := os.MkdirTemp("/dev/shm", "ferry-e2e-"); err == nil {
		t.Cleanup(func() { os.RemoveAll(d) })
		return d
	}
	return t.TempDir()
}

// s3KillDuringParts starts `run`, waits until the proxy has passed at
// least parts part PUTs, kills it with SIGKILL and returns the part PUT
// count at the kill.
func s3KillDuringParts(t *testing.T, h *home, px *s3test.Proxy, parts int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := h.background(ctx, "run", h.jobFile)
	for px.Count(s3test.KindPart) < parts {
		select {
		case err := <-r.exited:
			t.Fatalf("run ended (%v) before %d parts were sent (%s):\n%s", err, parts, px, r.out)
		case <-time.After(2 * time.Millisecond):
		}
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	n := px.Count(s3test.KindPart)
	<-r.exited
	t.Logf("run killed with SIGKILL after %d part PUTs (%d once it was dead)", n, px.Count(s3test.KindPart))
	return n
}

// TestS3ResumeMultipart kills `run` in the middle of the multipart upload
// of a 200 MiB file (40 parts of 5 MiB, 2 in flight); the next `run`
// re-leases the task and uploads only the missing parts. Then a job killed
// the same way is cleaned, which aborts its unfinished upload.
func TestS3ResumeMultipart(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	h := newHome(t, "s3-resume")
	h.src = s3BigDir(t)
	const size, partSize, threads = 200 << 20, 5 << 20, 2
	sum, crc := s3BigFile(t, filepath.Join(h.src, "big/200 MiB.bin"), size, 7)
	s3WriteTree(t, h.src, map[string][]byte{"small.txt": []byte("small\n")})
	h.writeSys(kv{"taskLeaseSeconds", "5"})
	h.writeJob(h.jobFile, append(s3Side("dest", srv, px.URL, srv.Bucket, "r/"), kv{"multipartUploadThreshold", "100m"},
		kv{"multipartUploadPartSize", "5m"}, kv{"uploadThreadNumPerLargeFile", strconv.Itoa(threads)})...)

	killedAt := s3KillDuringParts(t, h, px, 12)
	if ups := s3Uploads(t, srv, srv.Bucket); len(ups) != 1 {
		t.Errorf("after the kill: unfinished uploads %q, want the one of the big file", ups)
	}
	start := time.Now()
	h.s3RunOK()
	total := px.Count(s3test.KindPart)
	const parts = size / partSize
	t.Logf("part PUTs: %d before the kill, %d in all (the file has %d parts); second run took %s", killedAt, total, parts, time.Since(start).Round(time.Millisecond))
	if total < parts || total > parts+threads+1 {
		t.Errorf("the server received %d part PUTs in all, want %d to %d: only the parts missing at the kill should be sent again", total, parts, parts+threads+1)
	}
	n, gotSum, gotCRC := s3ObjectSums(t, srv, srv.Bucket, "r/big/200 MiB.bin")
	if n != size || gotSum != sum || gotCRC != crc {
		t.Errorf("the object has %d bytes, crc64 %016x; want %d bytes, crc64 %016x (sha256 equal: %v)", n, gotCRC, size, crc, gotSum == sum)
	}
	st, err := s3Client(t, srv).StatObject(context.Background(), srv.Bucket, "r/big/200 MiB.bin", minio.StatObjectOptions{})
	if err != nil || st.Metadata.Get("X-Amz-Meta-Ferry-Crc64") != fmt.Sprintf("%016x", crc) {
		t.Errorf("the object's x-amz-meta-ferry-crc64 is %q (%v), want %016x", st.Metadata.Get("X-Amz-Meta-Ferry-Crc64"), err, crc)
	}
	resumed := regexp.MustCompile(`multipart parts=40 resumed=(\d+)`)
	found := false
	for _, a := range h.attempts() {
		for _, r := range a.records {
			if r.key == "big/200 MiB.bin" {
				m := resumed.FindStringSubmatch(r.detail)
				if m == nil {
					t.Errorf("audit record of the big file: %q, want \"multipart parts=40 resumed=N\"", r.detail)
					continue
				}
				found = true
				if k, _ := strconv.Atoi(m[1]); k < killedAt-threads-1 || k > killedAt {
					t.Errorf("audit record says resumed=%d; %d parts had been sent at the kill", k, killedAt)
				}
			}
		}
	}
	if !found {
		t.Errorf("no audit record of the big file")
	}
	if ups := s3Uploads(t, srv, srv.Bucket); len(ups) != 0 {
		t.Errorf("unfinished uploads left after the job: %q", ups)
	}

	// A job killed in the middle of its upload, then cleaned.
	h2 := newHome(t, "s3-abandon")
	h2.src = h.src
	h2.writeSys(kv{"taskLeaseSeconds", "5"})
	h2.writeJob(h2.jobFile, append(s3Side("dest", srv, px.URL, srv.Bucket, "abandon/"), kv{"multipartUploadThreshold", "100m"},
		kv{"multipartUploadPartSize", "5m"}, kv{"uploadThreadNumPerLargeFile", strconv.Itoa(threads)})...)
	px.SetFaults(s3test.Faults{})
	s3KillDuringParts(t, h2, px, 4)
	ups := s3Uploads(t, srv, srv.Bucket)
	if len(ups) != 1 || !strings.HasPrefix(ups[0], "abandon/big/200 MiB.bin ") {
		t.Fatalf("after the kill: unfinished uploads %q, want the one of abandon/big/200 MiB.bin", ups)
	}
	r := h2.ferry(time.Minute, "clean", h2.job)
	if r.code != 0 {
		t.Logf("clean of the killed job (still Running in the database): %s", r)
		r = h2.ferry(time.Minute, "clean", "--force", h2.job)
	}
	if r.code != 0 || r.stdout != "clean job:s3-abandon success!\n" {
		t.Fatalf("clean: want exit 0 and \"clean job:s3-abandon success!\":\n%s", r)
	}
	if ups := s3Uploads(t, srv, srv.Bucket); len(ups) != 0 {
		t.Errorf("after clean: unfinished uploads %q, want none (clean aborts them)", ups)
	}
	if px.Count(s3test.KindAbort) != 1 {
		t.Errorf("the server received %d aborts, want 1 (%s)", px.Count(s3test.KindAbort), px)
	}
}

// s3SmallUpload is a good local -> s3 job of a few awkward names, for the
// tests that then damage the destination.
func s3SmallUpload(t *testing.T, name string) (*home, *s3test.Server, map[string]fileInfo) {
	t.Helper()
	srv := s3test.Start(t)
	h := newHome(t, name)
	files := s3AwkwardFiles()
	delete(files, "big/six mib.pdf")
	delete(files, "big/eleven#mib?.bin")
	s3WriteTree(t, h.src, files)
	h.writeJob(h.jobFile, append(s3Side("dest", srv, srv.URL, srv.Bucket, "v/"), kv{"multipartUploadThreshold", "2m"})...)
	h.s3RunOK()
	want := regular(snapshot(t, h.src))
	s3CheckBucket(t, want, s3Snapshot(t, srv, srv.Bucket, "v/"))
	return h, srv, want
}

// s3Overwrite replaces an object with other bytes of the same size,
// keeping all its metadata (ferry's CRC64 and mtime included): a silent
// corruption that only reading the content finds. (gofakes3 would keep
// the metadata anyway: its PUT merges the old object's metadata.)
func s3Overwrite(t *testing.T, srv *s3test.Server, bucket, key string) {
	t.Helper()
	c := s3Client(t, srv)
	st, err := c.StatObject(context.Background(), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := s3Get(t, srv, bucket, key)
	for i := range b {
		b[i] ^= 0x5a
	}
	s3Put(t, srv, bucket, key, b, minio.PutObjectOptions{ContentType: st.ContentType, UserMetadata: st.UserMetadata})
	if n := s3Get(t, srv, bucket, key); len(n) != int(st.Size) {
		t.Fatalf("overwrite %q: size %d, want %d", key, len(n), st.Size)
	}
}

// TestS3VerifyFindsCorruption damages the destination of a good job: one
// object overwritten with other bytes of the same size (metadata kept),
// one deleted, one added; verify names exactly those.
func TestS3VerifyFindsCorruption(t *testing.T) {
	t.Parallel()
	h, srv, want := s3SmallUpload(t, "s3-corrupt")
	h.s3VerifyClean(len(want))

	s3Overwrite(t, srv, srv.Bucket, "v/dir with space/sub#dir/x?y.jpg")
	s3Delete(t, srv, srv.Bucket, "v/100% done.txt")
	s3Put(t, srv, srv.Bucket, "v/extra #1?.txt", []byte("not in the source"), minio.PutObjectOptions{})
	v := h.verifyJob()
	wantDiffs := map[string]string{"dir with space/sub#dir/x?y.jpg": "DIFFERENT", "100% done.txt": "MISSING", "extra #1?.txt": "EXTRA"}
	if v.code != 1 || fmt.Sprint(v.diffs) != fmt.Sprint(wantDiffs) {
		t.Errorf("verify after damage: want exit 1 and report %v; got report %v:\n%s", wantDiffs, v.diffs, v.result)
	}
	if v.counts["different"] != 1 || v.counts["missing"] != 1 || v.counts["extra"] != 1 || v.counts["match"] != int64(len(want)-2) {
		t.Errorf("verify counts %v, want 1 different, 1 missing, 1 extra, %d match", v.counts, len(want)-2)
	}
	for k, kind := range wantDiffs {
		if !regexp.MustCompile(`(?m)^` + kind + ` +` + regexp.QuoteMeta(k) + `: `).MatchString(v.stdout) {
			t.Errorf("verify's output does not name %s %q:\n%s", kind, k, v.stdout)
		}
	}
}

// TestS3VerifyModes runs verify's three modes after a good local -> s3
// job. General compares mtimes: the source file's, and the one ferry kept
// in the object's metadata (x-amz-meta-ferry-mtime), not the time of the
// upload that a bucket listing shows.
func TestS3VerifyModes(t *testing.T) {
	t.Parallel()
	h, _, want := s3SmallUpload(t, "s3-modes")
	for _, mode := range []string{"simple", "detailed", "general"} {
		h.s3VerifyClean(len(want), "--mode", mode)
	}
}

// TestS3ClassicMistakes: a wrong secret, the bucket in the endpoint, a
// missing bucket, a skewed clock. Each stops `run` before the job starts
// (exit 2) with one line naming the key to fix, never the secret, and
// leaves no job behind.
func TestS3ClassicMistakes(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	skewed := s3test.Start(t)
	skewed.SetClockSkew(time.Hour)
	h := newHome(t, "s3-mistake")
	writeFile(t, filepath.Join(h.src, "a.txt"), "a\n")
	wrongSecret := "Wr0ngSecretKeyForFerryE2E0123456789abcd"
	port := strings.TrimPrefix(srv.Endpoint, "127.0.0.1:")
	cases := []struct {
		name  string
		over  []kv
		words []string // what the line must say
	}{
		{"wrong destSecretKey", s3Replace(s3Side("dest", srv, srv.URL, srv.Bucket, ""), kv{"destSecretKey", wrongSecret}),
			[]string{"destSecretKey", "SignatureDoesNotMatch"}},
		{"bucket in the endpoint", s3Side("dest", srv, "http://"+srv.Bucket+".localhost:"+port, srv.Bucket, ""),
			[]string{"destDomain", "http://localhost:" + port}},
		{"missing bucket", s3Side("dest", srv, srv.URL, "no-such-bucket", ""),
			[]string{"destBucket", "no-such-bucket", "does not exist"}},
		{"skewed clock", s3Side("dest", skewed, skewed.URL, skewed.Bucket, ""),
			[]string{"clock", "RequestTimeTooSkewed"}},
	}
	for _, c := range cases {
		h.writeJob(h.jobFile, c.over...)
		r := h.ferry(time.Minute, "run", h.jobFile)
		errLines := lines(r.stderr)
		ok := r.code == 2 && len(errLines) == 1 && r.stdout == ""
		for _, w := range c.words {
			ok = ok && strings.Contains(r.stderr, w)
		}
		if !ok {
			t.Errorf("%s: want exit 2, nothing on stdout and one line on stderr saying %q:\n%s", c.name, c.words, r)
		} else {
			t.Logf("%s: %s", c.name, strings.TrimSpace(r.stderr))
		}
		if strings.Contains(r.stdout+r.stderr, wrongSecret) || strings.Contains(r.stdout+r.stderr, srv.SecretKey) ||
			strings.Contains(r.stdout+r.stderr, skewed.SecretKey) {
			t.Errorf("%s: the output shows a secret:\n%s", c.name, r)
		}
	}
	if out := h.must(30*time.Second, "stat"); strings.Contains(out, "s3-mistake") {
		t.Errorf("a refused job was stored:\n%s", out)
	}
	if logs, _ := filepath.Glob(filepath.Join(h.workdir, "logs", "*.log")); len(logs) > 0 {
		for _, l := range logs {
			if b, _ := os.ReadFile(l); strings.Contains(string(b), wrongSecret) || strings.Contains(string(b), srv.SecretKey) {
				t.Errorf("%s shows a secret", l)
			}
		}
	}
}

// TestS3AuditJob: jobType=audit after a good copy succeeds and copies
// nothing; after an object is overwritten (as a user would: new content,
// no ferry metadata), the audit job fails with that key in error.list.
func TestS3AuditJob(t *testing.T) {
	t.Parallel()
	h, srv, want := s3SmallUpload(t, "s3-copied")
	puts := func() int { return len(s3Snapshot(t, srv, srv.Bucket, "v/")) }
	before := puts()

	audit := *h
	audit.job = "s3-audit"
	audit.jobFile = filepath.Join(h.dir, "conf", "audit.cfg")
	audit.writeJob(audit.jobFile, append(s3Side("dest", srv, srv.URL, srv.Bucket, "v/"), kv{"jobType", "audit"})...)
	r := audit.s3RunOK()
	as := audit.attempts()
	checkOnce(t, "audit job records", keyCounts(as, "OK"), want)
	for _, a := range as {
		for _, rec := range a.records {
			if rec.result == "OK" && !strings.HasPrefix(rec.detail, "audit general") {
				t.Errorf("audit record of %q: detail %q, want \"audit general\"", rec.key, rec.detail)
			}
		}
	}
	if puts() != before {
		t.Errorf("the audit job changed the bucket")
	}
	t.Logf("audit job output:\n%s", r.stdout)

	key := "it's (1).png"
	b := s3Get(t, srv, srv.Bucket, "v/"+key)
	b[0] ^= 1
	// Delete first: gofakes3 (unlike S3) keeps the old object's metadata
	// through a PUT, and this overwrite is a user's, without ferry's.
	s3Delete(t, srv, srv.Bucket, "v/"+key)
	s3Put(t, srv, srv.Bucket, "v/"+key, b, minio.PutObjectOptions{ContentType: "image/png"})
	if out := audit.must(30*time.Second, "clean", audit.job); out != "clean job:s3-audit success!\n" {
		t.Errorf("clean printed %q", out)
	}
	r = audit.ferry(time.Minute, "run", audit.jobFile)
	if r.code != 1 || !strings.Contains(r.stdout, "job s3-audit: Failed") {
		t.Errorf("audit after damage: want exit 1 and the job Failed:\n%s", r)
	}
	var failed []string
	for _, a := range audit.attempts() {
		failed = append(failed, a.errors...)
	}
	if fmt.Sprint(failed) != fmt.Sprint([]string{key}) {
		t.Errorf("error.list of the audit job: %q, want just %q", failed, key)
	}
}

// TestS3AcceptanceOssimportCfg is the acceptance of issue 4, tried as a
// new user would: aliyun/ossimport's S3 -> OSS job.cfg (no destType: the
// destination is OSS-compatible) changed only in endpoints and keys, both
// pointed at test servers holding the template's bucket, runs unmodified;
// verify reports zero differences, then exactly the keys of one altered
// and one deleted object.
func TestS3AcceptanceOssimportCfg(t *testing.T) {
	t.Parallel()
	s3srv, osssrv := s3test.Start(t), s3test.Start(t)
	s3srv.CreateBucket(t, "mybucket")
	osssrv.CreateBucket(t, "mybucket")
	h := newHome(t, "local_test")
	files := s3AwkwardFiles()
	delete(files, "big/eleven#mib?.bin")
	for k, b := range files {
		s3Put(t, s3srv, "mybucket", "docs/"+k, b, minio.PutObjectOptions{ContentType: s3WantContentType(k)})
	}
	s3Put(t, s3srv, "mybucket", "docs-old/not copied.txt", []byte("outside srcPrefix"), minio.PutObjectOptions{})
	s3Put(t, s3srv, "mybucket", "other/not copied.txt", []byte("outside srcPrefix"), minio.PutObjectOptions{})
	src := s3Snapshot(t, s3srv, "mybucket", "docs/")

	tmpl, err := os.ReadFile("../conf/testdata/ossimport-s3-to-oss.cfg")
	if err != nil {
		t.Fatal(err)
	}
	changed := map[string]string{"srcAccessKey": s3srv.AccessKey, "srcSecretKey": s3srv.SecretKey, "srcDomain": s3srv.URL,
		"destAccessKey": osssrv.AccessKey, "destSecretKey": osssrv.SecretKey, "destDomain": osssrv.URL}
	var cfg strings.Builder
	for _, l := range strings.SplitAfter(string(tmpl), "\n") {
		k, _, ok := strings.Cut(l, "=")
		if v, hit := changed[k]; ok && hit && !strings.HasPrefix(k, "#") {
			l = k + "=" + v + "\n"
			delete(changed, k)
		}
		cfg.WriteString(l)
	}
	if len(changed) != 0 {
		t.Fatalf("the template has no line for %v", changed)
	}
	writeFile(t, h.jobFile, cfg.String())

	r := h.ferry(3*time.Minute, "run") // conf/job.cfg, as the template's users type it
	if r.code != 0 || !strings.Contains(r.stdout, "job local_test: Succeed") {
		t.Fatalf("run: want exit 0 and the job Succeed:\n%s", r)
	}
	t.Logf("run's warnings:\n%s", r.stderr)
	if strings.Contains(r.stdout+r.stderr, s3srv.SecretKey) || strings.Contains(r.stdout+r.stderr, osssrv.SecretKey) {
		t.Errorf("run shows a secret:\n%s", r)
	}
	got := s3Snapshot(t, osssrv, "mybucket", "")
	want := map[string]fileInfo{}
	for k, o := range src {
		want["docs/"+k] = fileInfo{size: o.size, sum: o.sum, crc: o.crc}
	}
	s3CheckBucket(t, want, got)
	for k, o := range src {
		if d, ok := got["docs/"+k]; ok && d.info.ContentType != o.info.ContentType {
			t.Errorf("%q: Content-Type %q, want the source's %q", k, d.info.ContentType, o.info.ContentType)
		}
	}
	h.s3VerifyClean(len(src))

	s3Overwrite(t, osssrv, "mybucket", "docs/emoji 🚀.bin")
	s3Delete(t, osssrv, "mybucket", "docs/日本語/ファイル.txt")
	v := h.verifyJob()
	wantDiffs := map[string]string{"emoji 🚀.bin": "DIFFERENT", "日本語/ファイル.txt": "MISSING"}
	if v.code != 1 || fmt.Sprint(v.diffs) != fmt.Sprint(wantDiffs) || v.counts["match"] != int64(len(src)-2) {
		t.Errorf("verify after damage: want exit 1, report %v and %d matching; got report %v, counts %v:\n%s",
			wantDiffs, len(src)-2, v.diffs, v.counts, v.result)
	}
}

// s3HookProxy forwards requests to an S3 server. The first request that
// match selects gets before run first (when set), and its connection cut
// after the server answered it (when cut is set): the server acted, the
// client never learns it did.
type s3HookProxy struct {
	target string
	match  func(*http.Request) bool
	before func(*http.Request)
	cut    bool
	client http.Client
	mu     sync.Mutex
	fired  bool
}

func (p *s3HookProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	hit := !p.fired && p.match(r)
	p.fired = p.fired || hit
	p.mu.Unlock()
	if hit && p.before != nil {
		p.before(r)
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Host, out.Header, out.ContentLength = r.Host, r.Header.Clone(), r.ContentLength
	if r.ContentLength == 0 {
		out.Body = nil
	}
	resp, err := p.client.Do(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if hit && p.cut {
		io.Copy(io.Discard, resp.Body)
		panic(http.ErrAbortHandler) // closes the connection, no answer
	}
	for k, vv := range resp.Header {
		w.Header()[k] = vv
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *s3HookProxy) start(t *testing.T) string {
	ps := httptest.NewServer(p)
	t.Cleanup(ps.Close)
	return ps.URL
}

// TestS3LostCompleteResponse cuts the connection after the server
// completed a multipart upload, before its answer reached ferry: the retry
// finds the upload gone and must recognise the object it made.
func TestS3LostCompleteResponse(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	p := &s3HookProxy{target: srv.URL, cut: true, match: func(r *http.Request) bool { return s3test.Kind(r) == s3test.KindComplete }}
	url := p.start(t)
	h := newHome(t, "s3-lost-complete")
	files := map[string][]byte{"big/twelve.bin": s3Pattern(12<<20+5, 105), "small.txt": []byte("small")}
	s3WriteTree(t, h.src, files)
	want := regular(snapshot(t, h.src))
	h.writeJob(h.jobFile, append(s3Side("dest", srv, url, srv.Bucket, ""), kv{"multipartUploadThreshold", "2m"},
		kv{"multipartUploadPartSize", "5m"})...)
	r := h.ferry(time.Minute, "run", h.jobFile)
	if !p.fired {
		t.Fatalf("no CompleteMultipartUpload went through the proxy:\n%s", r)
	}
	if r.code != 0 {
		t.Errorf("run: want exit 0 and the job Succeed after a lost answer to CompleteMultipartUpload:\n%s", r)
	}
	s3CheckBucket(t, want, s3Snapshot(t, srv, srv.Bucket, ""))
}

// TestS3UploadVanishes: the multipart upload disappears at the destination
// in the middle (aborted by someone else, or expired by a lifecycle rule).
// The entry fails as a write error (not as a missing source); `retry` and
// `run` then copy it with a new upload.
func TestS3UploadVanishes(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	core := minio.Core{Client: s3Client(t, srv)}
	p := &s3HookProxy{target: srv.URL,
		match: func(r *http.Request) bool {
			return s3test.Kind(r) == s3test.KindPart && r.URL.Query().Get("partNumber") == "2"
		},
		before: func(r *http.Request) {
			key := strings.TrimPrefix(r.URL.Path, "/"+srv.Bucket+"/")
			if err := core.AbortMultipartUpload(context.Background(), srv.Bucket, key, r.URL.Query().Get("uploadId")); err != nil {
				t.Errorf("abort %q: %v", key, err)
			}
		}}
	url := p.start(t)
	h := newHome(t, "s3-vanish")
	files := map[string][]byte{"big/twelve.bin": s3Pattern(12<<20+5, 106), "small.txt": []byte("small")}
	s3WriteTree(t, h.src, files)
	want := regular(snapshot(t, h.src))
	h.writeJob(h.jobFile, append(s3Side("dest", srv, url, srv.Bucket, ""), kv{"multipartUploadThreshold", "2m"},
		kv{"multipartUploadPartSize", "5m"}, kv{"uploadThreadNumPerLargeFile", "1"})...)
	r := h.ferry(time.Minute, "run", h.jobFile)
	if !p.fired {
		t.Fatalf("no part 2 went through the proxy:\n%s", r)
	}
	if r.code != 1 || !strings.Contains(r.stdout, "job s3-vanish: Failed") {
		t.Fatalf("run: want exit 1 and the job Failed:\n%s", r)
	}
	var fails []record
	for _, a := range h.attempts() {
		for _, rec := range a.records {
			if rec.result == "FAIL" {
				fails = append(fails, rec)
			}
		}
	}
	if len(fails) != 1 || fails[0].key != "big/twelve.bin" || !strings.HasPrefix(fails[0].detail, "WRITE_ERROR: ") ||
		!strings.Contains(fails[0].detail, "NoSuchUpload") {
		t.Errorf("want one FAIL record, of big/twelve.bin, WRITE_ERROR naming NoSuchUpload; got %+v", fails)
	}
	if out := h.must(30*time.Second, "retry", h.job); out != "Retry has been submitted.\n" {
		t.Errorf("retry printed %q", out)
	}
	h.s3RunOK()
	s3CheckBucket(t, want, s3Snapshot(t, srv, srv.Bucket, ""))
	if ups := s3Uploads(t, srv, srv.Bucket); len(ups) != 0 {
		t.Errorf("unfinished uploads left: %q", ups)
	}
	h.s3VerifyClean(len(want))
}
