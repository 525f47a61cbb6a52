//go:build linux

package local

import (
	"context"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"ferry/store"
)

// The store's own tests again, against the portable implementation, the
// one every system but Linux has: it runs here so that it cannot rot.
// Tests of the Linux fast path's internals (unnamed temporary files,
// getdents64 parsing, system calls on built paths, map-based digests) have
// no portable counterpart and are left out.
func TestPortable(t *testing.T) {
	portableTests = true
	defer func() { portableTests = false }()
	for _, test := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"OpenStat", TestOpenStat},
		{"OpenStatShrunk", TestOpenStatShrunk},
		{"OpenStatRefuses", TestOpenStatRefuses},
		{"PutMode", TestPutMode},
		{"PutModeUnderUmaskAndACL", TestPutModeUnderUmaskAndACL},
		{"PartDigests", TestPartDigests},
		{"SymlinksNotFollowed", TestSymlinksNotFollowed},
		{"SymlinksFollowed", TestSymlinksFollowed},
		{"SpecialFiles", TestSpecialFiles},
		{"UnreadableDirectory", TestUnreadableDirectory},
		{"TempFilesHidden", TestTempFilesHidden},
		{"PutLeavesNoTempFile", TestPutLeavesNoTempFile},
		{"PutThroughFile", TestPutThroughFile},
		{"PutMTime", TestPutMTime},
		{"LongName", TestLongName},
		{"LongNameLeavesNothing", TestLongNameLeavesNothing},
		{"DeepNesting", TestDeepNesting},
		{"DeleteKeepsNonEmptyParents", TestDeleteKeepsNonEmptyParents},
		{"InvalidPrefix", TestInvalidPrefix},
		{"StatOpenErrors", TestStatOpenErrors},
		{"TempTagAndCleanTemps", TestTempTagAndCleanTemps},
		{"ListAheadSameAsSerial", TestListAheadSameAsSerial},
		{"ListAheadStops", TestListAheadStops},
		{"PutRefusesLinksInDestination", TestPutRefusesLinksInDestination},
		{"PutReplacesLinkAtKey", TestPutReplacesLinkAtKey},
		{"DeleteRefusesLinksInDestination", TestDeleteRefusesLinksInDestination},
		{"DeleteLinkAtKey", TestDeleteLinkAtKey},
		{"CleanTempsRefusesLinksInDestination", TestCleanTempsRefusesLinksInDestination},
	} {
		t.Run(test.name, test.fn)
	}
}

// The portable walk lists exactly what the Linux one lists, for whole
// trees and resumed listings, with and without symlinks followed and
// subtrees listed ahead.
func TestPortableListsAsLinux(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "f"), "hello")
	write(t, filepath.Join(root, "dir", "g"), "gg")
	write(t, filepath.Join(root, "dir", "sub", "h"), "hhh")
	write(t, filepath.Join(root, "dir-"), "sorts before dir/")
	write(t, filepath.Join(root, ".ferry-0123456789abcdef.tmp"), "a crashed Put's")
	symlinkTree(t, filepath.Join(root, "links"))
	l, err := net.Listen("unix", filepath.Join(root, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, opt := range []Options{{}, {FollowSymlinks: true}, {ScanThreads: 3, ScanDepth: 2}} {
		linux := listAll(t, root, opt, "", "")
		linuxResumed := listAll(t, root, opt, "dir", "dir-")
		portableTests = true
		portable := listAll(t, root, opt, "", "")
		resumed := listAll(t, root, opt, "dir", "dir-")
		portableTests = false
		if !slices.Equal(portable, linux) {
			t.Errorf("%+v: portable\n%s\nwant\n%s", opt, strings.Join(portable, "\n"), strings.Join(linux, "\n"))
		}
		if !slices.Equal(resumed, linuxResumed) {
			t.Errorf("%+v: portable resumed %q, want %q", opt, resumed, linuxResumed)
		}
		if len(linux) < 10 || !slices.Contains(linux, "dir/sub/h file 3") {
			t.Errorf("%+v: listing %q misses entries", opt, linux)
		}
	}
}

// Without syncfs, Put notes each directory it added a name to (the file's,
// and those it made, up to the root) and Sync fsyncs them all.
func TestPortableSyncsDirectories(t *testing.T) {
	l := newStore(t, Options{})
	l.portable = true
	ctx := context.Background()
	for _, k := range []string{"top", "a/b/c", "a/b/d"} {
		if _, err := l.Put(ctx, k, strings.NewReader(k), store.Entry{}, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{l.Root(), filepath.Join(l.Root(), "a"), filepath.Join(l.Root(), "a", "b")}
	l.mu.Lock()
	got := slices.Sorted(maps.Keys(l.dirs))
	l.mu.Unlock()
	if !slices.Equal(got, want) {
		t.Errorf("directories to sync %q, want %q", got, want)
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(l.dirs) != 0 {
		t.Errorf("directories left to sync after Sync: %q", slices.Collect(maps.Keys(l.dirs)))
	}
}
