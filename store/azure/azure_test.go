package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"ferry/store"
	"ferry/store/azure/azuritetest"
	"ferry/store/storetest"
)

// server is one Azurite for the package's tests, started lazily (each
// test takes a container of its own) and stopped by TestMain.
var server struct {
	once sync.Once
	srv  *azuritetest.Server
	stop func()
	err  error
	dir  string
	n    atomic.Int64
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ferry-azurite-")
	if err != nil {
		panic(err)
	}
	server.dir = dir
	code := m.Run()
	if server.stop != nil {
		server.stop()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func azurite(t *testing.T) *azuritetest.Server {
	t.Helper()
	azuritetest.Require(t)
	server.once.Do(func() { server.srv, server.stop, server.err = azuritetest.StartIn(server.dir) })
	if server.err != nil {
		t.Fatalf("azurite: %v", server.err)
	}
	return server.srv
}

// newStore returns a store over a new, empty container of the shared
// Azurite, with a prefix, as a job would have.
func newStore(t *testing.T, cfg Config) *Azure {
	t.Helper()
	srv := azurite(t)
	name := fmt.Sprintf("c%d-%d", time.Now().UnixNano()%1e9, server.n.Add(1))
	srv.Container(t, name)
	if cfg.Domain == "" {
		cfg.Domain = srv.ConnectionString()
	}
	cfg.Account, cfg.Key, cfg.Container = azuritetest.Account, azuritetest.Key, name
	if cfg.RetryBase == 0 {
		cfg.RetryBase = time.Millisecond
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.RunWith(t, storetest.Options{Refuses: refuses, ObjectKeys: true}, func(t *testing.T) store.Store {
		return newStore(t, Config{Prefix: "root/", PutThreshold: 1 << 20, BlockSize: 256 << 10})
	})
}

// refuses are the keys Azure cannot hold: those that are not UTF-8, those
// ending with '.', which Azure drops, those with a backslash, which it turns into
// '/', and those with control characters.
func refuses(key string) bool {
	return storetest.NotUTF8(key) || strings.HasSuffix(key, ".") || strings.Contains(key, "\\") ||
		strings.ContainsFunc(key, isControl)
}

func TestServiceURL(t *testing.T) {
	for _, c := range []struct{ domain, want, err string }{
		{"", "https://acct.blob.core.windows.net", ""},
		{"core.chinacloudapi.cn", "https://acct.blob.core.chinacloudapi.cn", ""},
		{"DefaultEndpointsProtocol=https;EndpointSuffix=core.chinacloudapi.cn", "https://acct.blob.core.chinacloudapi.cn", ""},
		{"DefaultEndpointsProtocol=http;AccountName=acct;EndpointSuffix=core.windows.net;", "http://acct.blob.core.windows.net", ""},
		{"DefaultEndpointsProtocol=http;BlobEndpoint=http://127.0.0.1:10000/acct/;", "http://127.0.0.1:10000/acct", ""},
		{"UseDevelopmentStorage=true", "http://127.0.0.1:10000/acct", ""},
		{"http://127.0.0.1:10000/acct", "http://127.0.0.1:10000/acct", ""},
		{"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
			"", "srcDomain holds AccountKey: put the account key in srcSecretKey"},
		{"AccountName=other", "", `AccountName "other" is not srcAccessKey "acct"`},
		{"DefaultEndpointsProtocol=ftp", "", "DefaultEndpointsProtocol"},
		{"Bogus=1", "", `"Bogus" is not a setting`},
		{"core.windows.net/mycontainer", "", "is not an endpoint suffix"},
	} {
		got, err := serviceURL(c.domain, "acct", "src")
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("serviceURL(%q) = %q, %v; want %q", c.domain, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("serviceURL(%q) = %q, %v; want an error with %q", c.domain, got, err, c.err)
		case err != nil && strings.Contains(err.Error(), "c2VjcmV0"):
			t.Errorf("serviceURL(%q): the error quotes the key: %v", c.domain, err)
		}
	}
}

// TestNewMistakes: a wrong key, a missing container and a dead endpoint
// are one line each, naming the job.cfg key to check and never the key.
func TestNewMistakes(t *testing.T) {
	srv := azurite(t)
	ctx := context.Background()
	base := Config{Domain: srv.ConnectionString(), Account: azuritetest.Account, Key: azuritetest.Key, Container: "absent", RetryBase: time.Millisecond}
	wrongKey := base
	wrongKey.Key = "d3Jvbmcga2V5IHdyb25nIGtleQ=="
	srv.Container(t, "present")
	wrongKey.Container = "present"
	notBase64 := base
	notBase64.Key = "not base64 !!"
	for _, c := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"missing container", base, `container "absent"`},
		{"wrong key", wrongKey, "check srcSecretKey"},
		{"key not base64", notBase64, "srcSecretKey is not an Azure account key"},
	} {
		_, err := New(ctx, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") ||
			strings.Contains(err.Error(), c.cfg.Key) {
			t.Errorf("%s: New = %v; want one line with %q, without the key", c.name, err, c.want)
		}
	}
}

// TestMetadataRoundTrip: content type, the other headers, user metadata,
// the mtime and the CRC64 come back from Stat, a listing and OpenStat, and
// the blob's Content-MD5 is the MD5 of the content.
func TestMetadataRoundTrip(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	mtime := time.Unix(1700000000, 123456789)
	in := store.Entry{MTime: mtime, Meta: map[string]string{
		store.MetaContentType: "text/x-ferry", store.MetaCacheControl: "max-age=60", store.MetaContentLanguage: "fr",
		store.MetaContentDisposition: `attachment; filename="a.txt"`, store.MetaContentEncoding: "identity",
		store.MetaUserPrefix + "owner": "ops", store.MetaUserPrefix + "x-dash": "d"}}
	body := "metadata travels"
	if _, err := s.Put(ctx, "m/a.txt", strings.NewReader(body), in, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	e, err := s.Stat(ctx, "m/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{store.MetaContentType: "text/x-ferry", store.MetaCacheControl: "max-age=60",
		store.MetaContentLanguage: "fr", store.MetaContentDisposition: `attachment; filename="a.txt"`,
		store.MetaContentEncoding: "identity", store.MetaUserPrefix + "owner": "ops", store.MetaUserPrefix + "x_dash": "d"}
	if fmt.Sprint(e.Meta) != fmt.Sprint(want) {
		t.Errorf("Stat meta = %v, want %v", e.Meta, want)
	}
	if !e.MTime.Equal(mtime) || !e.HasCRC || e.CRC64 != crc64.Checksum([]byte(body), store.CRC64Table) {
		t.Errorf("Stat = mtime %v crc %v %x; want %v and the content's CRC64", e.MTime, e.HasCRC, e.CRC64, mtime)
	}
	p, err := s.props(ctx, "m/a.txt")
	if sum := md5.Sum([]byte(body)); err != nil || !bytes.Equal(p.md5, sum[:]) {
		t.Errorf("Content-MD5 = %x, %v; want %x", p.md5, err, sum)
	}
	_, oe, err := s.OpenStat(ctx, "m/a.txt")
	if err != nil || fmt.Sprint(oe.Meta) != fmt.Sprint(want) || !oe.MTime.Equal(mtime) {
		t.Errorf("OpenStat = %+v, %v", oe, err)
	}
}

// TestLargeBlockBlob: a blob of 40 MiB goes up as 5 MiB blocks (one in
// memory at a time), lands with the whole content's MD5 and CRC64, and
// reads back whole and in ranges across block boundaries.
func TestLargeBlockBlob(t *testing.T) {
	s := newStore(t, Config{PutThreshold: 4 << 20, BlockSize: 5 << 20})
	ctx := context.Background()
	data := make([]byte, 40<<20+123)
	for i := range data {
		data[i] = byte(i*131 + i>>11)
	}
	e, err := s.Put(ctx, "big.bin", bytes.NewReader(data), store.Entry{}, store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e.Size != int64(len(data)) || e.CRC64 != crc64.Checksum(data, store.CRC64Table) {
		t.Fatalf("Put = size %d crc %x", e.Size, e.CRC64)
	}
	blocks, err := s.cc.NewBlockBlobClient("big.bin").GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
	if err != nil || len(blocks.CommittedBlocks) != 9 {
		t.Fatalf("committed blocks = %d, %v; want 9", len(blocks.CommittedBlocks), err)
	}
	rc, err := s.Open(ctx, "big.bin", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc) // checked against the blob's Content-MD5 as read
	rc.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	rc, err = s.Open(ctx, "big.bin", 5<<20-7, 10<<20+9)
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, data[5<<20-7:15<<20+2]) {
		t.Fatalf("range read %d bytes, %v", len(got), err)
	}
}

// TestContentMD5Checked: a blob whose stored Content-MD5 is not the MD5
// of its bytes fails a whole read, naming both; a range read is not
// checked.
func TestContentMD5Checked(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	bad := md5.Sum([]byte("something else"))
	bb := s.cc.NewBlockBlobClient("lie")
	if _, err := bb.Upload(ctx, streaming.NopCloser(strings.NewReader("the real bytes")), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bb.SetHTTPHeaders(ctx, blob.HTTPHeaders{BlobContentMD5: bad[:]}, nil); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(ctx, "lie", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	rc.Close()
	if err == nil || !strings.Contains(err.Error(), "not the blob's Content-MD5") {
		t.Fatalf("reading a blob with a wrong Content-MD5: %v, want the mismatch", err)
	}
	if got := storetest.Read(t, s, "lie", 4, 4); got != "real" {
		t.Fatalf("range = %q", got)
	}
}

// TestChangedWhileRead: a blob replaced between two ranges of one reader
// fails the read (its ETag no longer matches) instead of mixing versions.
func TestChangedWhileRead(t *testing.T) {
	s := newStore(t, Config{})
	ctx := context.Background()
	storetest.Put(t, s, "v", strings.Repeat("1", 1000))
	r, err := s.Open(ctx, "v", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(r)
	rd := r.(*reader)
	storetest.Put(t, s, "v", strings.Repeat("2", 1000))
	// Resume from byte 10 to the end, as after a cut connection.
	rd.Off, rd.End, rd.Body = 10, -1, nil
	_, err = io.ReadAll(rd)
	if err == nil || !strings.Contains(err.Error(), "changed while it was read") {
		t.Fatalf("reading on after the blob changed: %v, want 'changed while it was read'", err)
	}
}

// TestRetriesServerBusy: Azure's throttling answers (503 ServerBusy, 500
// OperationTimedOut) are retried until the request goes through, and
// counted; a listing cut by them resumes; 403 is not retried.
func TestRetriesServerBusy(t *testing.T) {
	srv := azurite(t)
	px := newBusyProxy(t, srv)
	s := newStore(t, Config{Domain: "DefaultEndpointsProtocol=http;BlobEndpoint=" + px.URL + "/" + azuritetest.Account})
	ctx, counter := store.WithRetryCounter(context.Background())
	for i := range 7 {
		storetest.Put(t, s, fmt.Sprintf("k%d", i), "x")
	}
	px.busy.Store(3) // the next three requests are refused
	if got := storetest.Read(t, s, "k3", 0, -1); got != "x" {
		t.Fatalf("read = %q", got)
	}
	px.busy.Store(2)
	var keys []string
	if err := s.List(ctx, "", "", func(e store.Entry) error { keys = append(keys, e.Key); return nil }); err != nil || len(keys) != 7 {
		t.Fatalf("List through busy answers = %q, %v", keys, err)
	}
	px.busy.Store(4)
	if _, err := s.Stat(ctx, "k5"); err != nil {
		t.Fatalf("Stat through busy answers: %v", err)
	}
	if counter.Retries() < 4 || px.refused.Load() != 9 {
		t.Errorf("retries counted %d, requests refused %d; want at least 4 and 9", counter.Retries(), px.refused.Load())
	}
	px.forbid.Store(true)
	before := px.requests.Load()
	if _, err := s.Stat(ctx, "k5"); !errors.Is(err, store.ErrPermission) || px.requests.Load()-before != 1 {
		t.Errorf("Stat answered 403: %v after %d requests; want ErrPermission after 1", err, px.requests.Load()-before)
	}
}

// busyProxy forwards to Azurite, answering the next busy requests as Azure
// does when it throttles.
type busyProxy struct {
	URL                     string
	busy, refused, requests atomic.Int64
	forbid                  atomic.Bool
}

func newBusyProxy(t *testing.T, srv *azuritetest.Server) *busyProxy {
	target, _ := url.Parse("http://" + srv.Host)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &busyProxy{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if p.forbid.Load() {
			w.Header().Set("x-ms-error-code", "AuthenticationFailed")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if p.busy.Add(-1) >= 0 {
			p.refused.Add(1)
			code, st := "ServerBusy", http.StatusServiceUnavailable
			if p.refused.Load()%2 == 0 {
				code, st = "OperationTimedOut", http.StatusInternalServerError
			}
			w.Header().Set("x-ms-error-code", code)
			w.WriteHeader(st)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>busy</Message></Error>`, code)
			return
		}
		p.busy.Store(0)
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	p.URL = hs.URL
	return p
}
