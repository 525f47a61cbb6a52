package conf

import (
	"strings"
	"testing"

	"ferry/task"
)

// zkBase is a minimal valid job copying one ZooKeeper tree to another.
var zkBase = [][2]string{
	{"jobName", "t1"},                         // line 1
	{"srcType", "zk"},                         // line 2
	{"srcDomain", "zk1:2181,zk2:2181/chroot"}, // line 3
	{"srcPrefix", "/app"},                     // line 4
	{"destType", "zk"},                        // line 5
	{"destDomain", "new1:2181"},               // line 6
	{"destPrefix", "/app"},                    // line 7
	{"srcAccessKey", "ferry"},                 // line 8
	{"srcSecretKey", "pw"},                    // line 9
}

func TestZKJob(t *testing.T) {
	j, err := ParseJob(strings.NewReader(editText(zkBase, nil)), "job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Warnings) != 0 {
		t.Errorf("warnings: %q", j.Warnings)
	}
	s := j.Spec()
	if s.Src.Type != "zk" || s.Src.Domain != "zk1:2181,zk2:2181/chroot" || s.Src.AccessKey != "ferry" || s.Src.SecretKey.Reveal() != "pw" || s.Dest.Prefix != "/app" {
		t.Errorf("spec: %+v", s)
	}
	if s.Update != task.UpdateAlways {
		t.Errorf("update %q", s.Update)
	}
	j, err = ParseJob(strings.NewReader(editText(zkBase, []string{"isIncremental=true"})), "job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if s := j.Spec(); s.Update != task.UpdateChecksum || s.SkipExist {
		t.Errorf("incremental zk job: update %q skipExist %v, want checksum without mtimes", s.Update, s.SkipExist)
	}
	for _, tc := range []struct{ edit, want string }{
		{"destType=local", `job.cfg:5: destType: must be zk when srcType=zk`},
		{"srcDomain=", `job.cfg:3: srcDomain: required with srcType=zk, not set (the connect string`},
		{"destDomain=zk://h:2181", `job.cfg:6: destDomain: "zk://h:2181": a connect string is host:port`},
		{"srcPrefix=app", `job.cfg:4: srcPrefix: "app": a znode path starts with /`},
		{"destPrefix=/a//b", `job.cfg:7: destPrefix: "/a//b": not a valid znode path`},
		{"srcSecretKey=", `job.cfg:9: srcSecretKey: required when srcAccessKey is set`},
		{"destAccessKey=u", `destSecretKey: required when destAccessKey is set`},
		{"destDomain=zk1:2181,zk2:2181/chroot", `job.cfg:7: destPrefix: "/app" overlaps srcPrefix "/app" on the same ensemble`},
		{"importSince=1700000000", `importSince: does not apply to znodes`},
	} {
		_, err := ParseJob(strings.NewReader(editText(zkBase, []string{tc.edit})), "job.cfg")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.edit, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: error shows the secret: %v", tc.edit, err)
		}
	}
	// srcType=local to zk is refused too.
	if _, err := ParseJob(strings.NewReader(jobText("destType=zk", "destDomain=h:2181")), "job.cfg"); err == nil ||
		!strings.Contains(err.Error(), "srcType: must be zk when destType=zk") {
		t.Errorf("local to zk: %v", err)
	}
}
