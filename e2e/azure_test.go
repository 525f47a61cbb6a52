package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc64"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"ferry/store/azure/azuritetest"
	"ferry/store/s3test"
	"ferry/store/upyun/upyuntest"
)

// azureFiles are the blobs of the Azure tests: awkward names, nested
// "folders", an empty blob, and one above the template's 50 MiB
// multipart threshold (read in ranges, sent in parts).
func azureFiles(big bool) map[string][]byte {
	files := map[string][]byte{
		"a.txt":                     []byte("hello from azure\n"),
		"dir/sub/deep.bin":          s3Pattern(300<<10+7, 1),
		"dir with space/ü ファイル.txt": []byte("unicode names survive"),
		"emoji 🚀.bin":               s3Pattern(4097, 2),
		"a-b/x":                     []byte("sorts before a/"),
		"a0":                        []byte("sorts after a/"),
		"empty":                     nil,
		"100% #hash?.txt":           []byte("url specials"),
	}
	if big {
		files["big/large.bin"] = s3Pattern(51<<20+3, 3)
	}
	return files
}

// azurePut uploads files under prefix into c, with a content type and
// user metadata, as a user's blobs would have.
func azurePut(t *testing.T, c *container.Client, prefix string, files map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	for k, b := range files {
		ct := "text/plain"
		_, err := c.NewBlockBlobClient(prefix+k).Upload(ctx, streaming.NopCloser(bytes.NewReader(b)), &blockblob.UploadOptions{
			HTTPHeaders: &blob.HTTPHeaders{BlobContentType: &ct}, Metadata: map[string]*string{"owner": ptr("ops")}})
		if err != nil {
			t.Fatalf("upload %q: %v", k, err)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// fromTemplate returns the ossimport template at path with the values of
// the keys in changed replaced, failing when a key has no line.
func fromTemplate(t *testing.T, path string, changed map[string]string) string {
	t.Helper()
	tmpl, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
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
	return cfg.String()
}

// TestAzureAcceptanceOssimportCfg is issue 20's acceptance case: ossimport's
// job.cfg for an Azure Blob source (conf/blob/job.cfg; no destType: OSS),
// changed only in endpoints and keys, copies a container of Azurite to the
// S3 test server, unmodified otherwise. Every object lands byte for byte
// with its CRC64, content type and metadata; verify finds no difference,
// then exactly the two objects damaged.
func TestAzureAcceptanceOssimportCfg(t *testing.T) {
	t.Parallel()
	az := azuritetest.Start(t)
	c := az.Container(t, "mycontainer")
	files := azureFiles(true)
	azurePut(t, c, "docs/", files)
	azurePut(t, c, "", map[string][]byte{"docs-old/not copied": []byte("outside srcPrefix")})
	oss := s3test.Start(t)
	oss.CreateBucket(t, "mybucket")
	h := newHome(t, "local_test")
	writeFile(t, h.jobFile, fromTemplate(t, "../conf/testdata/ossimport-azure-to-oss.cfg", map[string]string{
		"srcAccessKey": azuritetest.Account, "srcSecretKey": azuritetest.Key, "srcDomain": az.ConnectionString(),
		"destAccessKey": oss.AccessKey, "destSecretKey": oss.SecretKey, "destDomain": oss.URL}))

	r := h.ferry(5*time.Minute, "run")
	if r.code != 0 || !strings.Contains(r.stdout, "job local_test: Succeed") {
		t.Fatalf("run: want exit 0 and the job Succeed:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, azuritetest.Key) || strings.Contains(r.stdout+r.stderr, oss.SecretKey) {
		t.Errorf("run shows a secret:\n%s", r)
	}
	want := map[string]fileInfo{}
	for k, b := range files {
		want["docs/"+k] = fileInfo{size: int64(len(b)), sum: sha256.Sum256(b), crc: crc64.Checksum(b, crcTable)}
	}
	got := s3Snapshot(t, oss, "mybucket", "")
	s3CheckBucket(t, want, got)
	for k, o := range got {
		if o.info.ContentType != "text/plain" || s3Header(o, "X-Amz-Meta-Owner") != "ops" {
			t.Errorf("%q: Content-Type %q, x-amz-meta-owner %q; want the blob's text/plain and ops", k, o.info.ContentType, s3Header(o, "X-Amz-Meta-Owner"))
		}
	}
	h.s3VerifyClean(len(files))

	s3Overwrite(t, oss, "mybucket", "docs/a.txt")
	s3Delete(t, oss, "mybucket", "docs/dir/sub/deep.bin")
	v := h.verifyJob()
	wantDiffs := map[string]string{"a.txt": "DIFFERENT", "dir/sub/deep.bin": "MISSING"}
	if v.code != 1 || fmt.Sprint(v.diffs) != fmt.Sprint(wantDiffs) {
		t.Errorf("verify after damage: want exit 1 and %v; got %v, counts %v:\n%s", wantDiffs, v.diffs, v.counts, v.result)
	}
}

// TestAzureToLocal copies a container of Azurite to a local directory with
// a job of ferry's keys (srcDomain a BlobEndpoint connection string), and
// verify finds the copy equal. Then a blob changes and one is added, and a
// second job with isSkipExistFile copies exactly those two (the copies
// keep the blobs' mtimes, which the rule compares).
func TestAzureToLocal(t *testing.T) {
	t.Parallel()
	az := azuritetest.Start(t)
	c := az.Container(t, "photos")
	files := azureFiles(false)
	azurePut(t, c, "2024/", files)
	h := newHome(t, "azure-local")
	job := []kv{{"srcType", "azure"}, {"srcDomain", az.ConnectionString()}, {"srcBucket", "photos"}, {"srcPrefix", "2024/"},
		{"srcAccessKey", azuritetest.Account}, {"srcSecretKey", azuritetest.Key}, {"auditMode", "detailed"}}
	h.writeJob(h.jobFile, job...)
	h.s3RunOK()
	want := map[string]fileInfo{}
	for k, b := range files {
		want[k] = fileInfo{size: int64(len(b)), sum: sha256.Sum256(b)}
	}
	checkTree(t, want, h.dst)
	h.s3VerifyClean(len(files))

	time.Sleep(1100 * time.Millisecond) // a Last-Modified no second can hide
	files["a.txt"] = []byte("changed at the source, longer than before\n")
	files["new/n.txt"] = []byte("new")
	azurePut(t, c, "2024/", map[string][]byte{"a.txt": files["a.txt"], "new/n.txt": files["new/n.txt"]})
	h.job = "azure-local-2"
	h.writeJob(h.jobFile, append(job, kv{"isSkipExistFile", "true"})...)
	r := h.s3RunOK()
	if line := fmt.Sprintf("files  2 copied, %d skipped, 0 failed, of %d", len(files)-2, len(files)); !strings.Contains(r.stdout, line) {
		t.Errorf("second run: want %q:\n%s", line, r)
	}
	for k, b := range files {
		want[k] = fileInfo{size: int64(len(b)), sum: sha256.Sum256(b)}
	}
	checkTree(t, want, h.dst)
	h.s3VerifyClean(len(files))
}

// TestYoupaiAcceptanceOssimportCfg: ossimport's job.cfg for an Upyun source
// (conf/youpai/job.cfg, its one file a task), changed only in endpoints and
// keys, copies a service of the Upyun test server (which checks every
// request's signature) to the S3 test server; verify finds no difference.
func TestYoupaiAcceptanceOssimportCfg(t *testing.T) {
	t.Parallel()
	up := upyuntest.Start(t)
	mtime := time.Unix(1700000000, 0)
	files := azureFiles(false)
	for k, b := range files {
		up.Put("docs/"+k, b, mtime)
	}
	up.Put("docs-old/not copied", []byte("outside srcPrefix"), mtime)
	oss := s3test.Start(t)
	oss.CreateBucket(t, "mybucket")
	h := newHome(t, "local_test")
	writeFile(t, h.jobFile, fromTemplate(t, "../conf/testdata/ossimport-youpai-to-oss.cfg", map[string]string{
		"srcAccessKey": up.Operator, "srcSecretKey": up.Password, "srcDomain": up.URL,
		"destAccessKey": oss.AccessKey, "destSecretKey": oss.SecretKey, "destDomain": oss.URL}))
	r := h.ferry(3*time.Minute, "run")
	if r.code != 0 || !strings.Contains(r.stdout, "job local_test: Succeed") {
		t.Fatalf("run: want exit 0 and the job Succeed:\n%s", r)
	}
	if strings.Contains(r.stdout+r.stderr, up.Password) {
		t.Errorf("run shows the operator's password:\n%s", r)
	}
	if n := up.Refused.Load(); n != 0 {
		t.Errorf("the Upyun server refused %d signatures", n)
	}
	want := map[string]fileInfo{}
	for k, b := range files {
		want["docs/"+k] = fileInfo{size: int64(len(b)), sum: sha256.Sum256(b), crc: crc64.Checksum(b, crcTable)}
	}
	s3CheckBucket(t, want, s3Snapshot(t, oss, "mybucket", ""))
	h.s3VerifyClean(len(files))
}
