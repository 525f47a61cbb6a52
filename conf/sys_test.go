package conf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseSys(t *testing.T) {
	tests := []struct {
		in    string
		check func(*Sys) bool
		warn  []string
		err   string
	}{
		{in: "", check: func(s *Sys) bool {
			d := DefaultSys()
			d.File = s.File
			return sysEqual(s, d)
		}},
		{in: "workerUser=deploy\nsshPort=2222\n", check: func(s *Sys) bool { return s.WorkerUser == "deploy" && s.SSHPort == 2222 }},
		{in: "workerUserName=admin\n", check: func(s *Sys) bool { return s.WorkerUser == "admin" }},
		{in: "workerTaskThreadNum=1024\nworkerMaxTaskNum=1\n", check: func(s *Sys) bool { return s.WorkerTaskThreadNum == 1024 && s.WorkerMaxTaskNum == 1 }},
		{in: "workerRecordMd5=true\ntaskLeaseSeconds=5\n", check: func(s *Sys) bool { return s.WorkerRecordMd5 && s.TaskLeaseSeconds == 5 }},
		{in: "masterAddress=[::1]:7790\n", check: func(s *Sys) bool { return s.MasterAddress == "[::1]:7790" }},
		{in: "masterAddress=master.example.com:1\n", check: func(s *Sys) bool { return s.MasterAddress == "master.example.com:1" }},
		{in: "workingDir=w\n", check: func(s *Sys) bool { return s.HTTPAddress == "127.0.0.1:7791" }},
		{in: "httpAddress=0.0.0.0:8080\n", check: func(s *Sys) bool { return s.HTTPAddress == "0.0.0.0:8080" }},
		{in: "httpAddress=off\n", check: func(s *Sys) bool { return s.HTTPAddress == "" }},
		{in: "workerPassword=pa55 word\n", check: func(s *Sys) bool { return s.WorkerPassword.Reveal() == "pa55 word" }},
		{in: "workerMaxThroughput(KB/s)=100000000\njavaHeapMaxSize=1024M\n", check: func(s *Sys) bool { return s.WorkerMaxThroughput == 100000000 }},
		// Implemented now: no warning.
		{in: "workerMaxThroughput(KB/s)=2048\n", check: func(s *Sys) bool { return s.WorkerMaxThroughput == 2048 && s.WorkerRate() == 2048*1024 }},
		{in: "workerMaxThroughput(KB/s)=0\n", check: func(s *Sys) bool { return s.WorkerRate() == 0 }},
		{in: "", check: func(s *Sys) bool { return s.IncrementalMinInterval == 900*time.Second }},
		{in: "incrementalMinInterval=1\n", check: func(s *Sys) bool { return s.IncrementalMinInterval == time.Second }},
		{in: "incrementalMinInterval=900\n", check: func(s *Sys) bool { return s.IncrementalMinInterval == 900*time.Second }},
		{in: "incrementalMinInterval=0\n", err: "s.p:1: incrementalMinInterval: 0 is out of range (want 1 to 900)"},
		{in: "incrementalMinInterval=901\n", err: "s.p:1: incrementalMinInterval: 901 is out of range (want 1 to 900)"},
		{in: "incrementalMinInterval=1m\n", err: `s.p:1: incrementalMinInterval: "1m" is not an integer`},
		{in: "incrementalModeInterval=60\n", err: "s.p:1: incrementalModeInterval: belongs in job.cfg, not sys.properties"},
		{in: "maxThroughput=1M\n", err: "s.p:1: maxThroughput: belongs in job.cfg, not sys.properties"},
		{in: "javaHeapMaxSize=4g\ndispatcherThreadNum=5\nworkerAbortWhenUncatchedException=true\n",
			check: func(s *Sys) bool { return s.DispatcherThreadNum == 5 },
			warn: []string{
				"s.p:1: javaHeapMaxSize: ferry is not a Java program; ignored",
				"s.p:2: dispatcherThreadNum: accepted but not implemented by ferry yet; ignored",
				"s.p:3: workerAbortWhenUncatchedException: accepted but not implemented by ferry yet; ignored",
			}},
		{in: "sshPort=0\n", err: "s.p:1: sshPort: 0 is out of range (want 1 to 65535)"},
		{in: "sshPort=65536\n", err: "s.p:1: sshPort: 65536 is out of range (want 1 to 65535)"},
		{in: "workerTaskThreadNum=0\n", err: "s.p:1: workerTaskThreadNum: 0 is out of range (want 1 to 1024)"},
		{in: "workerTaskThreadNum=1025\n", err: "s.p:1: workerTaskThreadNum: 1025 is out of range (want 1 to 1024)"},
		{in: "taskLeaseSeconds=4\n", err: "s.p:1: taskLeaseSeconds: 4 is out of range (want 5 to 86400)"},
		{in: "workerMaxTaskNum=0\n", err: "s.p:1: workerMaxTaskNum: 0 is out of range (want 1 to 256)"},
		{in: "workerMaxThroughput(KB/s)=-1\n", err: "s.p:1: workerMaxThroughput(KB/s): -1 is out of range (want 0 to 9007199254740991)"},
		{in: "workerRecordMd5=1\n", err: `s.p:1: workerRecordMd5: "1" is not a boolean (want true or false)`},
		{in: "masterAddress=localhost\n", err: `s.p:1: masterAddress: "localhost" is not host:port (e.g. 10.0.0.1:7790, [::1]:7790)`},
		{in: "masterAddress=:7790\n", err: `s.p:1: masterAddress: ":7790" has no host (workers must be able to reach it)`},
		{in: "masterAddress=host:http\n", err: `s.p:1: masterAddress: "host:http": port "http" is not 1 to 65535`},
		{in: "httpAddress=7791\n", err: `s.p:1: httpAddress: "7791" is not host:port (e.g. 10.0.0.1:7790, [::1]:7790), or off`},
		{in: "masterAddress=-oProxy:22\n", err: `s.p:1: masterAddress: "-oProxy" is not a host name or IP address`},
		{in: "workerUser=-oProxyCommand\n", err: `s.p:1: workerUser: user name "-oProxyCommand" starts with '-'`},
		{in: "workerUser=a b\n", err: `s.p:1: workerUser: user name "a b" has " " (want only A-Z a-z 0-9 . _ -)`},
		{in: "workerUser=a\nworkerUserName=b\n", err: "s.p:2: workerUserName: another spelling of workerUser, which line 1 sets; keep one"},
		{in: "srcPrefix=/x\n", err: "s.p:1: srcPrefix: belongs in job.cfg, not sys.properties"},
		{in: "destType=local\n", err: "s.p:1: destType: belongs in job.cfg, not sys.properties"},
		{in: "workerThreadNum=8\n", err: "s.p:1: workerThreadNum: unknown key (did you mean workerTaskThreadNum?)"},
		{in: "workerMaxThroughput=8\n", err: "s.p:1: workerMaxThroughput: unknown key (did you mean workerMaxThroughput(KB/s)?)"},
		{in: "masterAddr=a:1\n", err: "s.p:1: masterAddr: unknown key (did you mean masterAddress?)"},
	}
	for _, tc := range tests {
		s, err := ParseSys(strings.NewReader(tc.in), "s.p")
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !tc.check(s) {
			t.Errorf("%q: wrong value in %+v", tc.in, s)
		}
		if !slices.Equal(s.Warnings, tc.warn) {
			t.Errorf("%q: warnings %q, want %q", tc.in, s.Warnings, tc.warn)
		}
	}
}

