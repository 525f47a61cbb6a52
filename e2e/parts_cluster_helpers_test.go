package e2e

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"ferry/store/s3test"
	"ferry/task"
)

// Helpers of TestPartTasksCluster (parts_cluster_test.go): its size from
// the environment, and the tally of the bytes the proxy saw for each
// range of the split file.

// partsParams are the size of the split file and the hosts' link rate.
type partsParams struct {
	size int64 // bytes
	rate int64 // bits/s, each host, each way
	unit int64 // multipartUploadPartSize
}

// partsParamsFromEnv reads FERRY_PARTS_MIB and FERRY_PARTS_MBIT over the
// CI defaults (240 MiB at 100 Mbit/s). The acceptance size of issue 17 is
// FERRY_PARTS_MIB=2048 FERRY_PARTS_MBIT=200.
func partsParamsFromEnv(t *testing.T) partsParams {
	t.Helper()
	p := partsParams{size: 240 << 20, rate: 100e6, unit: 5 << 20}
	for _, v := range []struct {
		name  string
		scale float64
		dst   *int64
	}{{"FERRY_PARTS_MIB", 1 << 20, &p.size}, {"FERRY_PARTS_MBIT", 1e6, &p.rate}} {
		s := os.Getenv(v.name)
		if s == "" {
			continue
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 {
			t.Fatalf("%s=%q: want a positive number", v.name, s)
		}
		*v.dst = int64(f * v.scale)
	}
	// A range must hold enough parts that the kill lands with some of
	// them saved and some still to send (see killAfter).
	if r := task.SplitFile(0, p.size, p.unit); r[1].Len < 6*p.unit {
		t.Fatalf("FERRY_PARTS_MIB: want at least 240, for ranges of 6 parts of %d MiB or more", p.unit>>20)
	}
	return p
}

// rangeTally counts, for one key, the body bytes the proxy carried for
// each range of a split file: request bodies of part uploads (an object
// destination) or response bodies of ranged GETs (an object source),
// whole or cut short; and the time the server took to answer the
// completion of the key's upload and the copy onto itself that adds its
// CRC64 to its metadata. It also spots the first client to have finished
// at least n bytes of a range it has not finished, and tells trip.
type rangeTally struct {
	mu     sync.Mutex
	kind   string // s3test.KindPart or KindGet; "" counts nothing
	key    string
	ranges []task.Part // the range tasks, in order
	unit   int64
	sent   []int64 // by range
	server time.Duration
	done   map[string][]int64
	n      int64
	trip   chan tripped
}

// tripped is a client with a range under way.
type tripped struct {
	client string
	rng    int // index into ranges
	done   int64
}

// follow starts counting kind requests for key anew, for a file of size
// bytes split in parts of unit; with n > 0, trip gets the first client
// that finished n bytes of a range without finishing it.
func (r *rangeTally) follow(kind, key string, size, unit, n int64) <-chan tripped {
	r.mu.Lock()
	defer r.mu.Unlock()
	parts := task.SplitFile(0, size, unit)
	r.kind, r.key, r.unit, r.n = kind, key, unit, n
	r.ranges = parts[1 : len(parts)-1]
	r.sent = make([]int64, len(r.ranges))
	r.server = 0
	r.done = map[string][]int64{}
	r.trip = make(chan tripped, 1)
	return r.trip
}

var rangeHeaderRE = regexp.MustCompile(`^bytes=(\d+)-`)

func (r *rangeTally) seen(s s3test.Seen) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kind == "" || s.Key != r.key {
		return
	}
	if s.Kind == s3test.KindComplete || s.Kind == s3test.KindCopy {
		r.server += s.Took
		return
	}
	if s.Kind != r.kind {
		return
	}
	var off, n int64
	switch s.Kind {
	case s3test.KindPart:
		off, n = int64(s.Part-1)*r.unit, s.In
	case s3test.KindGet:
		m := rangeHeaderRE.FindStringSubmatch(s.Range)
		if m == nil {
			return // not a range task's read
		}
		off, _ = strconv.ParseInt(m[1], 10, 64)
		n = s.Out
	}
	i := r.index(off)
	if i < 0 {
		return
	}
	r.sent[i] += n
	if s.Status/100 != 2 || r.n == 0 {
		return
	}
	d := r.done[s.Client]
	if d == nil {
		d = make([]int64, len(r.ranges))
		r.done[s.Client] = d
	}
	d[i] += n
	if d[i] >= r.n && d[i] < r.ranges[i].Len {
		select {
		case r.trip <- tripped{client: s.Client, rng: i, done: d[i]}:
		default:
		}
		r.n = 0 // once
	}
}

// index is the range holding byte off, -1 if none.
func (r *rangeTally) index(off int64) int {
	for i, p := range r.ranges {
		if off >= p.Off && off < p.Off+p.Len {
			return i
		}
	}
	return -1
}

// result returns the bytes carried per range and the server's time on
// the completion, and stops counting.
func (r *rangeTally) result() ([]task.Part, []int64, time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kind = ""
	return r.ranges, append([]int64(nil), r.sent...), r.server
}

// inMiB formats a byte count in MiB.
func inMiB(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }
