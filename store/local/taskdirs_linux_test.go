package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"ferry/store"
)

// openFDs counts the process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// keyedStore returns a store in a new directory, and a put that writes
// each key's name as its content.
func keyedStore(t *testing.T) (root string, l *Local, put func(ctx context.Context, key string)) {
	t.Helper()
	root = t.TempDir()
	l, err := New(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return root, l, func(ctx context.Context, key string) {
		t.Helper()
		if _, err := l.Put(ctx, key, strings.NewReader(key), store.Entry{}, store.PutOptions{TempTag: "t1"}); err != nil {
			t.Fatal(err)
		}
	}
}

// A task's Puts keep each directory open once (not per file), put every
// file at its key, and the task's end closes what they kept; Puts after
// the end keep nothing.
func TestTaskDirsKept(t *testing.T) {
	root, l, put := keyedStore(t)
	put(context.Background(), "warm/x") // the root open, anonMode probed
	before := openFDs(t)
	ctx, scope := store.WithTask(context.Background())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				put(ctx, fmt.Sprintf("d%d/e/f%d-%d", i%5, g, i))
			}
		}()
	}
	wg.Wait()
	td := l.taskDirsOf(ctx)
	if td == nil || len(td.kept) != 5 || td.inflight != 0 {
		t.Fatalf("kept %v; want the 5 directories, none in use", td)
	}
	if n := openFDs(t); n != before+5 {
		t.Errorf("%d descriptors open during the task; want %d (the 5 directories)", n, before+5)
	}
	if err := scope.End(true); err != nil {
		t.Fatalf("End(true): %v", err)
	}
	if n := openFDs(t); n != before {
		t.Errorf("%d descriptors open after the task; want %d", n, before)
	}
	for g := range 4 {
		for i := range 50 {
			key := fmt.Sprintf("d%d/e/f%d-%d", i%5, g, i)
			if b, err := os.ReadFile(filepath.Join(root, key)); err != nil || string(b) != key {
				t.Fatalf("%s: %q, %v", key, b, err)
			}
		}
	}
	put(ctx, "d0/e/after") // the task ended: nothing kept
	if l.taskDirsOf(ctx) != nil || openFDs(t) != before {
		t.Errorf("a Put after the task's end kept its directory")
	}
}

// A directory renamed away during a task receives the task's later files
// through the descriptor kept open: the task's end must say so, so that
// the task fails and its files are copied again. A directory removed
// meanwhile by the task's own Delete of its last key is made again, and is
// no reason to fail; one removed with a file the task put is.
func TestTaskDirRenamed(t *testing.T) {
	root, l, put := keyedStore(t)

	ctx, scope := store.WithTask(context.Background())
	put(ctx, "a/b/1")
	if err := os.Rename(filepath.Join(root, "a/b"), filepath.Join(root, "a/moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "a/b"), 0o755); err != nil {
		t.Fatal(err)
	}
	put(ctx, "a/b/2")
	err := scope.End(true)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "a/b")+" was renamed, moved or removed") {
		t.Errorf("End(true) after a/b was renamed: %v; want an error naming it", err)
	}
	if _, err := os.Stat(filepath.Join(root, "a/b/2")); err == nil {
		t.Errorf("a/b/2 is at its key: the kept directory was not the renamed one, and this test shows nothing")
	}
	// endOK ends scope, which must find nothing wrong, and checks that
	// key holds what was put there.
	endOK := func(scope *store.Task, key string) {
		t.Helper()
		if err := scope.End(true); err != nil {
			t.Errorf("End(true) of the task that put %s: %v", key, err)
		}
		if b, err := os.ReadFile(filepath.Join(root, key)); err != nil || string(b) != key {
			t.Errorf("%s after its task: %q, %v", key, b, err)
		}
	}
	// A new task opens a/b as it is now.
	ctx, scope = store.WithTask(context.Background())
	put(ctx, "a/b/2")
	endOK(scope, "a/b/2")

	// Removed by the task's Delete of its last key (a bad copy taken
	// away): made again, at the key.
	ctx, scope = store.WithTask(context.Background())
	put(ctx, "c/one")
	if err := l.Delete(ctx, "c/one"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "c")); !os.IsNotExist(err) {
		t.Fatalf("c after deleting its last key: %v; want it removed", err)
	}
	put(ctx, "c/two")
	endOK(scope, "c/two")

	// Removed by a Delete from elsewhere: the task's file is gone.
	ctx, scope = store.WithTask(context.Background())
	put(ctx, "g/one")
	if err := l.Delete(context.Background(), "g/one"); err != nil {
		t.Fatal(err)
	}
	put(ctx, "g/two")
	if err := scope.End(true); err == nil {
		t.Errorf("End(true) after the task's g/one was deleted by another: no error")
	}

	// Removed and not made again: the task's earlier files are gone.
	ctx, scope = store.WithTask(context.Background())
	put(ctx, "e/one")
	if err := os.RemoveAll(filepath.Join(root, "e")); err != nil {
		t.Fatal(err)
	}
	if err := scope.End(true); err == nil {
		t.Errorf("End(true) after e was removed with the task's file: no error")
	}
}
