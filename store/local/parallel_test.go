//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"ferry/store"
)

// listAll lists root with opt from prefix, after startAfter.
func listAll(t *testing.T, root string, opt Options, prefix, after string) []string {
	t.Helper()
	l, err := New(root, opt)
	if err != nil {
		t.Fatal(err)
	}
	l.portable = l.portable || portableTests
	var es []store.Entry
	if err := l.List(context.Background(), prefix, after, func(e store.Entry) error { es = append(es, e); return nil }); err != nil {
		t.Fatalf("List(%q, %q) with %+v: %v", prefix, after, opt, err)
	}
	return describe(es)
}

// A listing on many threads is the listing on one: the same entries in the
// same order, for whole trees, prefixes and resumed listings, with and
// without symlinks followed, at every depth and thread count.
func TestListAheadSameAsSerial(t *testing.T) {
	root := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	// Directories of 0-12 files and 0-5 subdirectories, four levels deep,
	// with names that sort around '/' (files "a1-", "a1.", "a10", "a1_"
	// beside a directory "a1/").
	var mk func(dir string, depth int)
	mk = func(dir string, depth int) {
		for i := range rng.IntN(13) {
			write(t, filepath.Join(dir, fmt.Sprintf("%c%d%c", "ab"[rng.IntN(2)], i%6, "-.0_"[rng.IntN(4)])), "x")
		}
		if depth == 4 {
			return
		}
		for i := range rng.IntN(6) {
			mk(filepath.Join(dir, fmt.Sprintf("%c%d", "ab"[rng.IntN(2)], i)), depth+1)
		}
	}
	mk(root, 0)
	symlinkTree(t, filepath.Join(root, "links"))
	serial := listAll(t, root, Options{}, "", "")
	if len(serial) < 100 {
		t.Fatalf("the tree has %d entries; want a bigger one", len(serial))
	}
	var cuts []string // resume points: every 17th key
	for i := 0; i < len(serial); i += 17 {
		cuts = append(cuts, serial[i][:len(serial[i])-len(" file 1")])
	}
	for _, follow := range []bool{false, true} {
		for _, threads := range []int{2, 3, 32} {
			for _, depth := range []int{1, 2, 16} {
				one, many := Options{FollowSymlinks: follow}, Options{FollowSymlinks: follow, ScanThreads: threads, ScanDepth: depth}
				for _, c := range append([]struct{ prefix, after string }{{"", ""}, {"a", ""}, {"links/", ""}}, func() (out []struct{ prefix, after string }) {
					for _, k := range cuts {
						out = append(out, struct{ prefix, after string }{"", k})
					}
					return out
				}()...) {
					want, got := listAll(t, root, one, c.prefix, c.after), listAll(t, root, many, c.prefix, c.after)
					if !slices.Equal(got, want) {
						t.Fatalf("follow=%v threads=%d depth=%d prefix=%q after=%q: %d entries, want %d\ngot  %q\nwant %q",
							follow, threads, depth, c.prefix, c.after, len(got), len(want), head(got, 20), head(want, 20))
					}
				}
			}
		}
	}
}

func head(s []string, n int) []string { return s[:min(n, len(s))] }

// A listing ahead stopped early (fn fails, or the context is cancelled)
// returns that error and leaves no thread behind.
func TestListAheadStops(t *testing.T) {
	root := t.TempDir()
	for d := range 20 {
		for f := range 200 {
			write(t, filepath.Join(root, fmt.Sprintf("d%02d", d), fmt.Sprintf("f%03d", f)), "x")
		}
	}
	l, err := New(root, Options{ScanThreads: 8, ScanDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	stop := errors.New("enough")
	n := 0
	err = l.List(context.Background(), "", "", func(store.Entry) error {
		if n++; n == 300 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 300 {
		t.Fatalf("List stopped by fn after %d entries: %v, want the fn's error after 300", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	err = l.List(ctx, "", "", func(store.Entry) error {
		if n++; n == 500 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("List with its context cancelled: %v", err)
	}
	for end := time.Now().Add(2 * time.Second); runtime.NumGoroutine() > before && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Fatalf("%d goroutines after the listings, %d before", g, before)
	}
}
