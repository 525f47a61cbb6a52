package kafka

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/tracker"
)

// A copier whose lease was taken over while it still runs (a worker cut
// off, not dead) is fenced: the newer lease's copier finishes the
// partition, the old one gives up without an outcome, and the
// destination holds each record once, in order. Then a copier stopped
// mid-way resumes from the last checkpoint and adds nothing twice.
func TestTakeOverExactlyOnce(t *testing.T) {
	p := newPair(t)
	p.src.CreateTopic("t", 1, nil)
	const n = 60_000
	var rs []*kgo.Record
	for i := range n {
		rs = append(rs, rec("t", 0, i))
	}
	p.src.Produce(rs...)
	spec := p.spec("j", []string{"t"}, nil)
	parts, _ := plan(t, spec)
	m := newMaster()

	// Attempt 1 runs until it has committed some, then is cut off: a
	// new lease is granted while it goes on.
	old := m.grant(spec, parts[0])
	var copied atomic.Int64
	progressed := make(chan struct{})
	var once sync.Once
	old.Progress = func(r, _ int64) {
		if copied.Add(r) > 0 {
			once.Do(func() { close(progressed) })
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		rec  tracker.Record
		done bool
	}
	oldRes := make(chan result, 1)
	go func() {
		r, d := Runner{}.RunStream(ctx, old)
		oldRes <- result{r, d}
	}()
	select {
	case <-progressed:
	case <-time.After(time.Minute):
		t.Fatal("attempt 1 copied nothing")
	}
	newer := m.grant(spec, parts[0])
	r2, done := Runner{}.RunStream(ctx, newer)
	if !done || r2.Result != tracker.OK {
		t.Fatalf("attempt 2: done %v %+v", done, r2)
	}
	select {
	case r := <-oldRes:
		if r.done {
			t.Errorf("the cut-off attempt completed: %+v", r.rec)
		}
	case <-time.After(time.Minute):
		t.Fatal("the cut-off attempt did not stop")
	}
	if got := sameTopic(t, p, "t", 1); got != n {
		t.Errorf("%d records", got)
	}

	// Attempt 3 of a longer partition is stopped mid-way, attempt 4
	// resumes it.
	more := rs[:0]
	for i := n; i < 2*n; i++ {
		more = append(more, rec("t", 0, i))
	}
	p.src.Produce(more...)
	parts2, _ := plan(t, spec)
	third := m.grant(spec, parts2[0])
	ctx3, stop3 := context.WithCancel(ctx)
	var c3 atomic.Int64
	third.Progress = func(r, _ int64) {
		if c3.Add(r) >= 10_000 {
			stop3()
		}
	}
	if _, done := (Runner{}).RunStream(ctx3, third); done {
		t.Fatal("a stopped attempt says done")
	}
	if r4, done := (Runner{}).RunStream(ctx, m.grant(spec, parts2[0])); !done || r4.Result != tracker.OK {
		t.Fatalf("attempt 4: %v %+v", done, r4)
	}
	if got := sameTopic(t, p, "t", 1); got != 2*n {
		t.Errorf("%d records after resuming, want %d", got, 2*n)
	}
}
