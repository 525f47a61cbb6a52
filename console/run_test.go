package console

import (
	"testing"
	"time"

	"ferry/master"
	"ferry/state"
	"ferry/task"
)

func TestBytesText(t *testing.T) {
	done := state.Counters{BytesDone: 50 << 20, BytesSkipped: 2 << 20}
	for _, tc := range []struct {
		name   string
		before *state.Counters
		took   time.Duration
		want   string
	}{
		{"nothing done by this run", nil, 0, "50.0MB"},
		{"fresh: skipped bytes are not moved", nil, 2 * time.Second, "50.0MB in 2s (24.0MB/s), checked"},
		{"resumed: only this run's bytes over its time", &state.Counters{BytesDone: 40 << 20, BytesSkipped: 2 << 20}, 100 * time.Millisecond,
			"50.0MB: 10.0MB in this run's 100ms (100.0MB/s), 40.0MB before it (resumed); checked"},
	} {
		if got := bytesText(done, tc.before, tc.took, "checked"); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEndpointText(t *testing.T) {
	s := task.Spec{HTTPList: task.HTTPList{File: "/lists/urls.txt"}}
	for _, tc := range []struct {
		e    task.Endpoint
		want string
	}{
		{task.Endpoint{Type: "http"}, "URL list /lists/urls.txt"},
		{task.Endpoint{Type: "local", Prefix: "/data/in"}, "/data/in"},
		{task.Endpoint{Type: "s3", Bucket: "b", Prefix: "in/", Domain: "http://127.0.0.1:9000", SecretKey: "sk"}, "s3://b/in/ at http://127.0.0.1:9000"},
		{task.Endpoint{Type: "oss", Bucket: "b"}, "oss://b/"},
	} {
		if got := endpointText(s, tc.e); got != tc.want {
			t.Errorf("endpointText(%+v) = %q, want %q", tc.e, got, tc.want)
		}
	}
}

// TestTableProgressLine: a table job's live line counts chunks and the
// rows of the running ones, and shows the bytes moved (its total is not
// known: a bytes total of 0 must not clamp them to 0B).
func TestTableProgressLine(t *testing.T) {
	s := master.JobStat{Job: state.Job{Spec: task.Spec{Table: &task.Table{Tables: []string{"t"}}}, State: state.StateRunning, ScanFinished: true},
		Throughput: 2 << 20, InFlightFiles: 1500, InFlightBytes: 1 << 20}
	s.Counters.FilesTotal, s.Counters.FilesDone, s.Counters.BytesDone = 50, 12, 3<<20
	s.Counters.Tasks[state.Dispatched] = 3
	got := progressLine(s)
	want := "[running] chunks 12/50  running 3 (1500 rows written)  bytes 4.0MB  2.0MB/s  failed 0"
	if got != want {
		t.Errorf("progress line\n got %q\nwant %q", got, want)
	}
}

// TestProgressLineStream: run's live line of a Kafka job counts tasks
// (partitions and groups) and the records left to copy, not files and
// bytes.
func TestProgressLineStream(t *testing.T) {
	s := master.JobStat{Job: state.Job{Spec: task.Spec{Stream: &task.Stream{}}, State: state.StateRunning, ScanFinished: false}}
	s.Counters.FilesDone, s.Counters.FilesTotal = 3, 8
	s.Throughput = 2048
	s.Lag = []master.TopicLag{{Topic: "a", Records: 100}, {Topic: "b", Records: 23}}
	if got, want := progressLine(s), "[running] tasks 3/8+  123 records to copy  2.0KB/s  failed 0"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
