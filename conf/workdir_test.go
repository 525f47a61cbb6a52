package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// workdirSys is sys.properties setting workingDir=w (on line 2), resolved
// against home.
func workdirSys(t *testing.T, home, w string) *Sys {
	t.Helper()
	s, err := ParseSys(strings.NewReader("# ferry\nworkingDir="+w+"\n"), "conf/sys.properties")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(home); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCheckWorkingDir(t *testing.T) {
	home, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := filepath.Join(home, "workdir")
	why := ` (workingDir in conf/sys.properties:2): it holds ferry's database and keys; `
	tests := []struct {
		edits []string
		err   string // "" accepted
	}{
		{[]string{"srcPrefix=sample", "destPrefix=out"}, ""},
		{[]string{"srcPrefix=sample", "destPrefix=workdir2"}, ""}, // a shared string prefix is fine
		{[]string{"srcPrefix=sample", "destPrefix=workdir/dest/local_test"}, ""},
		{[]string{"srcPrefix=sample", "destPrefix=workdir/dest"}, ""},
		{[]string{"srcPrefix=workdir/dest/local_test", "destPrefix=out"}, ""},
		{[]string{"srcPrefix=sample", "destPrefix=workdir/"},
			`conf/job.cfg:5: destPrefix: "` + w + `" is ferry's working directory` + why + `copy somewhere else ("` + w + `/dest" is free for copies)`},
		{[]string{"srcPrefix=sample", "destPrefix=workdir/master"},
			`conf/job.cfg:5: destPrefix: "` + w + `/master" is inside ferry's working directory "` + w + `"` + why + "copy somewhere else"},
		{[]string{"srcPrefix=sample", "destPrefix=workdir/x"}, `destPrefix: "` + w + `/x" is inside ferry's working directory`},
		{[]string{"srcPrefix=sample", "destPrefix=workdir/destination"}, `is inside ferry's working directory`},
		{[]string{"srcPrefix=sample", "destPrefix=workdir/dest/../master"}, `is inside ferry's working directory`},
		{[]string{"srcPrefix=/elsewhere/src", "destPrefix=."},
			`conf/job.cfg:5: destPrefix: "` + home + `" contains ferry's working directory "` + w + `"` + why},
		{[]string{"srcPrefix=workdir", "destPrefix=out"},
			`conf/job.cfg:3: srcPrefix: "` + w + `" is ferry's working directory` + why + "copy from a directory that neither holds it nor lies in it"},
		{[]string{"srcPrefix=workdir/master", "destPrefix=out"}, `conf/job.cfg:3: srcPrefix: "` + w + `/master" is inside ferry's working directory`},
		{[]string{"srcPrefix=.", "destPrefix=/elsewhere"}, `conf/job.cfg:3: srcPrefix: "` + home + `" contains ferry's working directory`},
		{[]string{"srcType=http", "srcPrefix=-", "httpListFilePath=workdir/master/token", "httpPrefixColumn=2", "relativePathColumn=1"},
			`conf/job.cfg:5: httpListFilePath: "` + w + `/master/token" is inside ferry's working directory "` + w + `"` + why + "keep the list somewhere else"},
		{[]string{"srcType=http", "srcPrefix=-", "httpListFilePath=lists/urls.txt", "httpPrefixColumn=2", "relativePathColumn=1",
			"destType=-", "destPrefix=backup/", "destDomain=http://oss.example.com", "destBucket=bucket", "destAccessKey=a", "destSecretKey=s"}, ""},
		// Object-store prefixes are keys, not paths.
		{[]string{"srcType=s3", "srcPrefix=workdir/", "srcDomain=s3.example.com", "srcBucket=bucket", "srcAccessKey=a", "srcSecretKey=s",
			"destPrefix=out"}, ""},
	}
	s := workdirSys(t, home, "workdir")
	for _, tc := range tests {
		j, err := ParseJob(strings.NewReader(jobText(tc.edits...)), "conf/job.cfg")
		if err != nil {
			t.Fatalf("%v: %v", tc.edits, err)
		}
		if err := j.Resolve(home); err != nil {
			t.Fatalf("%v: %v", tc.edits, err)
		}
		err = j.CheckWorkingDir(s)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%v: %v", tc.edits, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%v: err %v, want %q", tc.edits, err, tc.err)
		case err != nil && strings.Contains(err.Error(), "\n"):
			t.Errorf("%v: not one line: %q", tc.edits, err)
		}
	}
}

func TestCheckWorkingDirSymlink(t *testing.T) {
	home, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(home, "real-workdir")
	mkdirAll(t, filepath.Join(real, "master"), filepath.Join(home, "other"))
	if err := os.Symlink(filepath.Join(real, "master"), filepath.Join(home, "into-master")); err != nil {
		t.Skip(err)
	}
	if err := os.Symlink(real, filepath.Join(home, "wd-link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(real, "master"), filepath.Join(real, "dest")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		workingDir string
		edits      []string
		err        string
	}{
		// A destination that is a link into the working directory.
		{"real-workdir", []string{"srcPrefix=other", "destPrefix=into-master/new"},
			`conf/job.cfg:5: destPrefix: "` + real + `/master/new" is inside ferry's working directory "` + real +
				`" (after following symbolic links: "` + real + `/master/new", "` + real + `")`},
		// A working directory given through a link, a destination by its real path.
		{"wd-link", []string{"srcPrefix=other", "destPrefix=real-workdir/master"}, `is inside ferry's working directory "` + real + `" (after following`},
		// A source that is a link to the working directory.
		{"real-workdir", []string{"srcPrefix=wd-link", "destPrefix=out"}, `conf/job.cfg:3: srcPrefix: "` + real + `" is ferry's working directory (after following`},
		// dest/ itself a link to master/: copies are not free there.
		{"real-workdir", []string{"srcPrefix=other", "destPrefix=real-workdir/dest/x"}, `is inside ferry's working directory`},
		{"real-workdir", []string{"srcPrefix=other", "destPrefix=out"}, ""},
	}
	for _, tc := range tests {
		s := workdirSys(t, home, tc.workingDir)
		j, err := resolveJob(t, home, tc.edits...)
		if err != nil {
			t.Fatalf("%v: %v", tc.edits, err)
		}
		err = j.CheckWorkingDir(s)
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s %v: %v", tc.workingDir, tc.edits, err)
			}
		} else if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s %v: err %v, want %q", tc.workingDir, tc.edits, err, tc.err)
		}
	}
}

func mkdirAll(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
