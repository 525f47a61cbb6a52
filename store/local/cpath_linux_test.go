package local

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCPath(t *testing.T) {
	for _, c := range []struct{ root, key, path string }{
		{"/", "k", "/k"},
		{"/", "d/k", "/d/k"},
		{"/srv/data", "k", "/srv/data/k"},
		{"/srv/data", "a/b/c", "/srv/data/a/b/c"},
	} {
		l := &Local{root: c.root}
		p := l.keyPath(c.key)
		if p.String() != c.path || p.b[len(p.b)-1] != 0 || p.String() != l.path(c.key) {
			t.Errorf("keyPath(%q) under %q = %q (%q), want %q and a NUL", c.key, c.root, p.String(), p.b, c.path)
		}
		p.free()
	}
	if p := procFDPath(12); p.String() != "/proc/self/fd/12" {
		t.Errorf("procFDPath(12) = %q", p.String())
	}
}

// The system calls take the path as built, and fail as x/sys/unix's do.
func TestCPathCalls(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("abc"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f", filepath.Join(dir, "ln")); err != nil {
		t.Fatal(err)
	}
	l := &Local{root: dir}
	var st unix.Stat_t
	p := l.keyPath("f")
	if err := statPath(p, &st, false); err != nil || st.Size != 3 || st.Mode&0o777 != 0o640 {
		t.Errorf("statPath(f): %v, size %d mode %o", err, st.Size, st.Mode&0o777)
	}
	fd, err := openPath(p, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	if n, _ := unix.Read(fd, buf); string(buf[:n]) != "abc" {
		t.Errorf("read %q through openPath", buf[:n])
	}
	unix.Close(fd)
	ln := l.keyPath("ln")
	if err := statPath(ln, &st, false); err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("lstat of a symlink: %v, mode %o", err, st.Mode)
	}
	if err := statPath(ln, &st, true); err != nil || st.Size != 3 {
		t.Errorf("stat through a symlink: %v, size %d", err, st.Size)
	}
	if _, err := openPath(ln, unix.O_RDONLY|unix.O_NOFOLLOW, 0); !errors.Is(err, unix.ELOOP) {
		t.Errorf("open O_NOFOLLOW of a symlink: %v, want ELOOP", err)
	}
	if err := statPath(l.keyPath("missing"), &st, false); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of a missing file: %v, want ErrNotExist", err)
	}
}
