package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store/s3test"
)

// Key lists and inventories as the scan's input (issue 17, item 3).

// TestKeyListRun copies the files a key list names, odd names escaped as
// error.list writes them, and nothing else of the source; a listed key the
// source lacks fails alone, SOURCE_MISSING.
func TestKeyListRun(t *testing.T) {
	t.Parallel()
	h := newHome(t, "keylist")
	files := map[string]string{"a.txt": "a", "tab\there.txt": "tab", "dir/x y.bin": "xy", "not-listed.txt": "no", "back\\slash": "bs"}
	for k, v := range files {
		writeFile(t, filepath.Join(h.src, filepath.FromSlash(k)), v)
	}
	list := filepath.Join(h.root, "keys.txt")
	writeFile(t, list, "tab\\there.txt\t3\n\ndir/x y.bin\na.txt\nmissing.txt\nback\\\\slash\na.txt\n")
	h.writeJob(h.jobFile, kv{"srcListFile", list})
	r := h.ferry(time.Minute, "run", h.jobFile)
	if r.code != 1 {
		t.Fatalf("run: want exit 1 (one listed key is missing):\n%s", r)
	}
	got := snapshot(t, h.dst)
	for _, k := range []string{"a.txt", "tab\there.txt", "dir/x y.bin", "back\\slash"} {
		if _, ok := got[k]; !ok {
			t.Errorf("%q not copied", k)
		}
	}
	if _, ok := got["not-listed.txt"]; ok {
		t.Error("a file the list does not name was copied")
	}
	as := h.attempts()
	if n := keyCounts(as, "OK"); n["a.txt"] != 1 || len(n) != 4 {
		t.Errorf("OK records %v: want the 4 listed files once each", n)
	}
	var missing bool
	for _, a := range as {
		for _, rec := range a.records {
			if rec.key == "missing.txt" && rec.result == "FAIL" && strings.HasPrefix(rec.detail, "SOURCE_MISSING") {
				missing = true
			}
		}
	}
	if !missing {
		t.Error("no SOURCE_MISSING record for missing.txt")
	}

	// A bad line is a configuration error naming the file and the line.
	writeFile(t, list, "ok.txt\nbad\\qescape\n")
	h2 := newHome(t, "keylist2")
	h2.writeJob(h2.jobFile, kv{"srcListFile", list})
	r = h2.ferry(time.Minute, "run", h2.jobFile)
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, list+":2:") {
		t.Errorf("run with a bad key list: want a failure naming %s:2:\n%s", list, r)
	}
}

// TestInventoryNoList runs a job from an S3 Inventory of 1,000,000 keys
// (CSV, gzip, 4 data files, in no order) of an object source: the 1,000
// under keep/ are copied, the rest excluded by the job's filter, and the
// source gets no listing request at all, counted at the server's proxy.
func TestInventoryNoList(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	px := s3test.NewProxy(t, srv.URL, s3test.Faults{})
	h := newHome(t, "inventory")
	const total, kept = 1_000_000, 1_000
	var rows []string
	for i := range total {
		key := fmt.Sprintf("data/skip/%07d file.bin", i)
		if i%(total/kept) == 0 {
			key = fmt.Sprintf("data/keep/%04d #%d.txt", i/(total/kept), i)
			body := []byte(key)
			s3Put(t, srv, srv.Bucket, key, body, minio.PutObjectOptions{})
		}
		rows = append(rows, fmt.Sprintf(`"%s","%s","","true","false","%d","2026-01-02T03:04:05.000Z","e%d","STANDARD"`,
			srv.Bucket, url.QueryEscape(key), len(key), i))
	}
	rand.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	invDir := filepath.Join(h.root, "inventory")
	var files []string
	for f := range 4 {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		for _, r := range rows[f*total/4 : (f+1)*total/4] {
			zw.Write([]byte(r + "\n"))
		}
		zw.Close()
		key := fmt.Sprintf("inv/%s/cfg/data/%d.csv.gz", srv.Bucket, f)
		p := filepath.Join(invDir, key)
		mkdirs(t, filepath.Dir(p))
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(b.Bytes())
		files = append(files, fmt.Sprintf(`{"key":%q,"size":%d,"MD5checksum":%q}`, key, b.Len(), hex.EncodeToString(sum[:])))
	}
	manifest := filepath.Join(invDir, "inv", srv.Bucket, "cfg", "2026-01-02T00-00Z", "manifest.json")
	writeFile(t, manifest, fmt.Sprintf(`{"sourceBucket":%q,"destinationBucket":"arn:aws:s3:::inv","version":"2016-11-30",
"fileFormat":"CSV","fileSchema":"Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass",
"files":[%s]}`, srv.Bucket, strings.Join(files, ",")))
	px.SetFaults(s3test.Faults{}) // count from here
	h.writeJob(h.jobFile, append(s3Side("src", srv, px.URL, srv.Bucket, "data/"),
		kv{"srcListFile", manifest}, kv{"include", "keep/**"}, kv{"taskObjectCountLimit", "10000"})...)
	h.s3RunOK()
	if n := px.Count(s3test.KindList); n != 0 {
		t.Errorf("the source got %d listing requests, want none (%s)", n, px)
	}
	got := snapshot(t, h.dst)
	if len(regular(got)) != kept {
		t.Errorf("%d files copied, want %d", len(regular(got)), kept)
	}
	if _, ok := got["keep/0007 #7000.txt"]; !ok {
		t.Error(`keep/0007 #7000.txt (URL-encoded in the inventory) not copied`)
	}
	st := h.statJSON()
	if st.FilesDone != kept {
		t.Errorf("stat: %d files done, want %d", st.FilesDone, kept)
	}
	t.Logf("requests at the source: %s", px)
}
