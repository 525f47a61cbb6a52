// Package storetest is the conformance suite of the store.Store contract.
// Every backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return newEmptyStore(t) })
//	}
//
// It tests only what the interface promises, so that object stores can pass
// it too: round trips, the CRC64 Put reports (or declares it cannot),
// ranges, atomic replacement, sentinel errors, keys that are awkward bytes,
// and the order, resumption and prefix rules of List. Optional powers (Syncer, Deleter) are tested when implemented.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"ferry/store"
)

// Options say what a store cannot hold, so that the suite tests it on the
// rest and checks that it refuses those cleanly.
type Options struct {
	// Refuses reports the keys, valid for store.CheckKey, that the store
	// cannot hold (object stores: keys that are not UTF-8). The store must
	// refuse them with store.ErrInvalidKey, and the suite leaves them out
	// of its other tests. Listing with a prefix or startAfter that is such
	// a key, or a key cut inside a character, must still work.
	Refuses func(key string) bool
	// PutReportsNoCRC declares that Put cannot report the CRC64 of what
	// landed (store.Entry.HasCRC). The worker compares that CRC with the
	// one it read from the source: without it, a copy is checked by its
	// size alone. A store that leaves HasCRC false must say so here, with
	// the reason beside it, or the suite fails; one that declares it and
	// reports a CRC all the same fails too, so the declaration cannot go
	// stale.
	PutReportsNoCRC bool
	// ObjectKeys declares an object store, whose keys are names, not
	// paths: a key ending with '/', or with a leading '/', an empty, "."
	// or ".." component (the path-like keys of InvalidKeys), names an
	// object like any other (it holds bytes, it lists as a File under its
	// own key, exactly). Other stores must refuse such keys with
	// store.ErrInvalidKey.
	ObjectKeys bool
}

// NotUTF8 is Options.Refuses of stores whose keys must be UTF-8.
func NotUTF8(key string) bool { return !utf8.ValidString(key) }

// Run runs the suite. newStore must return an empty store that is cleaned up
// when the test ends; it is called once per subtest.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	RunWith(t, Options{}, newStore)
}

// RunWith runs the suite on a store with the limits opt describes.
func RunWith(t *testing.T, opt Options, newStore func(t *testing.T) store.Store) {
	all := func(f func(*testing.T, store.Store)) func(*testing.T, store.Store, Options) {
		return func(t *testing.T, s store.Store, _ Options) { f(t, s) }
	}
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store, Options)
	}{
		{"RoundTrip", all(testRoundTrip)},
		{"PutReportsCRC", testPutReportsCRC},
		{"LargeRoundTrip", all(testLargeRoundTrip)},
		{"EmptyFile", all(testEmptyFile)},
		{"OpenRanges", all(testOpenRanges)},
		{"Overwrite", all(testOverwrite)},
		{"NotExist", all(testNotExist)},
		{"InvalidKeys", testInvalidKeys},
		{"AwkwardKeys", testAwkwardKeys},
		{"TrailingSlashKeys", testTrailingSlashKeys},
		{"PathLikeKeys", testPathLikeKeys},
		{"FailedPutLeavesNothing", all(testFailedPut)},
		{"CancelledPut", all(testCancelledPut)},
		{"ConcurrentPuts", all(testConcurrentPuts)},
		{"ListOrder", testListOrder},
		{"ListStartAfter", testListStartAfter},
		{"ListPrefix", testListPrefix},
		{"ListRandomTree", testListRandomTree},
		{"ListFnError", all(testListFnError)},
		{"ListCancelled", all(testListCancelled)},
		{"Sync", all(testSync)},
		{"Delete", all(testDelete)},
		{"OpenStat", all(testOpenStat)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t), opt) })
	}
}

// keys returns the keys of list that a store with opt can hold.
func (opt Options) keys(list []string) []string {
	if opt.Refuses == nil {
		return list
	}
	var out []string
	for _, k := range list {
		if !opt.Refuses(k) {
			out = append(out, k)
		}
	}
	return out
}

// refusedCandidates are valid keys some stores cannot hold.
var refusedCandidates = []string{"bad\xffbyte", "\xfe\xfd/\xc3", " ", "  ", "\t"}

