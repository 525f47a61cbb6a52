package conf

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func resolveJob(t *testing.T, home string, edits ...string) (*Job, error) {
	t.Helper()
	j, err := ParseJob(strings.NewReader(jobText(edits...)), "conf/job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	return j, j.Resolve(home)
}

func TestJobResolve(t *testing.T) {
	home := t.TempDir()
	uh, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src, dst          string
		wantSrc, wantDest string
		err               string
	}{
		{src: "sample/", dst: "workdir/dest/x/", wantSrc: home + "/sample", wantDest: home + "/workdir/dest/x"},
		{src: "/abs/src/", dst: "./out/../out2", wantSrc: "/abs/src", wantDest: home + "/out2"},
		{src: "~/photos/", dst: "/backup", wantSrc: uh + "/photos", wantDest: "/backup"},
		{src: "/a/src", dst: "/a/src2", wantSrc: "/a/src", wantDest: "/a/src2"}, // a shared string prefix is fine
		{src: "/a/src", dst: "/a/src/", err: `conf/job.cfg:5: destPrefix: "/a/src" is the same directory as srcPrefix (line 3)`},
		{src: "/a/src", dst: "/a/src/backup", err: `conf/job.cfg:5: destPrefix: "/a/src/backup" is inside srcPrefix "/a/src" (line 3); the copy would copy itself`},
		{src: "/a/src", dst: "/a", err: `conf/job.cfg:5: destPrefix: "/a" contains srcPrefix "/a/src" (line 3); the copy could overwrite its source`},
		{src: "/", dst: "/x", err: `conf/job.cfg:5: destPrefix: "/x" is inside srcPrefix "/" (line 3); the copy would copy itself`},
		{src: "sample", dst: ".", err: `contains srcPrefix`},
	}
	if runtime.GOOS != "windows" {
		tests = append(tests,
			struct{ src, dst, wantSrc, wantDest, err string }{src: "D:/work/oss/data/", dst: "/x",
				err: `conf/job.cfg:3: srcPrefix: "D:/work/oss/data/" is a Windows path; give a path on this ` + runtime.GOOS + " host"},
			struct{ src, dst, wantSrc, wantDest, err string }{src: "/x", dst: `e:\backup`,
				err: `conf/job.cfg:5: destPrefix: "e:\\backup" is a Windows path`},
		)
	}
	for _, tc := range tests {
		j, err := resolveJob(t, home, "srcPrefix="+tc.src, "destPrefix="+tc.dst)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s -> %s: err %v, want %q", tc.src, tc.dst, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s -> %s: %v", tc.src, tc.dst, err)
			continue
		}
		if j.SrcPrefix != tc.wantSrc || j.DestPrefix != tc.wantDest {
			t.Errorf("%s -> %s: resolved %s -> %s, want %s -> %s", tc.src, tc.dst, j.SrcPrefix, j.DestPrefix, tc.wantSrc, tc.wantDest)
		}
		// Resolving again changes nothing.
		if err := j.Resolve("/elsewhere"); err != nil || j.SrcPrefix != tc.wantSrc || j.DestPrefix != tc.wantDest {
			t.Errorf("second Resolve: %v, %s -> %s", err, j.SrcPrefix, j.DestPrefix)
		}
	}
}

func TestJobResolveSymlink(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "src", "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(home, "src", "inner"), filepath.Join(home, "link")); err != nil {
		t.Skip(err)
	}
	// dest does not exist yet, but its existing parent is a link into src.
	_, err := resolveJob(t, home, "srcPrefix=src", "destPrefix=link/new/dir")
	if err == nil || !strings.Contains(err.Error(), "inside srcPrefix") || !strings.Contains(err.Error(), "after following symbolic links") {
		t.Errorf("err = %v", err)
	}
	if _, err := resolveJob(t, home, "srcPrefix=src", "destPrefix=out"); err != nil {
		t.Errorf("unrelated dest: %v", err)
	}
}

func TestSysResolve(t *testing.T) {
	uh, err := os.UserHomeDir()
	if err != nil {
		t.Fatal(err)
	}
	s, err := ParseSys(strings.NewReader("workingDir=wd\nprivateKeyFile=~/.ssh/id_ed25519\n"), "sys.properties")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve("/opt/ferry"); err != nil {
		t.Fatal(err)
	}
	if s.WorkingDir != "/opt/ferry/wd" || s.PrivateKeyFile != uh+"/.ssh/id_ed25519" || s.KnownHostsFile != uh+"/.ssh/known_hosts" {
		t.Errorf("got %q %q %q", s.WorkingDir, s.PrivateKeyFile, s.KnownHostsFile)
	}
	d := DefaultSys()
	if err := d.Resolve("/opt/ferry"); err != nil || d.WorkingDir != "/opt/ferry/workdir" || d.PrivateKeyFile != "" {
		t.Errorf("defaults: %v %q %q", err, d.WorkingDir, d.PrivateKeyFile)
	}
	if runtime.GOOS != "windows" {
		s, _ := ParseSys(strings.NewReader("\nknownHostsFile=C:/Users/me/known_hosts\n"), "sys.properties")
		err := s.Resolve("/opt/ferry")
		if err == nil || !strings.HasPrefix(err.Error(), `sys.properties:2: knownHostsFile: "C:/Users/me/known_hosts" is a Windows path`) {
			t.Errorf("windows path: %v", err)
		}
	}
}
