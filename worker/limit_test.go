package worker

import (
	"context"
	"testing"
	"time"

	"ferry/task"
)

// TestLimitCountsEntries: a job whose limit counts entries (a ZooKeeper
// job: znodes per second) waits once per entry and not per store request;
// any other job waits per request and not per entry. Measured as the time
// 40 entries of 3 requests each take at 100 per second: 0.4 s counted in
// entries, 1.2 s counted in requests.
func TestLimitCountsEntries(t *testing.T) {
	for _, c := range []struct {
		spec    task.Spec
		entries bool
	}{
		{task.Spec{Src: task.Endpoint{Type: "zk"}, Dest: task.Endpoint{Type: "zk"}}, true},
		{task.Spec{Src: task.Endpoint{Type: "local"}, Dest: task.Endpoint{Type: "zk"}}, true},
		{task.Spec{Src: task.Endpoint{Type: "s3"}, Dest: task.Endpoint{Type: "local"}}, false},
	} {
		if got := optionsOf(c.spec).perEntry; got != c.entries {
			t.Fatalf("%s to %s: counts entries %v, want %v", c.spec.Src.Type, c.spec.Dest.Type, got, c.entries)
		}
		l := newLimiters(0)
		l.set(map[string]task.Limits{"j": {RequestsPerSec: 100}})
		l.countEntries("j", c.entries)
		ctx := context.Background()
		start := time.Now()
		for range 40 {
			if err := l.waitEntry(ctx, "j"); err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := l.waitRequest(ctx, "j"); err != nil {
					t.Fatal(err)
				}
			}
		}
		took := time.Since(start)
		// The first tenth of a second's tokens come at once (the burst).
		want := 390 * time.Millisecond
		if !c.entries {
			want = 1190 * time.Millisecond
		}
		if took < want*8/10 || took > want*3/2 {
			t.Errorf("%s to %s: 40 entries of 3 requests at 100/s took %s, want about %s", c.spec.Src.Type, c.spec.Dest.Type, took, want)
		}
	}
}
