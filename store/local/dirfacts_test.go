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

// Put looks at the first file it makes in a directory, and at none of the
// others made with the same mode until Sync; every file still gets exactly
// the permission bits asked for, under a umask and under a default ACL.
func TestPutLearnsDirectories(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	l := newStore(t, Options{})
	if l.anonMode() == anonNone {
		t.Skip("no O_TMPFILE here: Put always looks at its named temporary files")
	}
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
	}{{0o644, 0o644}, {0o644, 0o644}, {0o644, 0o644}, {0o751, 0o751}, {0o644, 0o644}}
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
			before := l.fstats.Load()
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
			// Created with 0644, then 0751, then 0644 again: three looks.
			if n := l.fstats.Load() - before; n != 3 {
				t.Errorf("round %d, %s: %d of %d Puts looked at their file, want 3 (one per change of creation mode)", round, d, n, len(cases))
			}
		}
		if err := l.Sync(ctx); err != nil { // forgets: the next round looks again
			t.Fatal(err)
		}
	}
	// Without a date to set, Put reads the file's own mtime: it looks.
	before := l.fstats.Load()
	if _, err := l.Put(ctx, "plain/undated", strings.NewReader("x"), store.Entry{}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := l.fstats.Load() - before; n != 1 {
		t.Errorf("an undated Put looked %d times, want 1", n)
	}
}

// A file system mounted over a directory Put has learned is synced all the
// same: Sync finds the directory on another device. So it does when Put
// has learned so many directories since that it started a new map.
func TestSyncFindsMountsSinceLearned(t *testing.T) {
	for _, others := range []int{0, 2 * maxDirFacts} {
		t.Run(fmt.Sprintf("others=%d", others), func(t *testing.T) { testSyncFindsMounts(t, others) })
	}
}

func testSyncFindsMounts(t *testing.T, others int) {
	l := newStore(t, Options{})
	if l.anonMode() == anonNone {
		t.Skip("no O_TMPFILE here: Put always looks at its named temporary files")
	}
	ctx := context.Background()
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	// The first Put makes the directory (with a named temporary file); the
	// second makes an unnamed file there and learns the directory.
	for _, k := range []string{"m/a", "m/a2"} {
		if _, err := l.Put(ctx, k, strings.NewReader("a"), store.Entry{MTime: mtime}, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(l.Root(), "m")
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		if os.Getenv("CI") == "true" || !errors.Is(err, unix.EPERM) {
			t.Fatalf("mount a tmpfs on %s: %v", dir, err)
		}
		t.Skipf("mount needs root (%v); run the tests as root to cover this", err)
	}
	defer unix.Unmount(dir, unix.MNT_DETACH)
	before := l.fstats.Load()
	if _, err := l.Put(ctx, "m/b", strings.NewReader("b"), store.Entry{MTime: mtime}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := l.fstats.Load() - before; n != 0 {
		t.Fatalf("the second Put in m looked at its file (%d): this test needs the learned path", n)
	}
	for i := range others { // learned after m, pushing it out of the map
		for _, k := range []string{"a", "b"} {
			if _, err := l.Put(ctx, fmt.Sprintf("o%d/%s", i, k), strings.NewReader("o"), store.Entry{MTime: mtime}, store.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	_, noted := l.devs[uint64(st.Dev)]
	l.mu.Unlock()
	if noted {
		t.Fatal("the mounted device was noted before Sync; the test proves nothing")
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	_, noted = l.devs[uint64(st.Dev)]
	l.mu.Unlock()
	if !noted {
		t.Errorf("Sync did not find the file system mounted on %s since Put learned it: m/b is not synced", dir)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "b")); err != nil || string(data) != "b" {
		t.Errorf("m/b on the mounted file system: %q, %v", data, err)
	}
}
