package task

import (
	"testing"
	"time"
)

// TestStreamLag: the records and seconds a partition's saved progress
// says it lags, live or not, known or not.
func TestStreamLag(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	cases := []struct {
		name    string
		p       StreamProgress
		live    bool
		records int64
		seconds float64
	}{
		{"caught up and copying", StreamProgress{Done: 50, End: 50, CaughtUp: 900_000, Saved: 999_000}, true, 0, 0},
		{"behind since it was caught up", StreamProgress{Done: 40, End: 50, CaughtUp: 990_000, LastTime: 980_000, Saved: 999_000}, true, 10, 10},
		{"behind, the last record copied is newer", StreamProgress{Done: 40, End: 50, CaughtUp: 900_000, LastTime: 995_000, Saved: 999_000}, true, 10, 5},
		{"not running: lags since its last report", StreamProgress{Done: 50, End: 50, CaughtUp: 970_000, Saved: 970_000}, false, 0, 30},
		{"never caught up, no record copied", StreamProgress{Done: 0, End: 50, Saved: 999_000}, true, 50, -1},
	}
	for _, c := range cases {
		r, s := c.p.Lag(now, c.live)
		if r != c.records || s != c.seconds {
			t.Errorf("%s: lag %d records %v s, want %d, %v", c.name, r, s, c.records, c.seconds)
		}
	}
	if _, ok := ParseStreamProgress([]byte("1700000000000")); ok {
		t.Errorf("a group task's cursor (a time) read as progress")
	}
	p, ok := ParseStreamProgress([]byte(`{"seq":3,"srcNext":40,"done":40,"end":52,"caughtUp":5,"lastTime":6,"saved":7}`))
	if !ok || p != (StreamProgress{Done: 40, End: 52, CaughtUp: 5, LastTime: 6, Saved: 7}) {
		t.Errorf("progress in a partition's cursor: %+v %v", p, ok)
	}
}
