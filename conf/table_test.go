package conf

import (
	"strings"
	"testing"
	"time"
)

// tableBase is a table job.cfg: MariaDB to PostgreSQL.
var tableBase = [][2]string{
	{"jobName", "shop"}, {"srcType", "mysql"}, {"srcDomain", "10.0.0.5:3306"}, {"srcBucket", "shop"},
	{"srcAccessKey", "ferry"}, {"srcSecretKey", "s3cret"}, {"destType", "postgres"}, {"destDomain", "db2:5432"},
	{"destBucket", "shop"}, {"destAccessKey", "ferry"}, {"destSecretKey", "t0p"}, {"tables", "orders, shop.*"},
}

func TestTableJob(t *testing.T) {
	j, err := ParseJob(strings.NewReader(editText(tableBase, []string{"tableChunkRows=500", "maxRowsPerSecond=1000"})), "conf/job.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Warnings) != 0 {
		t.Errorf("warnings: %q", j.Warnings)
	}
	s := j.Spec()
	if !s.IsTable() || strings.Join(s.Table.Tables, "|") != "orders|shop.*" || s.Table.ChunkRows != 500 ||
		s.MaxRequestsPerSecond != 1000 || s.Src.Bucket != "shop" || s.Dest.SecretKey.Reveal() != "t0p" {
		t.Errorf("spec: %+v %+v", s, s.Table)
	}
	if j, _ := ParseJob(strings.NewReader(editText(tableBase, nil)), "conf/job.cfg"); j.Spec().Table.ChunkRows != 10000 {
		t.Errorf("default tableChunkRows %d", j.Spec().Table.ChunkRows)
	}
	if j, _ := ParseJob(strings.NewReader(editText(tableBase, []string{"updatedColumn=mtime"})), "conf/job.cfg"); len(j.Warnings) != 1 ||
		!strings.Contains(j.Warnings[0], "updatedColumn: used by the rounds of an incremental job") {
		t.Errorf("updatedColumn without isIncremental must be warned about: %q", j.Warnings)
	}
	j, err = ParseJob(strings.NewReader(editText(tableBase, []string{"updatedColumn=mtime", "isIncremental=true", "updatedMargin=60"})), "conf/job.cfg")
	if err != nil || len(j.Warnings) != 0 || j.Spec().Table.UpdatedColumn != "mtime" || j.Spec().Table.UpdatedMargin != time.Minute {
		t.Errorf("an incremental table job: %v %q %+v", err, j.Warnings, j.Spec().Table)
	}
	if j, _ := ParseJob(strings.NewReader(editText(tableBase, nil)), "conf/job.cfg"); j.Spec().Table.UpdatedMargin != 5*time.Minute {
		t.Errorf("default updatedMargin %s", j.Spec().Table.UpdatedMargin)
	}
	for _, tc := range []struct{ edit, want string }{
		{"tables=-", "conf/job.cfg: tables: required with srcType=mysql"},
		{"tables= , ", "tables: no table named"},
		{"tables=a[", "tables: \"a[\" is not a valid pattern"},
		{"destType=local", "conf/job.cfg:7: destType: local: a table job needs mysql or postgres on both sides"},
		{"srcBucket=-", "srcBucket: required with srcType=mysql, not set (the database)"},
		{"destDomain=-", "destDomain: required with destType=postgres, not set (host:port of the server)"},
		{"srcDomain=mysql://h:3306", "srcDomain: \"mysql://h:3306\": give host:port"},
		{"destAccessKey=-", "destAccessKey: required with destType=postgres, not set (the user)"},
		{"tableChunkRows=0", "tableChunkRows"},
		{"updatedMargin=-1", "updatedMargin"},
	} {
		_, err := ParseJob(strings.NewReader(editText(tableBase, []string{tc.edit})), "conf/job.cfg")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.edit, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", tc.edit, err)
		}
	}
}
