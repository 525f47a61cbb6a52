package rpc

import (
	"reflect"
	"testing"
	"time"

	"ferry/master"
	"ferry/state"
	"ferry/task"
	"ferry/tracker"
)

// fullSpec sets every field of a spec, with bytes that are not UTF-8
// where the wire carries bytes.
func fullSpec() task.Spec {
	return task.Spec{Name: "j", Type: task.Audit, ConfigFile: "/c/\xffjob.cfg",
		Src: task.Endpoint{Type: "s3", Prefix: "p\xfe/", Domain: "h:1", Bucket: "b", AccessKey: "ak", SecretKey: "sk",
			Region: "r", PathStyle: true},
		Dest:           task.Endpoint{Type: "local", Prefix: "/d\xff", SecretKey: "dsk"},
		FollowSymlinks: true, CountLimit: 3, SizeLimit: 4, ScanThreads: 5, ScanDepth: 6,
		Multipart:        task.Multipart{Threshold: 7, PartSize: 8, Threads: 9},
		HTTPList:         task.HTTPList{File: "/l\xff", PrefixColumn: 2, RelativePathColumn: 3, FollowRedirects: true},
		AuditAfterImport: true, AuditMode: task.AuditDetailed,
		Incremental: true, IncrementalInterval: 900 * time.Second, ImportSince: time.Unix(1700000000, 0),
		SkipExist: true, Update: task.UpdateChecksum,
		Filter: task.Filter{Include: []string{"*.t\xffxt"}, Exclude: []string{"a/**", "b"}, MinSize: 1, MaxSize: 2,
			ModifiedAfter: time.Unix(0, 1600000000123456789), ModifiedBefore: time.Unix(1800000000, 0)},
		Mirror: true, MaxDelete: 10, PreserveMetadata: true,
		Schedule:             task.Schedule{Default: 11, Windows: []task.Window{{Start: 480, End: 1200, Rate: 12}}},
		MaxRequestsPerSecond: 13, SrcList: "/k\xffeys.txt", SplitThreshold: 14,
		Stream: &task.Stream{Topics: []string{"t", "x.*"}, Groups: []string{"g"}, Continuous: true,
			SrcSASL: "PLAIN", DestSASL: "SCRAM-SHA-512", SrcTLS: true, DestTLS: true},
		Table: &task.Table{Tables: []string{"orders", "shop.*"}, ChunkRows: 14, UpdatedColumn: "mtime", MaxRowsPerSecond: 15},
	}
}

// Every field of a spec survives the wire.
func TestSpecRoundTrip(t *testing.T) {
	want := fullSpec()
	if got := SpecFromPB(SpecToPB(want)); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, want)
	}
	var zero task.Spec
	if got := SpecFromPB(SpecToPB(zero)); !reflect.DeepEqual(got, zero) {
		t.Fatalf("zero spec round trip: %#v", got)
	}
}

// A stat carries the stores' secret keys only when asked for them.
func TestStatCredentials(t *testing.T) {
	st := master.JobStat{Job: state.Job{Spec: fullSpec(), State: state.StateRunning}}
	p := StatToPB(st, false)
	if p.Spec.Src.SecretKey != "" || p.Spec.Dest.SecretKey != "" {
		t.Errorf("stat without credentials carries %q, %q", p.Spec.Src.SecretKey, p.Spec.Dest.SecretKey)
	}
	if p.Spec.Src.AccessKey != "ak" {
		t.Errorf("access key %q, want it kept", p.Spec.Src.AccessKey)
	}
	if s := SpecFromPB(StatToPB(st, true).Spec); s.Src.SecretKey != "sk" || s.Dest.SecretKey != "dsk" {
		t.Errorf("stat with credentials: %q, %q", s.Src.SecretKey, s.Dest.SecretKey)
	}
	if st.Spec.Src.SecretKey != "sk" {
		t.Error("StatToPB changed the master's spec")
	}
}

// Every field of an audit record survives the wire: what the report shows
// of the destination, with or without the copied index's ETag.
func TestRecordRoundTrip(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	for _, r := range []tracker.Record{
		{Time: at, Result: tracker.OK, Size: 3, CRC64: 7, HasCRC: true, Key: "k\xff", Detail: "d",
			SourceMTime: time.Unix(0, 1_600_000_000_123_456_789), DestCRC64: 7, HasDestCRC: true, ETag: `"e"`},
		{Time: at, Result: tracker.Skip, Kind: task.Skipped, Key: "s", DestETag: `"i"`, ETag: `"i"`,
			SourceMTime: time.Unix(5, 6)},
		{Time: at, Result: tracker.Fail, Kind: task.SourceChanged, Key: "f", Detail: "SOURCE_CHANGED: x"},
	} {
		got := recordFromPB(recordToPB(r))
		if !got.Time.Equal(r.Time) || !got.SourceMTime.Equal(r.SourceMTime) {
			t.Errorf("%q: times %v %v, want %v %v", r.Key, got.Time, got.SourceMTime, r.Time, r.SourceMTime)
		}
		got.Time, got.SourceMTime = r.Time, r.SourceMTime
		if got != r {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, r)
		}
	}
}
