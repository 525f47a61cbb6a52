// Package gctune sets how often ferry's processes collect garbage. Go's
// default (GOGC=100) collects whenever the heap has doubled since the last
// collection; ferry's live heap is small (tens of MiB: buffers, a scan
// batch, the tasks in flight) and a copy of many small files allocates
// steadily, so with the default the collector runs every few tens of
// milliseconds and, with its write barriers and fresh pages, costs several
// percent of a small-file copy. Apply sets GOGC=400 instead: the heap may
// grow to five times what is live between collections, a few tens of MiB
// more at ferry's sizes (bench/RESULTS.md has the figures). GOGC in the
// environment overrides it; GOMEMLIMIT, when set, caps the heap as usual.
package gctune

import (
	"os"
	"runtime/debug"
)

// Percent is the GOGC ferry uses when the environment sets none.
const Percent = 400

// Apply sets the collector's target, unless the environment has one.
func Apply() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(Percent)
	}
}
