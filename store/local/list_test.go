package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"ferry/store"
)

// describe renders entries as "key kind detail" lines, for comparison.
func describe(es []store.Entry) []string {
	var out []string
	for _, e := range es {
		kind := map[store.Kind]string{store.File: "file", store.Symlink: "symlink", store.Special: "special", store.Unreadable: "unreadable"}[e.Kind]
		s := e.Key + " " + kind
		if e.Kind == store.File {
			s += fmt.Sprintf(" %d", e.Size)
		}
		if e.Detail != "" {
			s += " " + e.Detail
		}
		out = append(out, s)
	}
	return out
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// symlinkTree makes files, links to them, and every kind of bad link: to
// an ancestor, mutual file links, mutual directory links, dangling.
func symlinkTree(t *testing.T, root string) {
	write(t, filepath.Join(root, "f"), "hello")
	write(t, filepath.Join(root, "d", "x"), "x")
	write(t, filepath.Join(root, "p1", "file"), "p1")
	write(t, filepath.Join(root, "p2", "file"), "p2")
	symlink(t, "f", filepath.Join(root, "link-f"))
	symlink(t, "d", filepath.Join(root, "link-d"))
	symlink(t, "nowhere", filepath.Join(root, "dangling"))
	symlink(t, "..", filepath.Join(root, "a", "loop"))
	symlink(t, "m2", filepath.Join(root, "m1"))
	symlink(t, "m1", filepath.Join(root, "m2"))
	symlink(t, "../p2", filepath.Join(root, "p1", "to2"))
	symlink(t, "../p1", filepath.Join(root, "p2", "to1"))
}

func TestSymlinksNotFollowed(t *testing.T) {
	l := newStore(t, Options{})
	symlinkTree(t, l.Root())
	want := []string{
		"a/loop symlink symlink not followed", "d/x file 1", "dangling symlink symlink not followed",
		"f file 5", "link-d symlink symlink not followed", "link-f symlink symlink not followed",
		"m1 symlink symlink not followed", "m2 symlink symlink not followed",
		"p1/file file 2", "p1/to2 symlink symlink not followed",
		"p2/file file 2", "p2/to1 symlink symlink not followed",
	}
	if got := describe(mustEntries(t, l, "")); !slices.Equal(got, want) {
		t.Fatalf("List =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range []string{"link-d/", "link-d/x", "a/loop/"} {
		if got := mustEntries(t, l, p); len(got) != 0 {
			t.Errorf("List(%q) = %q, want nothing: links are not followed", p, describe(got))
		}
	}
	ctx := context.Background()
	if e, err := l.Stat(ctx, "link-f"); err != nil || e.Kind != store.Symlink {
		t.Errorf("Stat(link-f) = %+v, %v; want a Symlink", e, err)
	}
	if rc, err := l.Open(ctx, "link-f", 0, -1); err == nil {
		rc.Close()
		t.Errorf("Open(link-f) succeeded without FollowSymlinks")
	}
}

func TestSymlinksFollowed(t *testing.T) {
	l := newStore(t, Options{FollowSymlinks: true})
	symlinkTree(t, l.Root())
	want := []string{
		"a/loop special symlink loop", "d/x file 1", "dangling special dangling symlink",
		"f file 5", "link-d/x file 1", "link-f file 5",
		"m1 special symlink loop", "m2 special symlink loop",
		"p1/file file 2", "p1/to2/file file 2", "p1/to2/to1 special symlink loop",
		"p2/file file 2", "p2/to1/file file 2", "p2/to1/to2 special symlink loop",
	}
	if got := describe(mustEntries(t, l, "")); !slices.Equal(got, want) {
		t.Fatalf("List =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Starting below the root (prefix, startAfter) gives the same answers.
	for _, c := range []struct{ prefix, after string }{
		{"link-d/", ""}, {"a/", ""}, {"a/loop/", ""}, {"p1/to2/", ""}, {"p1/to2/to1/", ""},
		{"", "link-d/"}, {"", "p1/to2/to1"}, {"p2/to1/", "p2/to1/f"}, {"m", ""},
	} {
		var want2 []string
		for _, w := range want {
			if k := strings.Fields(w)[0]; strings.HasPrefix(k, c.prefix) && k > c.after {
				want2 = append(want2, w)
			}
		}
		es, err := entries(t, l, c.prefix, c.after)
		if got := describe(es); err != nil || !slices.Equal(got, want2) {
			t.Errorf("List(%q, %q) = %q, %v; want %q", c.prefix, c.after, got, err, want2)
		}
	}
	ctx := context.Background()
	for key, want := range map[string]string{
		"m1": "symlink loop", "dangling": "dangling symlink", "a/loop/f": "",
	} {
		e, err := l.Stat(ctx, key)
		if err != nil || e.Detail != want {
			t.Errorf("Stat(%q) = %+v, %v; want detail %q", key, e, err, want)
		}
	}
	if e, err := l.Stat(ctx, "link-f"); err != nil || e.Kind != store.File || e.Size != 5 {
		t.Errorf("Stat(link-f) = %+v, %v; want the 5-byte file", e, err)
	}
	rc, err := l.Open(ctx, "link-d/x", 0, -1)
	if err != nil {
		t.Fatalf("Open(link-d/x): %v", err)
	}
	rc.Close()
}

func TestSpecialFiles(t *testing.T) {
	l := newStore(t, Options{})
	root := l.Root()
	if err := unix.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := []string{"pipe special not a regular file (fifo)"}
	if ln, err := net.Listen("unix", filepath.Join(root, "sock")); err == nil {
		defer ln.Close()
		want = append(want, "sock special not a regular file (socket)")
	} else {
		t.Logf("no unix socket (%v); testing the fifo only", err)
	}
	if got := describe(mustEntries(t, l, "")); !slices.Equal(got, want) {
		t.Fatalf("List = %q, want %q", got, want)
	}
	if e, err := l.Stat(context.Background(), "pipe"); err != nil || e.Kind != store.Special {
		t.Fatalf("Stat(pipe) = %+v, %v; want Special", e, err)
	}
	done := make(chan error, 1)
	go func() {
		rc, err := l.Open(context.Background(), "pipe", 0, -1)
		if err == nil {
			rc.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "fifo") {
			t.Fatalf("Open(pipe) = %v, want a not-a-regular-file error", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Open(pipe) blocks, waiting for a writer")
	}
}

// asUnprivileged runs fn on an OS thread without the capabilities that let
// root ignore file permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so
// that permission tests mean something when tests run as root. The thread is
// never given back: it ends with the goroutine.
func asUnprivileged(fn func()) error {
	if os.Geteuid() != 0 {
		fn()
		return nil
	}
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with its reduced rights
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capget(&hdr, &data[0]); err != nil {
			done <- fmt.Errorf("capget: %w", err)
			return
		}
		data[0].Effective &^= 1<<unix.CAP_DAC_OVERRIDE | 1<<unix.CAP_DAC_READ_SEARCH
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			done <- fmt.Errorf("capset: %w", err)
			return
		}
		fn()
		done <- nil
	}()
	return <-done
}

func TestUnreadableDirectory(t *testing.T) {
	t.Run("one thread", func(t *testing.T) { testUnreadableDirectory(t, Options{}) })
	t.Run("listed ahead", func(t *testing.T) { testUnreadableDirectory(t, Options{ScanThreads: 4, ScanDepth: 2}) })
}

func testUnreadableDirectory(t *testing.T, opt Options) {
	l := newStore(t, opt)
	root := l.Root()
	write(t, filepath.Join(root, "ok", "f"), "1")
	write(t, filepath.Join(root, "secret", "hidden"), "2")
	write(t, filepath.Join(root, "z"), "3")
	secret := filepath.Join(root, "secret")
	if err := os.Chmod(secret, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(secret, 0o755) })

	type result struct {
		got []string
		err error
	}
	cases := []struct{ prefix, after string }{
		{"", ""}, {"secret/", ""}, {"s", ""}, {"", "ok/f"}, {"", "secret/"},
		{"secret/h", ""}, {"", "secret/a"},
	}
	results := make([]result, len(cases))
	var readable bool
	err := asUnprivileged(func() {
		if f, err := os.Open(secret); err == nil {
			f.Close()
			readable = true
			return
		}
		for i, c := range cases {
			var es []store.Entry
			err := l.List(context.Background(), c.prefix, c.after, func(e store.Entry) error {
				es = append(es, e)
				return nil
			})
			results[i] = result{describe(es), err}
		}
	})
	if err != nil {
		t.Skipf("cannot drop root's file-permission capabilities: %v", err)
	}
	if readable {
		t.Skip("a mode-000 directory is still readable here")
	}
	unreadable := "secret/ unreadable cannot read directory: permission denied"
	wants := [][]string{
		{"ok/f file 1", unreadable, "z file 1"}, {unreadable}, {unreadable}, {unreadable, "z file 1"},
		{"z file 1"}, nil, nil,
	}
	for i, c := range cases {
		r := results[i]
		if wants[i] == nil { // the listing lies inside the unreadable directory
			if !errors.Is(r.err, store.ErrPermission) || len(r.got) != 0 {
				t.Errorf("List(%q, %q) = %q, %v; want ErrPermission and nothing", c.prefix, c.after, r.got, r.err)
			}
			continue
		}
		if r.err != nil || !slices.Equal(r.got, wants[i]) {
			t.Errorf("List(%q, %q) = %q, %v; want %q", c.prefix, c.after, r.got, r.err, wants[i])
		}
	}
}
