package keylist

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/store"
	"ferry/store/local"
)

func listAll(t *testing.T, s *Store, prefix, after string) []store.Entry {
	t.Helper()
	var out []store.Entry
	if err := s.List(context.Background(), prefix, after, func(e store.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func keys(es []store.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Key)
	}
	return out
}

func write(t *testing.T, p, s string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// A key list in any order, with odd keys escaped as audit.log writes them,
// sizes and mtimes where given, repeats and blank lines, is listed sorted,
// each key once, with what its line says; List's prefix and startAfter
// work as a store's.
func TestKeyList(t *testing.T) {
	old := runBytes
	runBytes = 300 // several runs: the merge is exercised
	t.Cleanup(func() { runBytes = old })
	dir := t.TempDir()
	var b strings.Builder
	for i := 99; i >= 0; i-- {
		fmt.Fprintf(&b, "d/f%03d\t%d\n", i, i*10)
	}
	b.WriteString("tab\\there\t5\t2026-01-02T03:04:05.5Z\r\n")
	b.WriteString("new\\nline\n\n   \n")
	b.WriteString("back\\\\slash\n")
	b.WriteString("bad\\xffutf8\n")
	b.WriteString("#hash and space\n")
	b.WriteString("d/f007\t999\n") // a repeat: the first line wins
	list := write(t, filepath.Join(dir, "keys.txt"), b.String())
	s := Wrap(nil, Config{File: list})
	defer s.Close()
	got := listAll(t, s, "", "")
	want := []string{"#hash and space", "back\\slash", "bad\xffutf8"}
	for i := range 100 {
		want = append(want, fmt.Sprintf("d/f%03d", i))
	}
	want = append(want, "new\nline", "tab\there")
	if !slices.Equal(keys(got), want) {
		t.Fatalf("keys %q,\nwant %q", keys(got), want)
	}
	byKey := map[string]store.Entry{}
	for _, e := range got {
		byKey[e.Key] = e
	}
	if e := byKey["d/f007"]; e.Size != 70 {
		t.Errorf("d/f007 size %d, want 70 (its first line)", e.Size)
	}
	if e := byKey["tab\there"]; e.Size != 5 || !e.MTime.Equal(time.Date(2026, 1, 2, 3, 4, 5, 5e8, time.UTC)) {
		t.Errorf("tab key: %+v", e)
	}
	if e := byKey["new\nline"]; e.Size != 0 || !e.MTime.IsZero() || e.Kind != store.File {
		t.Errorf("key without size: %+v", e)
	}
	if k := keys(listAll(t, s, "d/", "d/f097")); !slices.Equal(k, []string{"d/f098", "d/f099"}) {
		t.Errorf("prefix d/ after d/f097: %q", k)
	}
	if k := keys(listAll(t, s, "", "d/f099")); !slices.Equal(k, []string{"new\nline", "tab\there"}) {
		t.Errorf("after d/f099: %q", k)
	}
}

// A bad line stops the scan with an error naming the file and the line.
func TestKeyListErrors(t *testing.T) {
	for _, c := range []struct{ list, want string }{
		{"a\nb\\q\n", "keys.txt:2: key \"b\\\\q\": "},
		{"a\nb\\\n", "keys.txt:2: key"},
		{"a\tten\n", "keys.txt:1: size \"ten\" of \"a\""},
		{"a\t1\tyesterday\n", "keys.txt:1: mtime \"yesterday\" of \"a\": not an RFC 3339 time"},
		{"a\t1\t2026-01-01T00:00:00Z\tx\n", "keys.txt:1: 4 tab-separated columns"},
		{"ok\n\t5\n", "keys.txt:2: empty key"},
	} {
		p := write(t, filepath.Join(t.TempDir(), "keys.txt"), c.list)
		s := Wrap(nil, Config{File: p})
		err := s.List(context.Background(), "", "", func(store.Entry) error { return nil })
		s.Close()
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("list %q: error %v, want one with %q naming %s", c.list, err, c.want, p)
		}
	}
	s := Wrap(nil, Config{File: "/nonexistent/keys.txt"})
	if err := s.List(context.Background(), "", "", func(store.Entry) error { return nil }); err == nil || !strings.Contains(err.Error(), "/nonexistent/keys.txt") {
		t.Errorf("missing list: %v", err)
	}
}

// Only List comes from the list: Stat and Open are the source's.
func TestDelegates(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "x"), "hello")
	src, err := local.New(root, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	list := write(t, filepath.Join(t.TempDir(), "k"), "x\nnot-there\n")
	s := Wrap(src, Config{File: list})
	defer s.Close()
	if k := keys(listAll(t, s, "", "")); !slices.Equal(k, []string{"not-there", "x"}) {
		t.Errorf("listed %q", k)
	}
	e, err := s.Stat(context.Background(), "x")
	if err != nil || e.Size != 5 {
		t.Errorf("stat x: %+v %v", e, err)
	}
	if _, err := s.Stat(context.Background(), "not-there"); err == nil {
		t.Error("stat of a listed key the source lacks succeeded")
	}
	if f := s.Features(); f.OpenStat == nil {
		t.Error("the source's features are lost")
	}
}

