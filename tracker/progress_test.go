package tracker

import (
	"math"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newClocked(t *testing.T) (*Tracker, *clock) {
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	tr := newTracker(t)
	tr.now = c.now
	return tr, c
}

func near(got, want float64) bool { return math.Abs(got-want) <= want*0.01+1e-9 }

// A steady 1 MB/s over two leases of one job, reported every second, shows
// as 1 MB/s for the job and the worker, once the window has filled.
func TestProgressSteadyRate(t *testing.T) {
	tr, c := newClocked(t)
	const mb = 1 << 20
	var copied, a, b int64
	for i := 0; i < 30; i++ {
		copied += mb
		a += mb / 4
		b += 3 * mb / 4
		tr.Report("w1", copied, []TaskProgress{{Job: "j", Task: 1, Lease: 10, Files: int64(i), Bytes: a},
			{Job: "j", Task: 2, Lease: 11, Files: 1, Bytes: b}})
		if i >= 12 {
			if v := tr.Job("j"); !near(v.Rate, mb) {
				t.Fatalf("second %d: job rate %.0f, want %d", i, v.Rate, mb)
			}
			if v := tr.Worker("w1"); !near(v.Rate, mb) {
				t.Fatalf("second %d: worker rate %.0f, want %d", i, v.Rate, mb)
			}
		}
		c.advance(time.Second)
	}
	c.advance(-time.Second)
	v := tr.Job("j")
	if v.Running != 2 || v.InFlightBytes != a+b || v.InFlightFiles != 29+1 {
		t.Fatalf("job view %+v, want 2 running, %d bytes, 30 files", v, a+b)
	}
	if w := tr.Worker("w1"); w.Running != 2 || !w.LastSeen.Equal(c.t) {
		t.Fatalf("worker view %+v", w)
	}
	if v := tr.Job("other"); v != (JobView{}) {
		t.Fatalf("unknown job: %+v", v)
	}

	// A finished lease no longer counts as running or in flight.
	tr.Discard("j", 1, 10)
	if v := tr.Job("j"); v.Running != 1 || v.InFlightBytes != b {
		t.Fatalf("after discarding a lease: %+v", v)
	}

	// Silence: the rate falls, and reads zero once the window has passed.
	c.advance(5 * time.Second)
	if v := tr.Job("j"); v.Rate <= 0 || v.Rate >= mb {
		t.Fatalf("5s after the last report: rate %.0f, want between 0 and %d", v.Rate, mb)
	}
	c.advance(6 * time.Second)
	if v := tr.Job("j"); v.Rate != 0 || v.Running != 0 || v.InFlightBytes != 0 {
		t.Fatalf("11s after the last report: %+v, want all zero", v)
	}
	if w := tr.Worker("w1"); w.Rate != 0 || w.Running != 0 {
		t.Fatalf("worker 11s after the last report: %+v", w)
	}
}

// A rate change shows within one window.
func TestProgressRateChange(t *testing.T) {
	tr, c := newClocked(t)
	var n int64
	for i := 0; i < 40; i++ {
		step := int64(1000)
		if i >= 20 {
			step = 5000
		}
		n += step
		tr.Report("w", n, []TaskProgress{{Job: "j", Task: 1, Lease: 1, Bytes: n}})
		if i == 19 && !near(tr.Job("j").Rate, 1000) {
			t.Fatalf("rate %.1f, want 1000", tr.Job("j").Rate)
		}
		c.advance(time.Second)
	}
	c.advance(-time.Second)
	if r := tr.Job("j").Rate; !near(r, 5000) {
		t.Fatalf("rate %.1f, want 5000", r)
	}
}

// A worker that restarts reports a smaller cumulative count: that is not
// negative progress. Progress that goes back in a lease is not counted.
func TestProgressNeverNegative(t *testing.T) {
	tr, c := newClocked(t)
	tr.Report("w", 1000, []TaskProgress{{Job: "j", Task: 1, Lease: 1, Bytes: 1000}})
	c.advance(time.Second)
	tr.Report("w", 3000, []TaskProgress{{Job: "j", Task: 1, Lease: 1, Bytes: 3000}})
	c.advance(time.Second)
	tr.Report("w", 10, []TaskProgress{{Job: "j", Task: 1, Lease: 1, Bytes: 10}})
	if r := tr.Job("j").Rate; r < 0 {
		t.Fatalf("job rate %.1f", r)
	}
	if r := tr.Worker("w").Rate; r < 0 {
		t.Fatalf("worker rate %.1f", r)
	}
	c.advance(time.Second)
	tr.Report("w", 1010, []TaskProgress{{Job: "j", Task: 1, Lease: 1, Bytes: 1010}})
	if r := tr.Worker("w").Rate; !near(r, 500) {
		t.Fatalf("worker rate after a restart %.1f, want 500 (1000 bytes in the 2s since the first sample)", r)
	}
	// One report alone gives no rate (nothing to divide by), never +Inf.
	tr2, _ := newClocked(t)
	tr2.Report("w", 5000, []TaskProgress{{Job: "j", Task: 1, Lease: 1, Bytes: 5000}})
	if r := tr2.Job("j").Rate; r != 0 {
		t.Fatalf("rate after one report: %.1f, want 0", r)
	}
}
