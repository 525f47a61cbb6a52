package local

import (
	"context"
	"crypto/md5"
	"errors"
	"hash/crc64"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ferry/store"
)

func TestOpenStat(t *testing.T) {
	ctx := context.Background()
	l := newStore(t, Options{})
	p := filepath.Join(l.Root(), "d", "f")
	write(t, p, "hello")
	mt := time.Unix(1700000000, 123456789)
	if err := os.Chtimes(p, time.Time{}, mt); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o640); err != nil {
		t.Fatal(err)
	}
	f, e, err := l.OpenStat(ctx, "d/f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if e.Key != "d/f" || e.Kind != store.File || e.Size != 5 || !e.MTime.Equal(mt) || e.Mode != 0o640 {
		t.Fatalf("OpenStat entry = %+v, want d/f, file, 5 bytes, mtime %v, mode 0640", e, mt)
	}
	// The file grows after the open: reads stop at the size opened, and
	// Stat shows the change.
	a, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	a.WriteString(" world")
	a.Close()
	got, err := io.ReadAll(f)
	if err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v; want the 5 bytes there at the open", got, err)
	}
	now, err := f.Stat()
	if err != nil || now.Size != 11 {
		t.Fatalf("Stat after growth = %+v, %v; want size 11", now, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
}

func TestOpenStatShrunk(t *testing.T) {
	l := newStore(t, Options{})
	p := filepath.Join(l.Root(), "f")
	write(t, p, "0123456789")
	f, e, err := l.OpenStat(context.Background(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Truncate(p, 4); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(f)
	if err != nil || string(got) != "0123" {
		t.Fatalf("read %q, %v after the file shrank to 4 bytes; want \"0123\"", got, err)
	}
	if now, _ := f.Stat(); now.Size == e.Size {
		t.Fatalf("Stat after shrinking still says %d bytes", now.Size)
	}
}

// oddKeys makes, in root, the file name holding content and, beside it,
// what an open must not take for a regular file: "link" (a symlink to
// name), "fifo" and "dir".
func oddKeys(t *testing.T, root, name, content string) {
	t.Helper()
	write(t, filepath.Join(root, name), content)
	if err := os.Symlink(name, filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestOpenStatRefuses(t *testing.T) {
	ctx := context.Background()
	l := newStore(t, Options{})
	root := l.Root()
	oddKeys(t, root, "target", "x")
	for _, c := range []struct {
		key, want string
		is        error
	}{
		{"missing", "missing", store.ErrNotExist},
		{"dir", "is a directory", store.ErrNotExist},
		{"fifo", "not a regular file (fifo)", nil},
		{"link", "symlink not followed", nil},
		{"../x", "", store.ErrInvalidKey},
	} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			f, _, err := l.OpenStat(ctx, c.key)
			if err == nil {
				f.Close()
				t.Errorf("OpenStat(%q) opened it", c.key)
				return
			}
			if !strings.Contains(err.Error(), c.want) || c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("OpenStat(%q) = %v, want %q (%v)", c.key, err, c.want, c.is)
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("OpenStat(%q) hangs", c.key)
		}
	}
	fl := newStore(t, Options{FollowSymlinks: true})
	write(t, filepath.Join(fl.Root(), "target"), "abc")
	os.Symlink("target", filepath.Join(fl.Root(), "link"))
	f, e, err := fl.OpenStat(ctx, "link")
	if err != nil || e.Size != 3 {
		t.Fatalf("OpenStat(link) with FollowSymlinks = %+v, %v; want the 3-byte target", e, err)
	}
	f.Close()
}

// TestPutMode checks that Put gives the file the mode asked for, even bits
// the umask would take away at creation, and 0644 less the umask without.
func TestPutMode(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	l := newStore(t, Options{})
	ctx := context.Background()
	for _, c := range []struct {
		mode, want uint32
	}{{0o666, 0o666}, {0o600, 0o600}, {0o755, 0o755}, {0o444, 0o444}, {0, 0o640}} {
		key := "m" + strings.Repeat("x", int(c.mode%7))
		if _, err := l.Put(ctx, key, strings.NewReader("data"), store.Entry{Mode: c.mode}, store.PutOptions{}); err != nil {
			t.Fatalf("Put mode %#o: %v", c.mode, err)
		}
		fi, err := os.Stat(filepath.Join(l.Root(), key))
		if err != nil {
			t.Fatal(err)
		}
		if got := uint32(fi.Mode().Perm()); got != c.want {
			t.Errorf("Put with mode %#o under umask 027: file has %#o, want %#o", c.mode, got, c.want)
		}
		os.Remove(filepath.Join(l.Root(), key))
	}
}

// TestPartDigests checks the digests of parts read through memory maps
// against crypto/md5 and hash/crc64 over the same bytes, for part sizes
// that cross map windows, do not start on a page, and leave a short last
// part (which crypto/md5 hashes), and a part size larger than the file.
func TestPartDigests(t *testing.T) {
	l := newStore(t, Options{})
	data := make([]byte, mapWindow+5<<20+12345)
	for i := range data {
		data[i] = byte(i*7 + i>>11)
	}
	if err := os.WriteFile(filepath.Join(l.Root(), "big"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, partSize := range []int64{5 << 20, 5<<20 + 4097, mapWindow + 1, int64(len(data)) + 1} {
		ds, size, err := l.PartDigests(context.Background(), "big", partSize)
		if err != nil || size != int64(len(data)) {
			t.Fatalf("part size %d: size %d, %v", partSize, size, err)
		}
		if want := (int64(len(data)) + partSize - 1) / partSize; int64(len(ds)) != want {
			t.Fatalf("part size %d: %d parts, want %d", partSize, len(ds), want)
		}
		for i, d := range ds {
			p := data[int64(i)*partSize : min(int64(len(data)), int64(i+1)*partSize)]
			if d.Size != int64(len(p)) || d.MD5 != md5.Sum(p) || d.CRC64 != crc64.Checksum(p, store.CRC64Table) {
				t.Errorf("part size %d, part %d: %d bytes %x %016x; want %d %x %016x", partSize, i, d.Size, d.MD5, d.CRC64,
					len(p), md5.Sum(p), crc64.Checksum(p, store.CRC64Table))
			}
		}
	}
	if _, _, err := l.PartDigests(context.Background(), "missing", 5<<20); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("digests of a missing key: %v, want ErrNotExist", err)
	}
}

// TestDigestShrunk checks that a file shrinking under its map while it is
// digested is an error, not a crash.
func TestDigestShrunk(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	data := make([]byte, 1<<20)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, len(data), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	if err := os.Truncate(p, 4096); err != nil {
		t.Fatal(err)
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if _, err := digestMapped(md5.New(), 0, m); err == nil || !strings.Contains(err.Error(), "shrank") {
		t.Fatalf("reading a map past the end of a truncated file: %v, want a shrank error", err)
	}
}

// TestWorthDigesting: files on this test's own file system are digested
// (it is local); the file systems whose reads cross a network are not.
func TestWorthDigesting(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := worthDigesting(int(f.Fd()), 1<<20); err != nil {
		t.Errorf("a 1 MiB file in %s: %v, want it digested", filepath.Dir(f.Name()), err)
	}
	if err := worthDigesting(int(f.Fd()), 1<<50); err == nil || !strings.Contains(err.Error(), "memory") {
		t.Errorf("a 1 PiB file: %v, want refused as larger than memory allows", err)
	}
	for _, c := range []struct {
		name string
		t    int64
		want bool
	}{{"nfs", unix.NFS_SUPER_MAGIC, true}, {"cifs", unix.CIFS_SUPER_MAGIC, true}, {"smb2", unix.SMB2_SUPER_MAGIC, true},
		{"fuse", unix.FUSE_SUPER_MAGIC, true}, {"ceph", unix.CEPH_SUPER_MAGIC, true}, {"lustre", 0x0bd00bd0, true},
		{"ext4", unix.EXT4_SUPER_MAGIC, false}, {"xfs", unix.XFS_SUPER_MAGIC, false}, {"tmpfs", unix.TMPFS_MAGIC, false},
		{"btrfs", unix.BTRFS_SUPER_MAGIC, false}} {
		if got := networkFS(c.t); got != c.want {
			t.Errorf("networkFS(%s) = %v, want %v", c.name, got, c.want)
		}
	}
}
