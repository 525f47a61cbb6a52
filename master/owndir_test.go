package master_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ferry/conf"
	"ferry/master"
	"ferry/task"
)

// Submit refuses, whichever console sent the job, a local path that is the
// master's directory, lies in it or holds it, also through a symbolic link,
// and stores nothing.
func TestSubmitRefusesOwnDir(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "workdir", "master")
	m, err := master.Open(master.Config{Dir: dir, LeaseDur: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	src := filepath.Join(root, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Skip(err)
	}
	local := func(p string) task.Endpoint { return task.Endpoint{Type: "local", Prefix: p} }
	for _, tc := range []struct {
		name      string
		src, dest task.Endpoint
		list      string
	}{
		{name: "dest-is", src: local(src), dest: local(dir)},
		{name: "dest-in", src: local(src), dest: local(filepath.Join(dir, "jobs"))},
		{name: "dest-holds", src: local(src), dest: local(filepath.Join(root, "workdir"))},
		{name: "dest-link", src: local(src), dest: local(filepath.Join(link, "x"))},
		{name: "src-holds", src: local(root), dest: task.Endpoint{Type: "s3", Prefix: "x/"}},
		{name: "src-in", src: local(filepath.Join(dir, "jobs")), dest: local(filepath.Join(root, "out"))},
		{name: "list-in", src: task.Endpoint{Type: "http"}, list: filepath.Join(dir, "token"), dest: local(filepath.Join(root, "out"))},
	} {
		spec := conf.DefaultSpec(tc.name)
		spec.Src, spec.Dest, spec.HTTPList.File = tc.src, tc.dest, tc.list
		if err := m.Submit(context.Background(), spec); !errors.Is(err, master.ErrOwnDir) {
			t.Errorf("%s: err %v, want ErrOwnDir", tc.name, err)
		}
		if _, err := m.DB().Job(tc.name); !errors.Is(err, task.ErrNoJob) {
			t.Errorf("%s: stored anyway (%v)", tc.name, err)
		}
	}
	// Beside the master's directory is fine: the default job copies into
	// workdir/dest.
	spec := conf.DefaultSpec("beside")
	spec.Src, spec.Dest = local(src), local(filepath.Join(root, "workdir", "dest", "x"))
	if err := m.Submit(context.Background(), spec); err != nil {
		t.Errorf("beside: %v", err)
	}
}
