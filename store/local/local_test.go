package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/store"
	"ferry/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, Options{}) })
}

func TestConformanceFollowSymlinks(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, Options{FollowSymlinks: true}) })
}

// TestConformancePortable runs the suite against the portable
// implementation, the one every system but Linux has, in each
// configuration.
func TestConformancePortable(t *testing.T) {
	for name, opt := range map[string]Options{
		"Plain":          {},
		"FollowSymlinks": {FollowSymlinks: true},
		"ScanThreads":    {ScanThreads: 3, ScanDepth: 2},
	} {
		t.Run(name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				l := newStore(t, opt)
				l.portable = true
				return l
			})
		})
	}
}

// portableTests makes newStore's and listAll's stores portable
// (TestPortable).
var portableTests bool

// walkTests makes newStore's stores walk to a directory one component at
// a time, as where the kernel has no openat2 (TestLinksWithoutOpenat2).
var walkTests bool

func newStore(t testing.TB, opt Options) *Local {
	t.Helper()
	l, err := New(t.TempDir(), opt)
	if err != nil {
		t.Fatal(err)
	}
	l.portable = l.portable || portableTests
	if walkTests {
		l.noOpenat2.Store(true)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// entries lists everything under prefix after startAfter, failing the test
// if the walk takes more than ten seconds (a loop that was not caught).
func entries(t *testing.T, l *Local, prefix, startAfter string) ([]store.Entry, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var es []store.Entry
	err := l.List(ctx, prefix, startAfter, func(e store.Entry) error {
		if n := len(es); n > 0 && e.Key <= es[n-1].Key {
			t.Errorf("List: %q after %q", e.Key, es[n-1].Key)
		}
		es = append(es, e)
		if len(es) > 10000 {
			t.Fatalf("List: runaway walk, at %q", e.Key)
		}
		return nil
	})
	return es, err
}

// mustEntries is entries that fails the test on error.
func mustEntries(t *testing.T, l *Local, prefix string) []store.Entry {
	t.Helper()
	es, err := entries(t, l, prefix, "")
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return es
}

func keysOf(es []store.Entry) []string {
	var ks []string
	for _, e := range es {
		ks = append(ks, e.Key)
	}
	return ks
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestNew(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "not", "there")
	_, err := New(missing, Options{})
	if !errors.Is(err, store.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("New(missing) = %v, want ErrNotExist naming %s", err, missing)
	}
	l, err := New(missing, Options{Create: true})
	if err != nil {
		t.Fatalf("New(missing, Create) = %v", err)
	}
	if fi, err := os.Stat(missing); err != nil || !fi.IsDir() {
		t.Fatalf("root not created: %v", err)
	}
	if l.Root() != missing {
		t.Fatalf("Root() = %q, want %q", l.Root(), missing)
	}
	file := filepath.Join(t.TempDir(), "file")
	write(t, file, "x")
	if _, err := New(file, Options{Create: true}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("New(file) = %v, want a not-a-directory error", err)
	}
}

func TestTempFilesHidden(t *testing.T) {
	l := newStore(t, Options{})
	storetest.Put(t, l, "d/kept", "x")
	write(t, filepath.Join(l.Root(), ".ferry-0123456789abcdef.tmp"), "crash leftover")
	write(t, filepath.Join(l.Root(), "d", ".ferry-fedcba9876543210.tmp"), "crash leftover")
	write(t, filepath.Join(l.Root(), ".ferry-notours.tmp"), "a user's file")
	write(t, filepath.Join(l.Root(), ".ferry-0123456789ABCDEF.tmp"), "a user's file")
	got := keysOf(mustEntries(t, l, ""))
	want := []string{".ferry-0123456789ABCDEF.tmp", ".ferry-notours.tmp", "d/kept"}
	if !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	_, err := l.Put(context.Background(), "d/.ferry-0000000000000000.tmp", strings.NewReader("x"), store.Entry{}, store.PutOptions{})
	if !errors.Is(err, store.ErrInvalidKey) {
		t.Fatalf("Put of a temp-file name = %v, want ErrInvalidKey", err)
	}
}

func TestPutLeavesNoTempFile(t *testing.T) {
	l := newStore(t, Options{})
	storetest.Put(t, l, "dir/x", "x")
	if _, err := l.Put(context.Background(), "dir", strings.NewReader("over a dir"), store.Entry{}, store.PutOptions{}); err == nil ||
		!strings.Contains(err.Error(), "is a directory") {
		t.Fatalf("Put over a directory = %v, want an is-a-directory error", err)
	}
	_, err := l.Put(context.Background(), "dir/y", &errReader{}, store.Entry{}, store.PutOptions{})
	if err == nil || !strings.Contains(err.Error(), "reading source") {
		t.Fatalf("Put from a failing reader = %v, want a reading-source error", err)
	}
	for _, d := range []string{l.Root(), filepath.Join(l.Root(), "dir")} {
		names, _ := os.ReadDir(d)
		for _, n := range names {
			if strings.HasPrefix(n.Name(), ".ferry-") {
				t.Errorf("temp file %s left in %s", n.Name(), d)
			}
		}
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestPutThroughFile(t *testing.T) {
	l := newStore(t, Options{})
	storetest.Put(t, l, "a/f", "file")
	for _, key := range []string{"a/f/x", "a/f/y/z"} {
		_, err := l.Put(context.Background(), key, strings.NewReader("x"), store.Entry{}, store.PutOptions{})
		if err == nil || !strings.Contains(err.Error(), `"a/f"`) || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("Put(%q) = %v, want an error naming a/f as not a directory", key, err)
		}
	}
	if got := keysOf(mustEntries(t, l, "")); !slices.Equal(got, []string{"a/f"}) {
		t.Fatalf("List = %q", got)
	}
}

func TestPutMTime(t *testing.T) {
	l := newStore(t, Options{})
	mt := time.Date(2001, 2, 3, 4, 5, 6, 789000000, time.UTC)
	e, err := l.Put(context.Background(), "m/t", strings.NewReader("x"), store.Entry{MTime: mt}, store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !e.MTime.Equal(mt) {
		t.Fatalf("Put returned mtime %v, want %v", e.MTime, mt)
	}
	st, err := l.Stat(context.Background(), "m/t")
	if err != nil || !st.MTime.Equal(mt) {
		t.Fatalf("Stat = %v, %v; want mtime %v", st.MTime, err, mt)
	}
	es := mustEntries(t, l, "")
	if len(es) != 1 || !es[0].MTime.Equal(mt) || es[0].Size != 1 {
		t.Fatalf("List = %+v, want m/t with mtime %v", es, mt)
	}
}

func TestLongName(t *testing.T) {
	l := newStore(t, Options{})
	key := "d/" + strings.Repeat("n", 255)
	storetest.Put(t, l, key, "long")
	if got := storetest.Read(t, l, key, 0, -1); got != "long" {
		t.Fatalf("content = %q", got)
	}
	if got := keysOf(mustEntries(t, l, "")); !slices.Equal(got, []string{key}) {
		t.Fatalf("List = %q", got)
	}
	_, err := l.Put(context.Background(), "d/"+strings.Repeat("n", 256), strings.NewReader("x"), store.Entry{}, store.PutOptions{})
	if !errors.Is(err, store.ErrInvalidKey) {
		t.Fatalf("Put of a 256-byte name = %v, want ErrInvalidKey", err)
	}
	if err := l.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
}

// TestLongNameLeavesNothing: a key with a name longer than the file system
// takes (300 bytes; NAME_MAX is 255) is ErrInvalidKey naming the length,
// and leaves no directory behind, wherever the long name is (issue 15:
// the directories before it stayed, empty).
func TestLongNameLeavesNothing(t *testing.T) {
	l := newStore(t, Options{})
	long := strings.Repeat("n", 300)
	for _, key := range []string{"new/dir/" + long, long + "/f", "a/" + long + "/b/f"} {
		_, err := l.Put(context.Background(), key, strings.NewReader("x"), store.Entry{}, store.PutOptions{TempTag: "t-1"})
		if !errors.Is(err, store.ErrInvalidKey) || !strings.Contains(err.Error(), "a name of 300 bytes") ||
			!strings.Contains(err.Error(), "at most 255") {
			t.Errorf("Put(%.20q...) = %v, want ErrInvalidKey saying the name has 300 bytes, at most 255", key, err)
		}
		if des, err := os.ReadDir(l.Root()); err != nil || len(des) != 0 {
			t.Fatalf("after Put(%.20q...) the root holds %v (%v), want nothing", key, des, err)
		}
	}
}

func TestDeepNesting(t *testing.T) {
	l := newStore(t, Options{})
	deep := strings.Repeat("d/", 60) + "f"
	keys := []string{deep, strings.Repeat("d/", 30) + "e", strings.Repeat("d/", 60) + "g", "d-"}
	for _, k := range keys {
		storetest.Put(t, l, k, k)
	}
	slices.Sort(keys)
	if got := keysOf(mustEntries(t, l, "")); !slices.Equal(got, keys) {
		t.Fatalf("List = %q, want %q", got, keys)
	}
	if got := keysOf(mustEntries(t, l, strings.Repeat("d/", 45))); len(got) != 2 {
		t.Fatalf("List(45 levels) = %q, want the two deepest keys", got)
	}
	ctx := context.Background()
	for _, k := range keys {
		if err := l.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if names, _ := os.ReadDir(l.Root()); len(names) != 0 {
		t.Fatalf("after deleting every key the root holds %v; Delete should remove emptied directories", names)
	}
}

func TestDeleteKeepsNonEmptyParents(t *testing.T) {
	l := newStore(t, Options{})
	storetest.Put(t, l, "a/b/c", "1")
	storetest.Put(t, l, "a/d", "2")
	if err := l.Delete(context.Background(), "a/b/c"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.Root(), "a", "b")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("emptied directory a/b kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(l.Root(), "a", "d")); err != nil {
		t.Fatalf("sibling removed: %v", err)
	}
	if err := l.Delete(context.Background(), "a"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Delete of a directory = %v, want ErrNotExist", err)
	}
}

func TestInvalidPrefix(t *testing.T) {
	l := newStore(t, Options{})
	storetest.Put(t, l, "a/b", "x")
	for _, p := range []string{"/a", "a//", "../", "a/../", "./a", "a\x00"} {
		if _, err := entries(t, l, p, ""); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("List(prefix %q) = %v, want ErrInvalidKey", p, err)
		}
	}
	if got := keysOf(mustEntries(t, l, strings.Repeat("n", 300)+"/x")); len(got) != 0 {
		t.Errorf("List(300-byte component) = %q", got)
	}
	// A partial last component may be anything a key component starts with.
	if got := keysOf(mustEntries(t, l, "a/.")); len(got) != 0 {
		t.Errorf("List(a/.) = %q", got)
	}
}

func TestStatOpenErrors(t *testing.T) {
	l := newStore(t, Options{})
	ctx := context.Background()
	storetest.Put(t, l, "dir/f", "x")
	if _, err := l.Stat(ctx, "dir"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Stat(dir) = %v, want ErrNotExist", err)
	}
	if _, err := l.Open(ctx, "dir", 0, -1); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Open(dir) = %v, want ErrNotExist", err)
	}
	for _, k := range storetest.InvalidKeys {
		if _, err := l.Stat(ctx, k); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidKey", k, err)
		}
		if _, err := l.Open(ctx, k, 0, -1); !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Open(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
}

// TestPutTrailingSlash: an object store may hold bytes under a key ending
// with '/' (issue 15). No file can have that name: Put refuses it, and says
// so with the key and its size, which is what the audit record shows.
func TestPutTrailingSlash(t *testing.T) {
	l := newStore(t, Options{})
	_, err := l.Put(context.Background(), "dir/", strings.NewReader("ten bytes!"), store.Entry{Size: 10}, store.PutOptions{})
	if !errors.Is(err, store.ErrInvalidKey) {
		t.Fatalf("Put(dir/) = %v, want ErrInvalidKey", err)
	}
	for _, want := range []string{`"dir/"`, "10 bytes", "a local file cannot be named with a trailing '/'"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Put(dir/) = %q, want it to say %s", err, want)
		}
	}
	if got := storetest.List(t, l, "", ""); len(got) != 0 {
		t.Errorf("after the refused Put, List = %q", got)
	}
}
