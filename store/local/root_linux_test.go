package local

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ferry/store"
)

// The root's descriptor is trusted for rootRecheck only: a root renamed
// away and made again, or removed, while the store is open is noticed, so
// that files are read from and put into the directory the root's path
// names, not the one it named when the store first opened it.
func TestRootReplaced(t *testing.T) {
	defer func(d time.Duration) { rootRecheck = d }(rootRecheck)
	rootRecheck = 50 * time.Millisecond
	ctx := context.Background()
	base := t.TempDir()
	root := filepath.Join(base, "root")
	write := func(dir, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "d"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "d", "f"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	read := func(l *Local) string {
		t.Helper()
		o, _, err := l.OpenStat(ctx, "d/f")
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		b, err := io.ReadAll(o)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	put := func(l *Local, key string) error {
		_, err := l.Put(ctx, key, strings.NewReader("new"), store.Entry{Size: 3}, store.PutOptions{})
		return err
	}
	write(root, "old")
	l, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := read(l); got != "old" {
		t.Fatalf("read %q, want old", got)
	}
	if err := put(l, "d/put1"); err != nil {
		t.Fatal(err)
	}
	// The root renamed away and made again, with other contents.
	if err := os.Rename(root, root+".moved"); err != nil {
		t.Fatal(err)
	}
	write(root, "replacement")
	time.Sleep(2 * rootRecheck)
	if got := read(l); got != "replacement" {
		t.Errorf("after the root was replaced, read %q from the directory it was renamed to, want the new root's \"replacement\"", got)
	}
	if err := put(l, "d/put2"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "d", "put2")); err != nil {
		t.Errorf("a Put after the root was replaced did not land under the root's path: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root+".moved", "d", "put2")); err == nil {
		t.Errorf("a Put after the root was replaced landed in the renamed directory")
	}
	// The root removed: an error naming it, not a write into a directory
	// no path leads to.
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * rootRecheck)
	if err := put(l, "d/put3"); err == nil || !strings.Contains(err.Error(), root) {
		t.Errorf("Put with the root removed: %v, want an error naming %s", err, root)
	}
	if _, _, err := l.OpenStat(ctx, "d/f"); err == nil || !strings.Contains(err.Error(), root) {
		t.Errorf("OpenStat with the root removed: %v, want an error naming %s", err, root)
	}
}

// A key's path is looked up from the root's descriptor, and errors still
// name the whole path.
func TestKeyPathFromRoot(t *testing.T) {
	dir := t.TempDir()
	l, err := New(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	p := l.keyPath("a/b")
	defer p.free()
	if fd, err := l.rootDir(); err != nil || p.at != uintptr(fd) || string(p.b) != "a/b\x00" {
		t.Errorf("keyPath(a/b) = %q from %d, want a/b from the root's descriptor (%d, %v)", p.b, p.at, fd, err)
	}
	if p.String() != filepath.Join(dir, "a/b") {
		t.Errorf("String() = %q, want %q", p.String(), filepath.Join(dir, "a/b"))
	}
	_, _, err = l.OpenStat(context.Background(), "a/b")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "a/b")) {
		t.Errorf("OpenStat of a missing key: %v, want its whole path named", err)
	}
}
