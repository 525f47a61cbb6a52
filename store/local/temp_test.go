//go:build linux

package local

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ferry/store"
	"ferry/store/storetest"
)

func TestTempNames(t *testing.T) {
	for name, want := range map[string]string{
		".ferry-0123456789abcdef.tmp":             "",
		".ferry-1a2b3c4d-17-0123456789abcdef.tmp": "1a2b3c4d-17",
		".ferry-T-0123456789abcdef.tmp":           "T",
	} {
		if tag, ok := parseTempName(name); !ok || tag != want {
			t.Errorf("parseTempName(%q) = %q, %v; want %q, true", name, tag, ok, want)
		}
	}
	for _, name := range []string{
		".ferry-0123456789ABCDEF.tmp", ".ferry-0123456789abcde.tmp", ".ferry-notours.tmp",
		".ferry-x0123456789abcdef.tmp", ".ferry-a b-0123456789abcdef.tmp", ".ferry--0123456789abcdef.tmp",
		"ferry-0123456789abcdef.tmp", ".ferry-0123456789abcdef.tmp~", ".ferry-0123456789abcdef",
		".ferry-" + strings.Repeat("t", 65) + "-0123456789abcdef.tmp",
	} {
		if isTempName(name) {
			t.Errorf("isTempName(%q) = true", name)
		}
	}
	for range 100 {
		if n := tempName("tag-1"); !isTempName(n) || len(n) > 40 {
			t.Fatalf("tempName made %q", n)
		}
	}
}

// peekReader reports the temporary files in dir when first read.
type peekReader struct {
	dir  string
	seen []string
	r    *strings.Reader
}

func (p *peekReader) Read(b []byte) (int, error) {
	if p.seen == nil {
		des, _ := os.ReadDir(p.dir)
		p.seen = []string{}
		for _, de := range des {
			p.seen = append(p.seen, de.Name())
		}
	}
	return p.r.Read(b)
}

// TestUnnamedTempFiles checks that where the file system has O_TMPFILE, a
// file being written has no name at all, and that the probe found a way to
// link it (as root: AT_EMPTY_PATH).
func TestUnnamedTempFiles(t *testing.T) {
	l := newStore(t, Options{})
	storetest.Put(t, l, "d/first", "x")
	want := anonProc
	if os.Geteuid() == 0 {
		want = anonEmptyPath
	}
	if l.anon != want {
		t.Fatalf("temporary files: mode %d, want %d (O_TMPFILE on %s, euid %d)", l.anon, want, l.Root(), os.Geteuid())
	}
	ctx, tagged := context.Background(), store.PutOptions{TempTag: "job1-7"}
	p := &peekReader{dir: filepath.Join(l.Root(), "d"), r: strings.NewReader("unnamed")}
	if _, err := l.Put(ctx, "d/f", p, store.Entry{}, tagged); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.seen, []string{"first"}) {
		t.Fatalf("while writing, d held %q; want only first", p.seen)
	}
	// Over an existing key: linked to a temporary name, renamed over it.
	p = &peekReader{dir: filepath.Join(l.Root(), "d"), r: strings.NewReader("again")}
	if _, err := l.Put(ctx, "d/f", p, store.Entry{}, tagged); err != nil {
		t.Fatal(err)
	}
	if got := storetest.Read(t, l, "d/f", 0, -1); got != "again" {
		t.Fatalf("d/f holds %q after the overwrite", got)
	}
	des, _ := os.ReadDir(filepath.Join(l.Root(), "d"))
	if len(des) != 2 {
		t.Fatalf("d holds %d names after the overwrite, want first and f", len(des))
	}
}

func TestTempTagAndCleanTemps(t *testing.T) {
	l := newStore(t, Options{})
	l.anon = anonNone // named temporary files, whose tags this checks
	ctx, tagged := context.Background(), store.PutOptions{TempTag: "job1-7"}
	storetest.Put(t, l, "d/first", "x") // makes d
	p := &peekReader{dir: filepath.Join(l.Root(), "d"), r: strings.NewReader("tagged")}
	if _, err := l.Put(ctx, "d/f", p, store.Entry{}, tagged); err != nil {
		t.Fatal(err)
	}
	if len(p.seen) != 2 || !strings.HasPrefix(slices.Sorted(slices.Values(p.seen))[0], ".ferry-job1-7-") {
		t.Fatalf("while writing, d held %q; want first and a temporary file tagged job1-7", p.seen)
	}

	// Leftovers of a crash: this task's, another task's, an untagged one.
	mine := []string{".ferry-job1-7-0123456789abcdef.tmp", ".ferry-job1-7-fedcba9876543210.tmp"}
	others := []string{".ferry-job1-8-0123456789abcdef.tmp", ".ferry-0123456789abcdef.tmp", "job1-7-user-file"}
	for _, n := range append(slices.Clone(mine), others...) {
		write(t, filepath.Join(l.Root(), "d", n), "leftover")
		write(t, filepath.Join(l.Root(), n), "leftover")
	}
	if got := keysOf(mustEntries(t, l, "")); !slices.Equal(got, []string{"d/f", "d/first", "d/job1-7-user-file", "job1-7-user-file"}) {
		t.Fatalf("List shows temporary files: %q", got)
	}
	for _, dir := range []string{"d", ""} {
		if err := l.CleanTemps(context.Background(), dir, "job1-7"); err != nil {
			t.Fatal(err)
		}
		des, _ := os.ReadDir(filepath.Join(l.Root(), dir))
		var left []string
		for _, de := range des {
			left = append(left, de.Name())
		}
		for _, n := range mine {
			if slices.Contains(left, n) {
				t.Errorf("CleanTemps(%q) left %s", dir, n)
			}
		}
		for _, n := range others {
			if !slices.Contains(left, n) {
				t.Errorf("CleanTemps(%q) removed %s, which is not this task's", dir, n)
			}
		}
	}
	if err := l.CleanTemps(context.Background(), "no/such/dir", "job1-7"); err != nil {
		t.Errorf("CleanTemps of a missing directory = %v", err)
	}
	if err := l.CleanTemps(context.Background(), "d", ""); err == nil {
		t.Errorf("CleanTemps with no tag succeeded")
	}
	bad := store.PutOptions{TempTag: "no/slash"}
	if _, err := l.Put(ctx, "d/g", strings.NewReader("x"), store.Entry{}, bad); err == nil {
		t.Errorf("Put with an invalid tag succeeded")
	}
}

// TestConformanceTempFiles runs the suite with each other way of making
// temporary files than the one this machine's probe picks.
func TestConformanceTempFiles(t *testing.T) {
	for _, m := range []struct {
		name string
		mode int32
	}{{"Named", anonNone}, {"UnnamedProc", anonProc}, {"UnnamedEmptyPath", anonEmptyPath}} {
		t.Run(m.name, func(t *testing.T) {
			if m.mode == anonEmptyPath && os.Geteuid() != 0 {
				t.Skip("linkat AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH")
			}
			storetest.Run(t, func(t *testing.T) store.Store {
				l := newStore(t, Options{})
				l.anon = m.mode
				return l
			})
		})
	}
}
