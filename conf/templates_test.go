package conf

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestTemplates loads the templates a new user runs with (this directory's
// job.cfg, sys.properties and workers) and resolves them against the
// repository root, as console.sh does.
func TestTemplates(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	j, err := LoadJob("../conf/job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Warnings) != 0 {
		t.Errorf("job.cfg warnings: %q", j.Warnings)
	}
	if err := j.Resolve(root); err != nil {
		t.Fatal(err)
	}
	if j.Name != "local_test" || j.SrcType != "local" || j.DestType != "local" ||
		j.SrcPrefix != filepath.Join(root, "sample") || j.DestPrefix != filepath.Join(root, "workdir", "dest", "local_test") {
		t.Errorf("job.cfg: %+v", j)
	}
	// The migration-control keys sit at their defaults.
	if skip, mode := j.UpdateRule(); j.IsIncremental || skip || mode != UpdateAlways || !j.Filter.Empty() || j.Mirror ||
		j.MaxDelete != 1000 || !j.PreserveMetadata || j.MaxThroughput != 0 || len(j.ThroughputSchedule.Windows) != 0 ||
		j.MaxRequestsPerSecond != 0 || j.IncrementalModeInterval != 86400*time.Second {
		t.Errorf("job.cfg migration control: %+v", j)
	}
	if fi, err := os.Stat(j.SrcPrefix); err != nil || !fi.IsDir() {
		t.Errorf("srcPrefix %s: %v", j.SrcPrefix, err)
	}

	s, err := LoadSys("../conf/sys.properties")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Get("workingDir"); !ok {
		t.Fatal("sys.properties not read")
	}
	if len(s.Warnings) != 0 {
		t.Errorf("sys.properties warnings: %q", s.Warnings)
	}
	if err := s.Resolve(root); err != nil {
		t.Fatal(err)
	}
	if s.WorkingDir != filepath.Join(root, "workdir") || s.WorkerTaskThreadNum != 16 || s.MasterAddress != "127.0.0.1:7790" ||
		s.WorkerRate() != 0 || s.IncrementalMinInterval != 900*time.Second {
		t.Errorf("sys.properties: %+v", s)
	}

	if _, err := os.Stat("../conf/workers"); err != nil {
		t.Fatal(err)
	}
	hosts, err := LoadWorkers("../conf/workers")
	if err != nil || len(hosts) != 0 {
		t.Errorf("workers: %v, %v (want no host: standalone)", hosts, err)
	}
}

// TestTemplatesDocumentEveryKey checks that each template sets every key of
// its file, each under a comment that gives its default (or says it is
// required), and, for implemented keys, says so.
func TestTemplatesDocumentEveryKey(t *testing.T) {
	for _, tc := range []struct {
		path string
		kind fileKind
	}{{"job.cfg", jobFile}, {"sys.properties", sysFile}} {
		data, err := os.ReadFile(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		lines := splitLines(data)
		p, err := parseProps(strings.NewReader(string(data)), tc.path)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keyTable {
			if k.file != tc.kind || k.alias != "" {
				continue
			}
			_, line, ok := p.get(k.name)
			if !ok {
				t.Errorf("%s does not set %s", tc.path, k.name)
				continue
			}
			// The comment block above the key (or above the group of
			// keys it belongs to).
			i := line - 2
			for i >= 0 && strings.Contains(lines[i], "=") && !strings.HasPrefix(lines[i], "#") {
				i--
			}
			var block []string
			for ; i >= 0 && strings.HasPrefix(lines[i], "#"); i-- {
				block = append(block, lines[i])
			}
			text := strings.Join(block, " ")
			if len(block) == 0 {
				t.Errorf("%s:%d: %s has no comment", tc.path, line, k.name)
				continue
			}
			if !strings.Contains(text, "Default") && !strings.Contains(text, "Required") {
				t.Errorf("%s:%d: %s: comment gives no default", tc.path, line, k.name)
			}
			if k.impl && !strings.Contains(text, "Implemented") {
				t.Errorf("%s:%d: %s: comment does not say it is implemented", tc.path, line, k.name)
			}
			if k.ferry && !strings.Contains(text, "ferry key") {
				t.Errorf("%s:%d: %s: comment does not say it is a ferry key", tc.path, line, k.name)
			}
		}
	}
}

// TestOssimportFiles checks that ossimport's own files, unedited, are quiet:
// no warning but for what truly does not apply.
func TestOssimportFiles(t *testing.T) {
	for _, f := range []string{"testdata/ossimport_sys.properties", "testdata/ossimport_dist_sys.properties"} {
		s, err := LoadSys(f)
		if err != nil || len(s.Warnings) != 0 {
			t.Errorf("%s: %v, warnings %q", f, err, s.Warnings)
		}
	}
	// ossimport's local-to-OSS job reads as such (no destType: oss), and
	// only its Windows source directory is refused, by Resolve.
	const f = "testdata/ossimport_local_job.cfg"
	oj, err := LoadJob(f)
	if err != nil || len(oj.Warnings) != 0 {
		t.Fatalf("%s: %v, warnings %q", f, err, oj.Warnings)
	}
	if oj.SrcType != "local" || oj.DestType != "oss" || oj.DestDomain != "http://oss-cn-hangzhou-zmf.aliyuncs.com" ||
		oj.DestBucket != "mybucket" || oj.DestPrefix != "docs/" || oj.DestSecretKey.Reveal() != "ir8Qt*****jwh5b0eF******xM5QE" {
		t.Errorf("%s: %+v", f, oj)
	}
	if runtime.GOOS != "windows" {
		if err := oj.Resolve("/opt/ferry"); err == nil || !strings.Contains(err.Error(), `:13: srcPrefix: "D:/work/oss/data/" is a Windows path`) {
			t.Errorf("Resolve: %v", err)
		}
	}
	// Told to write locally, the same job warns only that the OSS
	// destination settings are unused, and Resolve refuses its Windows path.
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	j, err := ParseJob(strings.NewReader(string(data)+"destType=local\n"), f)
	if err != nil {
		t.Fatal(err)
	}
	wantW := []string{
		f + ":16: destAccessKey: not used with destType=local; ignored",
		f + ":17: destSecretKey: not used with destType=local; ignored",
		f + ":18: destDomain: not used with destType=local; ignored",
		f + ":19: destBucket: not used with destType=local; ignored",
	}
	if !slices.Equal(j.Warnings, wantW) {
		t.Errorf("warnings:\n%q\nwant\n%q", j.Warnings, wantW)
	}
	if runtime.GOOS == "windows" {
		return
	}
	if err := j.Resolve("/opt/ferry"); err == nil || !strings.Contains(err.Error(), `:13: srcPrefix: "D:/work/oss/data/" is a Windows path`) {
		t.Errorf("Resolve: %v", err)
	}
}
