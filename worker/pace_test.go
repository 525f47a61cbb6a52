package worker

import (
	"log/slog"
	"testing"
	"time"
)

// free counts the slots of sem nobody holds, once the pacer's parking and
// unparking goroutines have run.
func free(t *testing.T, sem chan struct{}, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for cap(sem)-len(sem) != want {
		if time.Now().After(deadline) {
			t.Fatalf("free slots = %d, want %d", cap(sem)-len(sem), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestPacerParksAndRecovers: each entry that needed retries parks one more
// slot, down to one left; recoverAfter clean entries give one back; clean
// entries with nothing parked change nothing.
func TestPacerParksAndRecovers(t *testing.T) {
	sem := make(chan struct{}, 4)
	p := &pacer{sem: sem, max: 4, log: slog.New(slog.DiscardHandler)}
	for range 100 {
		p.observe(0)
	}
	free(t, sem, 4)

	p.observe(2)
	free(t, sem, 3)
	p.observe(1)
	p.observe(1)
	free(t, sem, 1)
	p.observe(5) // never below one
	free(t, sem, 1)

	for range recoverAfter - 1 {
		p.observe(0)
	}
	free(t, sem, 1)
	p.observe(0)
	free(t, sem, 2)
	p.observe(3) // a retry restarts the run
	free(t, sem, 1)
	for range 3 * recoverAfter {
		p.observe(0)
	}
	free(t, sem, 4)
	for range 2 * recoverAfter {
		p.observe(0)
	}
	free(t, sem, 4)
}