func sysEqual(a, b *Sys) bool {
	return a.File == b.File && a.WorkingDir == b.WorkingDir && a.WorkerUser == b.WorkerUser &&
		a.WorkerPassword == b.WorkerPassword && a.PrivateKeyFile == b.PrivateKeyFile && a.SSHPort == b.SSHPort &&
		a.WorkerTaskThreadNum == b.WorkerTaskThreadNum && a.WorkerMaxThroughput == b.WorkerMaxThroughput &&
		a.WorkerRecordMd5 == b.WorkerRecordMd5 && a.DispatcherThreadNum == b.DispatcherThreadNum &&
		a.MasterAddress == b.MasterAddress && a.KnownHostsFile == b.KnownHostsFile &&
		a.TaskLeaseSeconds == b.TaskLeaseSeconds && a.WorkerMaxTaskNum == b.WorkerMaxTaskNum &&
		a.IncrementalMinInterval == b.IncrementalMinInterval && slices.Equal(a.Warnings, b.Warnings)
}

func TestLoadSys(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sys.properties")
	s, err := LoadSys(p)
	if err != nil {
		t.Fatalf("missing file: %v", err)
	}
	d := DefaultSys()
	d.File = p
	if !sysEqual(s, d) {
		t.Errorf("missing file gives %+v, want defaults", s)
	}
	if _, err := LoadSys(dir); err == nil || !strings.HasPrefix(err.Error(), dir+": cannot read: ") {
		t.Errorf("directory: %v", err)
	}
	if err := os.WriteFile(p, []byte("sshPort=x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSys(p); err == nil || err.Error() != p+`:1: sshPort: "x" is not an integer` {
		t.Errorf("bad file: %v", err)
	}
	if os.Geteuid() != 0 {
		os.Chmod(p, 0)
		if _, err := LoadSys(p); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("unreadable file: %v", err)
		}
	}
}
