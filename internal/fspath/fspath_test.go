package fspath

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWithinOverlap(t *testing.T) {
	for _, tc := range []struct {
		a, b           string
		within, overlp bool
	}{
		{"/a", "/a", false, true},
		{"/a", "/a/b", true, true},
		{"/a/b", "/a", false, true},
		{"/a/src", "/a/src2", false, false}, // a shared string prefix is not inside
		{"/", "/x", true, true},
		{"/a", "/a/..b", true, true},
	} {
		if got := Within(tc.a, tc.b); got != tc.within {
			t.Errorf("Within(%q, %q) = %v", tc.a, tc.b, got)
		}
		if got := Overlap(tc.a, tc.b); got != tc.overlp {
			t.Errorf("Overlap(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestReal(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "target"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "target"), filepath.Join(dir, "link")); err != nil {
		t.Skip(err)
	}
	if got, want := Real(filepath.Join(dir, "link", "not", "yet")), filepath.Join(dir, "target", "not", "yet"); got != want {
		t.Errorf("Real = %q, want %q", got, want)
	}
	if got, want := Real(filepath.Join(dir, "plain")), filepath.Join(dir, "plain"); got != want {
		t.Errorf("Real = %q, want %q", got, want)
	}
}
