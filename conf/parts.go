package conf

import (
	"fmt"
	"math"
)

// splitFileThreshold (task.Part): files from this size up are copied by
// part tasks that several workers lease.

// minSplit is the least splitFileThreshold but 0 (never): a part task
// moves whole parts of at least 5 MiB (S3's least part), so a smaller
// file would be one range with a prepare and a final task around it.
const minSplit = 5 << 20

// parseSplit parses splitFileThreshold.
func parseSplit(v string) (int64, error) {
	n, err := parseSize(v, 0, math.MaxInt64)
	if err == nil && n > 0 && n < minSplit {
		return 0, fmt.Errorf("%q is less than 5M, the least part of a split file (0: no file is split)", v)
	}
	return n, err
}

// splitsInto reports whether a destination of type typ is written by part
// tasks: one whose store can assemble a file from ranges written by
// several workers (store.Assembler), a local directory or an S3-protocol
// object store. Elsewhere splitFileThreshold is not used, and every file
// is copied whole by one worker.
func splitsInto(typ string) bool { return typ == "local" || IsObjectStore(typ) }
