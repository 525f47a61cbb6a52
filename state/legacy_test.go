package state

import (
	"testing"
	"time"

	"ferry/task"
)

// A job stored by ferry before the typed spec (settings in Spec.Extra, as
// job.cfg names) decodes to the spec conf would have made of its job.cfg.
func TestLegacyJobRecord(t *testing.T) {
	raw := []byte(`{"Spec":{"Name":"old","SrcType":"local","SrcPrefix":"/s","DestType":"s3","DestPrefix":"p/",
		"SkipExist":true,"CountLimit":7,"SizeLimit":99,"ConfigFile":"/c/job.cfg","Extra":{"jobType":"import",
		"destDomain":"127.0.0.1:9000","destBucket":"b","destAccessKey":"ak","destSecretKey":"sk","destPathStyle":"true",
		"multipartUploadThreshold":"1048576","multipartUploadPartSize":"524288","uploadThreadNumPerLargeFile":"4",
		"isAuditAfterImport":"true","auditMode":"detailed","isIncremental":"true","incrementalModeInterval":"900",
		"importSince":"1700000000","updateMode":"newer","minSize":"1","maxSize":"0","mirror":"false","maxDelete":"5",
		"preserveMetadata":"false","maxThroughput":"1000","throughputSchedule":"08:00-20:00=2000",
		"maxRequestsPerSecond":"3","scanThreadCount":"2","maxMultiThreadScanDepth":"1","include":"*.txt,a/**",
		"modifiedAfter":"1600000000"}},"State":"Running","SrcPrefixRaw":"L3Pz"}`)
	j, err := decodeJobJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	s := j.Spec
	checks := []struct {
		what string
		ok   bool
	}{
		{"endpoints", s.Src == task.Endpoint{Type: "local", Prefix: "/s\xf3"} &&
			s.Dest == task.Endpoint{Type: "s3", Prefix: "p/", Domain: "127.0.0.1:9000", Bucket: "b", AccessKey: "ak", SecretKey: "sk", PathStyle: true}},
		{"task size", s.CountLimit == 7 && s.SizeLimit == 99 && s.ConfigFile == "/c/job.cfg"},
		{"multipart", s.Multipart == task.Multipart{Threshold: 1 << 20, PartSize: 512 << 10, Threads: 4}},
		{"audit", s.Type == task.Import && s.AuditAfterImport && s.AuditMode == task.AuditDetailed},
		{"incremental", s.Incremental && s.IncrementalInterval == 900*time.Second && s.ImportSince.Unix() == 1700000000},
		{"update", s.SkipExist && s.Update == task.UpdateNewer},
		{"filter", len(s.Filter.Include) == 2 && s.Filter.Include[1] == "a/**" && s.Filter.MinSize == 1 &&
			s.Filter.ModifiedAfter.Unix() == 1600000000 && s.Filter.ModifiedBefore.IsZero()},
		{"mirror", !s.Mirror && s.MaxDelete == 5 && !s.PreserveMetadata},
		{"throttle", s.Schedule.Default == 1000 && len(s.Schedule.Windows) == 1 && s.Schedule.Windows[0].Rate == 2000 &&
			s.MaxRequestsPerSecond == 3},
		{"scan", s.ScanThreads == 2 && s.ScanDepth == 1},
		{"http list defaults", s.HTTPList.PrefixColumn == 1 && s.HTTPList.RelativePathColumn == 2},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.what, s)
		}
	}
	if j.State != StateRunning {
		t.Errorf("state %q", j.State)
	}
	// A bad value names the job and the key.
	if _, err := decodeJobJSON([]byte(`{"Spec":{"Name":"old","SrcType":"local","Extra":{"maxDelete":"x"}}}`)); err == nil {
		t.Error("a bad stored value decoded")
	}
}
