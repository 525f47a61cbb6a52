//go:build linux

package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"ferry/store"
	"ferry/store/storetest"
)

// Symbolic links planted in a destination (issue 15, defect 4): Put,
// Delete and CleanTemps never follow one below the root.

// outside makes a directory outside any store's root holding victim.conf
// and x/victim.conf (mode 0600), and returns its path and a check that
// fails the test if anything in it changed: a name, a mode or content.
func outside(t *testing.T) (string, func()) {
	t.Helper()
	dir := t.TempDir()
	for _, p := range []string{"victim.conf", "x/victim.conf"} {
		write(t, filepath.Join(dir, p), "secret "+p+"\n")
		if err := os.Chmod(filepath.Join(dir, p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(t, filepath.Join(dir, ".ferry-job1-7-0123456789abcdef.tmp"), "not ferry's to clean")
	write(t, filepath.Join(dir, "x", ".ferry-job1-7-0123456789abcdef.tmp"), "not ferry's to clean")
	before := snapshotDir(t, dir)
	return dir, func() {
		t.Helper()
		if after := snapshotDir(t, dir); !maps.Equal(after, before) {
			t.Errorf("the directory outside the destination changed:\n%q\nwas\n%q", after, before)
		}
	}
}

// snapshotDir maps each name below dir to its mode and content.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		s := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s += " " + string(b)
		}
		m[p] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// plant makes the symbolic link root/link -> target, with link's parents.
func plant(t *testing.T, root, link, target string) {
	t.Helper()
	p := filepath.Join(root, link)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// linkCases are keys below a directory link: link is planted at the
// root's link, pointing outside; comp is the link the error names.
var linkCases = []struct{ name, link, key string }{
	{"KeyDirectory", "sub", "sub/victim.conf"},           // the case
	{"DeeperKeyDirectory", "a/sub", "a/sub/victim.conf"}, // below a real directory
	{"Intermediate", "sub", "sub/x/victim.conf"},         // a directory above the key's
	{"DirectoryToMake", "sub", "sub/new/victim.conf"},    // below it, one Put would make
}

// linkStore is a new store in each way Put can make its temporary files
// here, each named for the subtest.
func linkStores(t *testing.T, fn func(t *testing.T, l *Local)) {
	for _, m := range []struct {
		name string
		anon int32
	}{{"Probed", anonUnknown}, {"Named", anonNone}} {
		t.Run(m.name, func(t *testing.T) {
			l := newStore(t, Options{})
			l.anon = m.anon
			fn(t, l)
		})
	}
}

func TestPutRefusesLinksInDestination(t *testing.T) {
	for _, c := range linkCases {
		t.Run(c.name, func(t *testing.T) {
			linkStores(t, func(t *testing.T, l *Local) {
				out, unchanged := outside(t)
				plant(t, l.Root(), c.link, out)
				_, err := l.Put(context.Background(), c.key, strings.NewReader("from the source\n"), store.Entry{Mode: 0o644}, store.PutOptions{TempTag: "job1-7"})
				want := fmt.Sprintf("put %q: %q in the destination is a symbolic link (to %s); ferry does not write through links in the destination", c.key, c.link, out)
				if err == nil || err.Error() != want || !errors.Is(err, errLinkInDest) {
					t.Errorf("Put(%q) = %v\nwant %s", c.key, err, want)
				}
				unchanged()
				if fi, err := os.Lstat(filepath.Join(l.Root(), c.link)); err != nil || fi.Mode().Type() != fs.ModeSymlink {
					t.Errorf("the link itself: %v, %v", fi, err)
				}
			})
		})
	}
}

// A link at the key itself is replaced by the file, as any existing file
// would be: the link goes, and what it pointed to stays as it was.
func TestPutReplacesLinkAtKey(t *testing.T) {
	linkStores(t, func(t *testing.T, l *Local) {
		out, unchanged := outside(t)
		links := map[string]string{
			"k":        filepath.Join(out, "victim.conf"),
			"d/k":      filepath.Join(out, "victim.conf"),
			"dangling": filepath.Join(out, "missing.conf"),
			"dirlink":  out,
		}
		for key, target := range links {
			plant(t, l.Root(), key, target)
		}
		for key := range links {
			if _, err := l.Put(context.Background(), key, strings.NewReader("new "+key), store.Entry{Mode: 0o644}, store.PutOptions{}); err != nil {
				t.Errorf("Put(%q) over a link: %v", key, err)
				continue
			}
			p := filepath.Join(l.Root(), key)
			fi, err := os.Lstat(p)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
				t.Errorf("%s after Put: %v, %v; want a regular file, mode 0644", key, fi, err)
			}
			if b, _ := os.ReadFile(p); string(b) != "new "+key {
				t.Errorf("%s holds %q", key, b)
			}
		}
		unchanged()
	})
}

func TestDeleteRefusesLinksInDestination(t *testing.T) {
	for _, c := range linkCases {
		t.Run(c.name, func(t *testing.T) {
			l := newStore(t, Options{})
			out, unchanged := outside(t)
			plant(t, l.Root(), c.link, out)
			err := l.Delete(context.Background(), c.key)
			want := fmt.Sprintf("delete %q: %q in the destination is a symbolic link (to %s); ferry does not write through links in the destination", c.key, c.link, out)
			if err == nil || err.Error() != want {
				t.Errorf("Delete(%q) = %v\nwant %s", c.key, err, want)
			}
			unchanged()
		})
	}
}

// Delete of a key that is a link removes the link, not what it points to.
func TestDeleteLinkAtKey(t *testing.T) {
	l := newStore(t, Options{})
	out, unchanged := outside(t)
	plant(t, l.Root(), "d/k", filepath.Join(out, "victim.conf"))
	if err := l.Delete(context.Background(), "d/k"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(l.Root(), "d")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("d after its only key was deleted: %v", err)
	}
	unchanged()
}

// CleanTemps does not look into a directory through a link: no temporary
// file of ferry's can be there, since Put refuses to write there.
func TestCleanTempsRefusesLinksInDestination(t *testing.T) {
	l := newStore(t, Options{})
	out, unchanged := outside(t)
	plant(t, l.Root(), "sub", out)
	plant(t, l.Root(), "a/sub", out)
	for _, dir := range []string{"sub", "sub/x", "a/sub", "a/sub/x"} {
		if err := l.CleanTemps(context.Background(), dir, "job1-7"); err != nil {
			t.Errorf("CleanTemps(%q) = %v", dir, err)
		}
	}
	unchanged()
}

// The tests of links again, and those of Put, Delete and CleanTemps
// through the directories they reach, where the kernel has no openat2:
// walking one component at a time.
func TestLinksWithoutOpenat2(t *testing.T) {
	walkTests = true
	defer func() { walkTests = false }()
	for _, test := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"PutRefusesLinksInDestination", TestPutRefusesLinksInDestination},
		{"PutReplacesLinkAtKey", TestPutReplacesLinkAtKey},
		{"DeleteRefusesLinksInDestination", TestDeleteRefusesLinksInDestination},
		{"DeleteLinkAtKey", TestDeleteLinkAtKey},
		{"CleanTempsRefusesLinksInDestination", TestCleanTempsRefusesLinksInDestination},
		{"PutThroughFile", TestPutThroughFile},
		{"DeepNesting", TestDeepNesting},
		{"DeleteKeepsNonEmptyParents", TestDeleteKeepsNonEmptyParents},
		{"TempTagAndCleanTemps", TestTempTagAndCleanTemps},
		{"PutAfterItsDirectoryWasRemoved", TestPutAfterItsDirectoryWasRemoved},
	} {
		t.Run(test.name, test.fn)
	}
	storetest.Run(t, func(t *testing.T) store.Store { return newStore(t, Options{}) })
}

// This kernel has openat2 (Linux 5.6+), so Put's fast path is the one the
// other tests take: one openat2 of a key's directory, no walk.
func TestOpenat2Used(t *testing.T) {
	l := newStore(t, Options{})
	storetest.Put(t, l, "a/b/c", "x") // walks: a and a/b are made
	storetest.Put(t, l, "a/b/d", "y")
	if l.noOpenat2.Load() {
		t.Fatal("openat2 was found missing or refused; the link tests cover only the walk")
	}
	root, err := l.rootDir()
	if err != nil {
		t.Fatal(err)
	}
	p := []byte("a/b\x00")
	fd, err := openat2Dir(root, &p[0])
	if err != nil {
		t.Fatalf("openat2 of a/b: %v", err)
	}
	unix.Close(fd)
}
