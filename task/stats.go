package task

import "time"

// WorkerStats is what a worker has measured of itself since it started,
// sent with each report so that the master's /metrics shows the whole
// cluster: its store operations, by store type, operation and status
// class, with their latencies, and the retries its stores made. Every
// figure is cumulative (it only grows while the worker runs), so a
// report that is lost or repeated changes nothing.
type WorkerStats struct {
	StoreOps []StoreOps
	Retries  int64
}

// StoreOps counts one kind of store operation: Count calls of Op on a
// Store of that type that ended in Class, taking Seconds in all, Buckets[i]
// of them at most LatencyBounds[i] seconds (cumulative, as Prometheus'
// histograms). Every label is one of a few fixed words: no key, path or
// secret.
type StoreOps struct {
	Store   string // the store's type: local, s3, oss, http, ...
	Op      string // list, stat, open, put, put_multipart, ...
	Class   string // ok, not_found, denied, invalid, transient, canceled, error
	Count   uint64
	Seconds float64
	Buckets []uint64 // len(LatencyBounds)
}

// LatencyBounds are the upper bounds, in seconds, of the buckets of
// StoreOps: from a local stat to a large multipart upload.
var LatencyBounds = [...]float64{0.0005, 0.002, 0.01, 0.05, 0.25, 1, 5, 30}

// BucketOf returns the index of the first bucket d falls in, or
// len(LatencyBounds) when it is above them all.
func BucketOf(d time.Duration) int {
	s := d.Seconds()
	for i, b := range LatencyBounds {
		if s <= b {
			return i
		}
	}
	return len(LatencyBounds)
}
