package e2e

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestControlChecksumThrottled: the reads of updateMode=checksum (both
// sides of every file, to compare CRC64s) keep the job's maxThroughput
// like copies do. 4 MiB of files already at the destination are compared
// under maxThroughput=1M: 8 MiB read, so the run cannot end in under about
// 7.9 s (the limit allows bursts of a tenth of a second); unthrottled it
// takes a fraction of one.
func TestControlChecksumThrottled(t *testing.T) {
	t.Parallel()
	h := newHome(t, "ctl-checksum-limit")
	mt := time.Now().Add(-time.Hour).Truncate(time.Second)
	for i := range 4 {
		k := fmt.Sprintf("f%d.bin", i)
		ctlWriteAt(t, filepath.Join(h.src, k), ctlBody(1<<20, k), mt)
	}
	h.ctlRunOK()

	h.must(30*time.Second, "clean", h.job)
	h.writeJob(h.jobFile, kv{"updateMode", "checksum"}, kv{"maxThroughput", "1M"})
	start := time.Now()
	h.ctlRunOK()
	took := time.Since(start)
	if skip := keyCounts(h.attempts(), "SKIP"); len(skip) != 4 {
		t.Fatalf("updateMode=checksum over identical files: %d SKIP lines (%v), want all 4", len(skip), skip)
	}
	if took < 7*time.Second {
		t.Errorf("comparing 8 MiB under maxThroughput=1M took %s, want at least 7 s: the checksum reads are not throttled", took.Round(time.Millisecond))
	}
	t.Logf("8 MiB of checksum reads under maxThroughput=1M: %s", took.Round(time.Millisecond))
}
