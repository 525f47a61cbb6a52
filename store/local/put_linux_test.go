package local

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ferry/store"
	"ferry/store/storetest"
)

// defaultACL gives dir a default ACL under which new files get at most
// rw------- whatever mode they are created with (posix_acl_xattr format:
// version 2, then user::rw-, group::---, other::---).
func defaultACL(dir string) error {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 2)
	for _, e := range [][2]uint16{{0x01, 6}, {0x04, 0}, {0x20, 0}} {
		b = binary.LittleEndian.AppendUint16(b, e[0])
		b = binary.LittleEndian.AppendUint16(b, e[1])
		b = binary.LittleEndian.AppendUint32(b, 0xffffffff)
	}
	return unix.Setxattr(dir, "system.posix_acl_default", b, 0)
}

// Every file Put makes gets exactly the permission bits asked for, under a
// umask and under a default ACL, whatever the files made before it in the
// same directory got.
func TestPutModeUnderUmaskAndACL(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	l := newStore(t, Options{})
	ctx := context.Background()
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)
	dirs := []string{"plain", "acl"}
	for _, d := range dirs {
		if err := os.Mkdir(filepath.Join(l.Root(), d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	acl := true
	if err := defaultACL(filepath.Join(l.Root(), "acl")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("set a default ACL: %v (this kernel's tmpfs has no POSIX ACLs?)", err)
		}
		t.Logf("no default ACL (%v): the acl directory behaves as plain", err)
		acl = false
	}
	cases := []struct {
		mode, want uint32
	}{{0o644, 0o644}, {0o755, 0o755}, {0o600, 0o600}, {0o640, 0o640}, {0o751, 0o751}, {0o644, 0o644}}
	put := func(key string, mode uint32) {
		t.Helper()
		got, err := l.Put(ctx, key, strings.NewReader("data"), store.Entry{Mode: mode, MTime: mtime}, store.PutOptions{})
		if err != nil {
			t.Fatalf("Put %s: %v", key, err)
		}
		if got.Size != 4 || !got.MTime.Equal(mtime) {
			t.Errorf("Put %s returned size %d mtime %v", key, got.Size, got.MTime)
		}
	}
	for round := range 2 {
		for _, d := range dirs {
			for i, c := range cases {
				key := fmt.Sprintf("%s/r%d-f%d", d, round, i)
				put(key, c.mode)
				fi, err := os.Stat(filepath.Join(l.Root(), key))
				if err != nil {
					t.Fatal(err)
				}
				if got := uint32(fi.Mode().Perm()); got != c.want {
					t.Errorf("%s: mode %#o under umask 027, acl %v: file has %#o, want %#o", key, c.mode, acl && d == "acl", got, c.want)
				}
				if !fi.ModTime().Equal(mtime) {
					t.Errorf("%s: mtime %v, want %v", key, fi.ModTime(), mtime)
				}
			}
		}
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// A file system mounted below the root that Put wrote to is synced too:
// Put notes its device, and Sync flushes it.
func TestSyncFindsMounts(t *testing.T) {
	l := newStore(t, Options{})
	ctx := context.Background()
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := l.Put(ctx, "m/a", strings.NewReader("a"), store.Entry{MTime: mtime}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(l.Root(), "m")
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		if os.Getenv("CI") == "true" || !errors.Is(err, unix.EPERM) {
			t.Fatalf("mount a tmpfs on %s: %v", dir, err)
		}
		t.Skipf("mount needs root (%v); run the tests as root to cover this", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	_, noted := l.devs[uint64(st.Dev)]
	l.mu.Unlock()
	if noted {
		t.Fatal("the mounted device was noted before Put wrote to it; the test proves nothing")
	}
	if _, err := l.Put(ctx, "m/b", strings.NewReader("b"), store.Entry{MTime: mtime}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	_, noted = l.devs[uint64(st.Dev)]
	l.mu.Unlock()
	if !noted {
		t.Errorf("Sync does not know the file system mounted on %s that Put wrote m/b to", dir)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "b")); err != nil || string(data) != "b" {
		t.Errorf("m/b on the mounted file system: %q, %v", data, err)
	}
}

// An unnamed temporary file does not keep its directory: a Delete of the
// directory's last named key removes it while a Put there is writing. The
// Put makes the directory again and publishes all the same.
func TestPutAfterItsDirectoryWasRemoved(t *testing.T) {
	l := newStore(t, Options{})
	storetest.Put(t, l, "first", "x") // probes how to make temporary files
	if l.anon == anonNone {
		t.Skip("no O_TMPFILE here: a named temporary file keeps its directory")
	}
	dir := filepath.Join(l.Root(), "d")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d, _, err := l.openDest("put", "d/f", false)
	defer d.close()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := l.createAnon(d, "", 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir); err != nil { // what Delete of d's last key does
		t.Fatal(err)
	}
	if err := l.publishAnon(fd, d, ""); err != nil {
		t.Fatalf("publish into a removed directory: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(b) != "x" {
		t.Fatalf("published %q, %v", b, err)
	}
}
