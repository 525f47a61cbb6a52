package master

import (
	"reflect"
	"testing"
	"time"

	"ferry/task"
)

// The record the cache keeps for bytes a transaction saved is the record
// decoding those bytes gives, or it keeps none.
func TestJobRecordDecoded(t *testing.T) {
	now := time.Now() // Local, with a monotonic reading
	throttle := int64(5)
	base := Job{Spec: task.Spec{Name: "j", Src: task.Endpoint{Type: "local", Prefix: "/s\xff", SecretKey: "é"},
		Dest: task.Endpoint{Prefix: "/d\xfe"}, CountLimit: 3, Filter: task.Filter{Include: []string{"*.ü"}},
		Schedule: task.Schedule{Default: 10, Windows: []task.Window{{Start: 1, End: 2, Rate: 3}}}},
		State: StateRunning, Submitted: now, ScanAfter: "k\x80", Error: "e\xff", Round: 2,
		Throttle: &throttle, Counters: Counters{FilesTotal: 9, Tasks: [numStates]int64{1, 2, 3, 4}}}
	tests := []struct {
		name   string
		change func(*Job)
		cached bool
	}{
		{"plain", func(*Job) {}, true},
		{"utc", func(j *Job) { j.Submitted, j.Finished, j.NextRound = now.UTC(), now.Add(time.Hour).UTC(), now.UTC() }, true},
		{"zero offset local", func(j *Job) {
			j.Submitted = time.Date(2025, 1, 1, 0, 0, 0, 7, time.Local)
		}, true},
		{"empty lists", func(j *Job) { j.Spec.Filter.Include, j.Spec.Schedule.Windows = []string{}, []task.Window{} }, true},
		{"nil lists", func(j *Job) { j.Spec.Filter.Include, j.Spec.Schedule.Windows, j.Throttle = nil, nil, nil }, true},
		{"import since", func(j *Job) { j.Spec.ImportSince = now }, true},
		{"name not utf-8", func(j *Job) { j.Spec.Name = "j\xff" }, false},
		{"pattern not utf-8", func(j *Job) { j.Spec.Filter.Include[0] = "\xff" }, false},
		{"secret not utf-8", func(j *Job) { j.Spec.Dest.SecretKey = "\xff" }, true},
		{"fixed zone", func(j *Job) { j.Submitted = now.In(time.FixedZone("X", 3600)) }, false},
		{"zero time in a zone", func(j *Job) { j.Finished = time.Time{}.In(time.FixedZone("X", 3600)) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkJobRecordDecoded(t, base.clone(), tt.change, tt.cached) })
	}
	// Local with an offset: JSON keeps it Local.
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.FixedZone("East", 2*3600)
	t.Run("local with an offset", func(t *testing.T) {
		checkJobRecordDecoded(t, base.clone(), func(j *Job) { j.Submitted = time.Now() }, true)
	})
}

func checkJobRecordDecoded(t *testing.T, j *Job, change func(*Job), wantCached bool) {
	t.Helper()
	change(j)
	raw, err := encodeJob(j)
	if err != nil {
		t.Fatal(err)
	}
	want, err := decodeJob(raw)
	if err != nil {
		t.Fatal(err)
	}
	var c jobCache
	c.saved("j", raw, j)
	if _, cached := c.jobs["j"]; cached != wantCached {
		t.Fatalf("cached %v, want %v", cached, wantCached)
	}
	got, err := c.load("j", raw)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("load: %+v, %v\nwant %+v", got, err, want)
	}
	got.Counters.FilesTotal++
	if len(got.Spec.Filter.Include) > 0 {
		got.Spec.Filter.Include[0] = "x"
	}
	if len(got.Spec.Schedule.Windows) > 0 {
		got.Spec.Schedule.Windows[0].Rate++
	}
	if got.Throttle != nil {
		*got.Throttle++
	}
	if again, _ := c.load("j", raw); !reflect.DeepEqual(again, want) {
		t.Fatalf("a caller's change reached the cache: %+v", again)
	}
}

// A job's record keeps its stores' secret keys, though task.Secret
// encodes as "***" in JSON.
func TestJobRecordKeepsSecrets(t *testing.T) {
	j := &Job{Spec: task.Spec{Name: "j", Src: task.Endpoint{Type: "s3", SecretKey: "s\xffk"}, Dest: task.Endpoint{SecretKey: "d"}}}
	raw, err := encodeJob(j)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeJob(raw)
	if err != nil || got.Spec.Src.SecretKey != "s\xffk" || got.Spec.Dest.SecretKey != "d" {
		t.Fatalf("decoded secrets %q, %q, %v", got.Spec.Src.SecretKey.Reveal(), got.Spec.Dest.SecretKey.Reveal(), err)
	}
}
