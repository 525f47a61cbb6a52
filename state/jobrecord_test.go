package state

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"ferry/task"
)

// A job's state record decodes to exactly the job it was made of: times
// keep their zone, strings their bytes, every counter its value.
func TestStateRecordRoundTrip(t *testing.T) {
	throttle := int64(5)
	jobs := []Job{
		{},
		{State: StateRunning, Submitted: time.Now(), Finished: time.Now().In(time.FixedZone("", 3600)), // a zone keeps its offset, not its name
			NextRound: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), ScanFinished: true, ScanAfter: "k\x80\xff",
			Error: "e\xff", Round: 7, Throttle: &throttle},
	}
	c := &jobs[1].Counters
	for i, n := range c.fields() {
		*n = int64(i+1) * -3
	}
	for _, j := range jobs {
		raw, err := appendState(nil, &j)
		if err != nil {
			t.Fatal(err)
		}
		var got Job
		if err := decodeState(raw, &got); err != nil {
			t.Fatal(err)
		}
		// The monotonic reading is not part of a time's value.
		for _, tt := range []*time.Time{&j.Submitted, &j.Finished, &j.NextRound} {
			*tt = tt.Round(0)
		}
		if !reflect.DeepEqual(got, j) {
			t.Errorf("round trip:\n got %+v\nwant %+v", got, j)
		}
		for cut := 0; cut < len(raw); cut++ {
			if err := decodeState(raw[:cut], new(Job)); err == nil {
				t.Fatalf("a record cut at %d of %d bytes decoded", cut, len(raw))
			}
		}
	}
}

// A job's spec comes back from the database byte for byte, secrets and
// strings that are not UTF-8 included; a caller's change to what it read
// does not reach what the next reader gets.
func TestSpecRecord(t *testing.T) {
	d, err := OpenDB(filepath.Join(t.TempDir(), "ferry.db"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	spec := task.Spec{Name: "j", ConfigFile: "/c\xff", Src: task.Endpoint{Type: "s3", Prefix: "p\xfe", SecretKey: "s\xffk"},
		Filter:   task.Filter{Include: []string{"*.\xff"}, ModifiedAfter: time.Unix(5, 6).In(time.FixedZone("", -7200))},
		HTTPList: task.HTTPList{File: "/l\xff"}, Schedule: task.Schedule{Windows: []task.Window{{Start: 1, End: 2, Rate: 3}}}}
	if err := d.CreateJob(spec); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		j, err := d.Job("j")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(j.Spec, spec) {
			t.Fatalf("read %d:\n got %#v\nwant %#v", i, j.Spec, spec)
		}
		j.Spec.Filter.Include[0] = "changed"
		j.Spec.Schedule.Windows[0].Rate = 99
	}
}

// A job an earlier version stored as one JSON record opens, and its next
// save writes the spec and state records in its place.
func TestJSONJobRecordMigrates(t *testing.T) {
	d, err := OpenDB(filepath.Join(t.TempDir(), "ferry.db"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.CreateJob(task.Spec{Name: "j"}); err != nil {
		t.Fatal(err)
	}
	old := []byte(`{"Spec":{"Name":"j","Src":{"Type":"local","Prefix":""}},"State":"Running","Submitted":"2025-01-01T00:00:00Z",` +
		`"ScanFinished":true,"Round":2,"Counters":{"FilesTotal":4,"Tasks":[1,0,0,3]},"SrcPrefixRaw":"L3Pz","SrcSecretRaw":"c2s="}`)
	err = d.bolt.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktJobs).Bucket([]byte("j")).Bucket(bktMeta)
		for _, k := range [][]byte{keySpec, keyState} {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		return meta.Put(keyJob, old)
	})
	if err != nil {
		t.Fatal(err)
	}
	d.specs.forget("j")
	check := func(when string) {
		t.Helper()
		j, err := d.Job("j")
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if j.State != StateRunning || !j.ScanFinished || j.Round != 2 || j.Counters.FilesTotal != 4 ||
			j.Counters.Tasks[Succeeded] != 3 || j.Spec.Src.Prefix != "/s\xf3" || j.Spec.Src.SecretKey != "sk" {
			t.Fatalf("%s: %+v", when, j)
		}
	}
	check("read from JSON")
	if _, err := d.SetThrottle("j", nil); err != nil {
		t.Fatal(err)
	}
	d.bolt.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktJobs).Bucket([]byte("j")).Bucket(bktMeta)
		if meta.Get(keyJob) != nil || meta.Get(keySpec) == nil || meta.Get(keyState) == nil {
			t.Error("the JSON record was not replaced")
		}
		return nil
	})
	check("after a save")
}