// Put stores content under key and checks what Put reports.
func Put(t *testing.T, s store.Store, key, content string) store.Entry {
	t.Helper()
	e, err := s.Put(context.Background(), key, strings.NewReader(content), store.Entry{}, store.PutOptions{})
	if err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
	if e.Key != key || e.Size != int64(len(content)) || e.Kind != store.File {
		t.Fatalf("Put(%q) = key %q size %d kind %d, want key %q size %d kind File", key, e.Key, e.Size, e.Kind, key, len(content))
	}
	if want := crc64.Checksum([]byte(content), store.CRC64Table); e.HasCRC && e.CRC64 != want {
		t.Fatalf("Put(%q) CRC64 = %#x, want %#x", key, e.CRC64, want)
	}
	return e
}

// Read returns n bytes of key from off (n < 0: to the end).
func Read(t *testing.T, s store.Store, key string, off, n int64) string {
	t.Helper()
	rc, err := s.Open(context.Background(), key, off, n)
	if err != nil {
		t.Fatalf("Open(%q, %d, %d): %v", key, off, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return string(b)
}

func testRoundTrip(t *testing.T, s store.Store) {
	const key, content = "dir/sub/file.txt", "hello, ferry\n"
	Put(t, s, key, content)
	st, err := s.Stat(context.Background(), key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if st.Key != key || st.Size != int64(len(content)) || st.Kind != store.File {
		t.Fatalf("Stat = %+v, want key %q size %d kind File", st, key, len(content))
	}
	if got := Read(t, s, key, 0, -1); got != content {
		t.Fatalf("content = %q, want %q", got, content)
	}
}

// testPutReportsCRC: Put reports the CRC64 of what landed, for an empty, a
// small and a large file (Put checks its value), unless the store declared
// that it cannot.
func testPutReportsCRC(t *testing.T, s store.Store, opt Options) {
	big := strings.Repeat("0123456789abcdef", 1<<16) + "tail"
	for key, content := range map[string]string{"crc/empty": "", "crc/small": "hello, ferry\n", "crc/big": big} {
		e := Put(t, s, key, content)
		switch {
		case !e.HasCRC && !opt.PutReportsNoCRC:
			t.Errorf("Put(%q) reports no CRC64, and the store does not declare Options.PutReportsNoCRC", key)
		case e.HasCRC && opt.PutReportsNoCRC:
			t.Errorf("Put(%q) reports a CRC64, but the store declares Options.PutReportsNoCRC: drop the declaration", key)
		}
	}
}

func testLargeRoundTrip(t *testing.T, s store.Store) {
	// Larger than common copy buffers, and not a multiple of any of them.
	b := make([]byte, 3<<20+17)
	for i := range b {
		b[i] = byte(i*7 + i>>13)
	}
	Put(t, s, "big.bin", string(b))
	if got := Read(t, s, "big.bin", 0, -1); got != string(b) {
		t.Fatalf("content of big.bin differs (got %d bytes, want %d)", len(got), len(b))
	}
	if got := Read(t, s, "big.bin", 1<<20-3, 1<<20+5); got != string(b[1<<20-3:2<<20+2]) {
		t.Fatalf("range across 1 MiB boundaries differs")
	}
}

func testEmptyFile(t *testing.T, s store.Store) {
	e := Put(t, s, "empty", "")
	if e.HasCRC && e.CRC64 != 0 {
		t.Fatalf("CRC64 of an empty file = %#x, want 0", e.CRC64)
	}
	if got := Read(t, s, "empty", 0, -1); got != "" {
		t.Fatalf("content = %q, want empty", got)
	}
	if got := List(t, s, "", ""); !slices.Equal(got, []string{"empty"}) {
		t.Fatalf("List = %q, want [empty]", got)
	}
}

func testOpenRanges(t *testing.T, s store.Store) {
	content := strings.Repeat("0123456789", 100)
	Put(t, s, "r", content)
	for _, c := range []struct{ off, n int64 }{
		{0, -1}, {0, 10}, {10, 20}, {500, 1}, {990, -1}, {990, 10}, {990, 100},
		{999, -1}, {1000, -1}, {0, 0}, {1000, 5}, {0, 1000}, {0, 5000},
	} {
		end := min(int64(len(content)), c.off+c.n)
		if c.n < 0 {
			end = int64(len(content))
		}
		want := content[c.off:end]
		if got := Read(t, s, "r", c.off, c.n); got != want {
			t.Errorf("Open(off=%d, n=%d) = %d bytes %.20q, want %d bytes %.20q", c.off, c.n, len(got), got, len(want), want)
		}
	}
}

func testOverwrite(t *testing.T, s store.Store) {
	Put(t, s, "o", strings.Repeat("long content ", 1000))
	Put(t, s, "o", "short")
	if got := Read(t, s, "o", 0, -1); got != "short" {
		t.Fatalf("after overwrite content = %.40q, want %q", got, "short")
	}
	if e, err := s.Stat(context.Background(), "o"); err != nil || e.Size != 5 {
		t.Fatalf("Stat after overwrite = %+v, %v; want size 5", e, err)
	}
	if got := List(t, s, "", ""); !slices.Equal(got, []string{"o"}) {
		t.Fatalf("List = %q, want [o]", got)
	}
}

func testNotExist(t *testing.T, s store.Store) {
	ctx := context.Background()
	Put(t, s, "present/file", "x")
	for _, key := range []string{"missing", "present/missing", "missing/dir/file", "present/file/below"} {
		if _, err := s.Stat(ctx, key); !errors.Is(err, store.ErrNotExist) {
			t.Errorf("Stat(%q) = %v, want ErrNotExist", key, err)
		}
		if rc, err := s.Open(ctx, key, 0, -1); !errors.Is(err, store.ErrNotExist) {
			if rc != nil {
				rc.Close()
			}
			t.Errorf("Open(%q) = %v, want ErrNotExist", key, err)
		}
	}
}

// InvalidKeys are keys a directory store refuses with store.ErrInvalidKey
// (store.CheckKey). Object stores refuse only those no object can have,
// the empty key and NUL (objectKeyInvalid), and hold the others, which
// are path-like names (testPathLikeKeys).
var InvalidKeys = []string{"", "/abs", "/", "a//b", "a/", "a/./b", "./a", ".", "..", "a/../b", "../up", "a/..", "nul\x00byte"}

// objectKeyInvalid reports whether no object store can hold key.
func objectKeyInvalid(key string) bool { return key == "" || strings.IndexByte(key, 0) >= 0 }

func testInvalidKeys(t *testing.T, s store.Store, opt Options) {
	var invalid []string
	for _, k := range InvalidKeys {
		if !opt.ObjectKeys || objectKeyInvalid(k) {
			invalid = append(invalid, k)
		}
	}
	if opt.Refuses != nil {
		for _, k := range refusedCandidates {
			if opt.Refuses(k) {
				invalid = append(slices.Clip(invalid), k)
			}
		}
	}
	for _, key := range invalid {
		_, err := s.Put(context.Background(), key, strings.NewReader("x"), store.Entry{}, store.PutOptions{})
		if !errors.Is(err, store.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
		}
	}
	if got := List(t, s, "", ""); len(got) != 0 {
		t.Fatalf("after refused Puts List = %q, want nothing", got)
	}
}

// AwkwardKeys are valid keys that are easy to mangle: URL and shell
// specials, whitespace, control characters, non-ASCII and non-UTF-8 bytes.
var AwkwardKeys = []string{
	"with space", "  lead and trail  ", `double"quote`, "single'quote", "back\\slash",
	"100%", "%2F-not-a-slash", "hash#tag", "what?", "star*", "semi;colon", "plus+", "amp&er",
	"tab\there", "new\nline", "cr\rhere", "bell\x07", "del\x7f",
	"ünïcödé/ファイル", "emoji 🚀", "bad\xffbyte", "\xfe\xfd/\xc3", "-dash", "~tilde", "...dots",
	"dir with space/file with space", "a.b/c.d", ".hidden/.file",
}

func testAwkwardKeys(t *testing.T, s store.Store, opt Options) {
	keys := opt.keys(AwkwardKeys)
	for _, key := range keys {
		Put(t, s, key, "content of "+key)
	}
	got := List(t, s, "", "")
	if want := sorted(keys); !slices.Equal(got, want) {
		t.Fatalf("List =\n%q\nwant\n%q", got, want)
	}
	for _, key := range keys {
		if c := Read(t, s, key, 0, -1); c != "content of "+key {
			t.Errorf("content of %q = %q", key, c)
		}
		if e, err := s.Stat(context.Background(), key); err != nil || e.Key != key {
			t.Errorf("Stat(%q) = %+v, %v", key, e, err)
		}
	}
}

// testTrailingSlashKeys puts keys ending with '/' (with content, and one
// empty): an object store keeps them as objects under those keys, listed
// in byte order among the keys below them; other stores refuse them.
func testTrailingSlashKeys(t *testing.T, s store.Store, opt Options) {
	keys := []string{"dir/", "dir/in", "dir0", "a/b/c/"}
	if !opt.ObjectKeys {
		for _, key := range keys {
			if _, err := s.Put(context.Background(), key, strings.NewReader("x"), store.Entry{}, store.PutOptions{}); strings.HasSuffix(key, "/") && !errors.Is(err, store.ErrInvalidKey) {
				t.Errorf("Put(%q) = %v, want ErrInvalidKey", key, err)
			}
		}
		return
	}
	for _, key := range keys {
		Put(t, s, key, "content of "+key)
	}
	if got, want := List(t, s, "", ""), sorted(keys); !slices.Equal(got, want) {
		t.Fatalf("List =\n%q\nwant\n%q", got, want)
	}
	if got := List(t, s, "dir/", ""); !slices.Equal(got, []string{"dir/", "dir/in"}) {
		t.Errorf("List(\"dir/\") = %q, want [\"dir/\" \"dir/in\"]", got)
	}
	for _, key := range keys {
		if c := Read(t, s, key, 0, -1); c != "content of "+key {
			t.Errorf("content of %q = %q", key, c)
		}
		if e, err := s.Stat(context.Background(), key); err != nil || e.Key != key || e.Kind != store.File || e.Size != int64(len("content of "+key)) {
			t.Errorf("Stat(%q) = %+v, %v; want a File of %d bytes", key, e, err, len("content of "+key))
		}
	}
}

// testPathLikeKeys puts, in an object store, the keys of InvalidKeys
// that are names to it though not paths ("a//b", "../up", "/abs", ...):
// each is kept exactly, lists under its own key in byte order, and reads
// and stats back. (Other stores refuse them: testInvalidKeys.)
func testPathLikeKeys(t *testing.T, s store.Store, opt Options) {
	if !opt.ObjectKeys {
		return
	}
	var keys []string
	for _, k := range InvalidKeys {
		if !objectKeyInvalid(k) {
			keys = append(keys, k)
		}
	}
	keys = opt.keys(keys)
	for _, key := range keys {
		Put(t, s, key, "content of "+key)
	}
	if got, want := List(t, s, "", ""), sorted(keys); !slices.Equal(got, want) {
		t.Fatalf("List =\n%q\nwant\n%q", got, want)
	}
	if got, want := List(t, s, "a/", ""), opt.keys([]string{"a/", "a/..", "a/../b", "a/./b", "a//b"}); !slices.Equal(got, want) {
		t.Errorf("List(\"a/\") = %q, want %q", got, want)
	}
	for _, key := range keys {
		if c := Read(t, s, key, 0, -1); c != "content of "+key {
			t.Errorf("content of %q = %q", key, c)
		}
		if e, err := s.Stat(context.Background(), key); err != nil || e.Key != key || e.Size != int64(len("content of "+key)) {
			t.Errorf("Stat(%q) = %+v, %v", key, e, err)
		}
	}
}

// failingReader returns n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'p'
	}
	r.n -= k
	return k, nil
}

func testFailedPut(t *testing.T, s store.Store) {
	ctx := context.Background()
	boom := errors.New("source broke")
	if _, err := s.Put(ctx, "new/partial", &failingReader{n: 100 << 10, err: boom}, store.Entry{}, store.PutOptions{}); err == nil {
		t.Fatalf("Put from a failing reader succeeded")
	}
	if _, err := s.Stat(ctx, "new/partial"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Stat after a failed Put = %v, want ErrNotExist", err)
	}
	Put(t, s, "old", "old content")
	if _, err := s.Put(ctx, "old", &failingReader{n: 5000, err: boom}, store.Entry{}, store.PutOptions{}); err == nil {
		t.Fatalf("Put from a failing reader succeeded")
	}
	if got := Read(t, s, "old", 0, -1); got != "old content" {
		t.Fatalf("after a failed overwrite content = %.40q, want the old content", got)
	}
	if got := List(t, s, "", ""); !slices.Equal(got, []string{"old"}) {
		t.Fatalf("after failed Puts List = %q, want [old]", got)
	}
}

func testCancelledPut(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Put(ctx, "c", strings.NewReader("x"), store.Entry{}, store.PutOptions{}); err == nil {
		t.Fatalf("Put with a cancelled context succeeded")
	}
	if _, err := s.Stat(context.Background(), "c"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Stat after a cancelled Put = %v, want ErrNotExist", err)
	}
}

func testConcurrentPuts(t *testing.T, s store.Store) {
	const n = 8
	contents := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		contents[i] = strings.Repeat(fmt.Sprintf("writer %d ", i), 10000+i)
		wg.Go(func() {
			ctx := context.Background()
			if _, err := s.Put(ctx, "same", strings.NewReader(contents[i]), store.Entry{}, store.PutOptions{}); err != nil {
				errs <- err
			}
			if _, err := s.Put(ctx, fmt.Sprintf("d/f%d", i), strings.NewReader(contents[i]), store.Entry{}, store.PutOptions{}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Put: %v", err)
	}
	got := Read(t, s, "same", 0, -1)
	found := false
	for _, c := range contents {
		found = found || got == c
	}
	if !found {
		t.Fatalf("after concurrent Puts content of same (%d bytes) is none of the writes", len(got))
	}
	for i := range n {
		if Read(t, s, fmt.Sprintf("d/f%d", i), 0, -1) != contents[i] {
			t.Fatalf("content of d/f%d differs", i)
		}
	}
}

func testSync(t *testing.T, s store.Store) {
	sy, ok := s.(store.Syncer)
	if !ok {
		t.Skip("store does not implement Syncer")
	}
	Put(t, s, "synced/file", "durable")
	if err := sy.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if got := Read(t, s, "synced/file", 0, -1); got != "durable" {
		t.Fatalf("content after Sync = %q", got)
	}
}

func testDelete(t *testing.T, s store.Store) {
	d, ok := s.(store.Deleter)
	if !ok {
		t.Skip("store does not implement Deleter")
	}
	ctx := context.Background()
	Put(t, s, "x/y/z", "1")
	Put(t, s, "x/keep", "2")
	if err := d.Delete(ctx, "x/y/z"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctx, "x/y/z"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("Stat after Delete = %v, want ErrNotExist", err)
	}
	if got := List(t, s, "", ""); !slices.Equal(got, []string{"x/keep"}) {
		t.Fatalf("List after Delete = %q, want [x/keep]", got)
	}
	if err := d.Delete(ctx, "x/y/z"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("second Delete = %v, want ErrNotExist", err)
	}
	Put(t, s, "x/y/z", "again") // the emptied directories can be made again
	if got := Read(t, s, "x/y/z", 0, -1); got != "again" {
		t.Fatalf("content = %q", got)
	}
}

// testOpenStat checks a store.StatOpener: the entry OpenStat returns is the
// one Stat gives, the content reads whole, Stat of the opened key says the
// same after reading, and a missing key wraps ErrNotExist.
func testOpenStat(t *testing.T, s store.Store) {
	so, ok := s.(store.StatOpener)
	if !ok {
		t.Skip("not a store.StatOpener")
	}
	ctx := context.Background()
	for _, content := range []string{"", "x", strings.Repeat("0123456789abcdef", 70000)} {
		key := fmt.Sprintf("os/k%d", len(content))
		Put(t, s, key, content)
		want, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		f, e, err := so.OpenStat(ctx, key)
		if err != nil {
			t.Fatalf("OpenStat(%q): %v", key, err)
		}
		if e.Key != key || e.Size != want.Size || !e.MTime.Equal(want.MTime) || e.Kind != store.File ||
			e.HasCRC != want.HasCRC || e.CRC64 != want.CRC64 {
			t.Errorf("OpenStat(%q) entry = %+v, Stat = %+v", key, e, want)
		}
		b, err := io.ReadAll(f)
		if err != nil || string(b) != content {
			t.Errorf("OpenStat(%q): read %d bytes, %v; want %d", key, len(b), err, len(content))
		}
		after, err := f.Stat()
		if err != nil || after.Size != e.Size || !after.MTime.Equal(e.MTime) {
			t.Errorf("Stat of the opened %q after reading = %+v, %v; want %+v", key, after, err, e)
		}
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if _, _, err := so.OpenStat(ctx, "os/missing"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("OpenStat(missing) = %v, want ErrNotExist", err)
	}
}