func gz(t *testing.T, s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// inventory writes an inventory of bucket src as S3 lays it out under dir
// (dest-prefix/src/cfg/...), with data files of the rows given, and
// returns its manifest's path.
func inventory(t *testing.T, dir, format, schema string, files ...string) string {
	t.Helper()
	var entries []string
	for i, rows := range files {
		key := fmt.Sprintf("inv/src/cfg/data/%d.csv.gz", i)
		data := gz(t, rows)
		p := filepath.Join(dir, key)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(data)
		entries = append(entries, fmt.Sprintf(`{"key":%q,"size":%d,"MD5checksum":%q}`, key, len(data), hex.EncodeToString(sum[:])))
	}
	m := fmt.Sprintf(`{"sourceBucket":"src","destinationBucket":"arn:aws:s3:::inv-bucket","version":"2016-11-30",
"creationTimestamp":"1514944800000","fileFormat":%q,"fileSchema":%q,"files":[%s]}`, format, schema, strings.Join(entries, ","))
	return write(t, filepath.Join(dir, "inv/src/cfg/2026-01-01T00-00Z/manifest.json"), m)
}

const schema = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass"

// An S3 Inventory (CSV, gzip, several data files) is read as the scan's
// input: URL-encoded keys decoded, old versions and delete markers left
// out, keys under srcPrefix made relative to it, sizes, mtimes and ETags
// taken from it.
func TestInventory(t *testing.T) {
	dir := t.TempDir()
	m := inventory(t, dir, "CSV", schema,
		`"src","data/b%20c+d.txt","v1","true","false","12","2026-03-04T05:06:07.000Z","e1","STANDARD"
"src","data/a","v2","false","false","3","2026-03-04T05:06:07.000Z","old","STANDARD"
"src","data/a","v3","true","false","4","2026-03-05T05:06:07.000Z","e3","STANDARD"
`,
		`"src","data/gone","v4","true","true","","","","STANDARD"
"src","other/x","v5","true","false","9","2026-03-04T05:06:07.000Z","e5","STANDARD"
"src","data/%E2%9C%93%09tab","v6","true","false","1","2026-03-04T05:06:07.000Z","e6","STANDARD"
`)
	s := Wrap(nil, Config{File: m, Bucket: "src", Prefix: "data/"})
	defer s.Close()
	got := listAll(t, s, "", "")
	if k := keys(got); !slices.Equal(k, []string{"a", "b c d.txt", "✓\ttab"}) {
		t.Fatalf("keys %q", k)
	}
	if e := got[0]; e.Size != 4 || e.ETag != "e3" || !e.MTime.Equal(time.Date(2026, 3, 5, 5, 6, 7, 0, time.UTC)) {
		t.Errorf("a: %+v", e)
	}
	if e := got[1]; e.Size != 12 {
		t.Errorf("b c d.txt: %+v", e)
	}
}

// What is wrong with an inventory is said, naming the file.
func TestInventoryErrors(t *testing.T) {
	dir := t.TempDir()
	good := `"src","k","v","true","false","1","2026-03-04T05:06:07.000Z","e","STANDARD"` + "\n"
	try := func(m string, cfg Config, want string) {
		t.Helper()
		cfg.File = m
		s := Wrap(nil, cfg)
		err := s.List(context.Background(), "", "", func(store.Entry) error { return nil })
		s.Close()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want one with %q", err, want)
		}
	}
	try(inventory(t, filepath.Join(dir, "orc"), "ORC", schema, good), Config{}, `fileFormat "ORC": ferry reads CSV inventories only`)
	try(inventory(t, filepath.Join(dir, "b"), "CSV", schema, good), Config{Bucket: "other"}, `sourceBucket "src" is not srcBucket "other"`)
	try(inventory(t, filepath.Join(dir, "s"), "CSV", "Bucket, Size", good), Config{}, "has no Key column")
	m := inventory(t, filepath.Join(dir, "cols"), "CSV", schema, good+`"src","short"`+"\n")
	try(m, Config{}, "wrong number of fields")
	try(m, Config{}, "0.csv.gz: record on line 2")
	m = inventory(t, filepath.Join(dir, "md5"), "CSV", schema, good)
	mb, _ := os.ReadFile(m)
	i := strings.Index(string(mb), `"MD5checksum":"`) + len(`"MD5checksum":"`)
	mb[i] ^= 1 // another digest
	os.WriteFile(m, mb, 0o644)
	try(m, Config{}, "0.csv.gz: MD5")
	m = inventory(t, filepath.Join(dir, "gone"), "CSV", schema, good)
	os.Remove(filepath.Join(dir, "gone/inv/src/cfg/data/0.csv.gz"))
	try(m, Config{}, `files[0]: data file "inv/src/cfg/data/0.csv.gz" not found`)
	try(write(t, filepath.Join(dir, "x.json"), "[1,2]"), Config{}, "not an S3 Inventory manifest")
}
