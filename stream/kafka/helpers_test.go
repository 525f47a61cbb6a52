package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/internal/kafkatest"
	"ferry/task"
	"ferry/tracker"
	"ferry/worker"
)

// pair is a source and a destination cluster.
type pair struct {
	src, dst *kafkatest.Cluster
}

func newPair(t *testing.T) pair {
	return pair{kafkatest.Start(t), kafkatest.Start(t)}
}

func (p pair) spec(job string, topics, groups []string) task.Spec {
	return task.Spec{Name: job, Type: task.Import,
		Src:    task.Endpoint{Type: "kafka", Domain: p.src.Addr()},
		Dest:   task.Endpoint{Type: "kafka", Domain: p.dst.Addr()},
		Stream: &task.Stream{Topics: topics, Groups: groups}}
}

// master stands in for the master's side of stream tasks: the cursors
// saved under each task's current lease.
type master struct {
	mu      sync.Mutex
	current map[string]uint64 // unit key -> current lease
	cursors map[string][]byte
	lease   uint64
}

func newMaster() *master {
	return &master{current: map[string]uint64{}, cursors: map[string][]byte{}}
}

// grant leases u anew, as the master does after a lease expired.
func (m *master) grant(spec task.Spec, u task.Unit) worker.StreamTask {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lease++
	lease := m.lease
	m.current[u.Key()] = lease
	l := task.Lease{Job: spec.Name, Spec: spec, TaskID: 1, LeaseID: lease, Entries: nil}
	return worker.StreamTask{Lease: l, Unit: u, Cursor: m.cursors[u.Key()],
		SaveCursor: func(ctx context.Context, state []byte) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.current[u.Key()] != lease {
				return fmt.Errorf("save cursor: %w", worker.ErrStale)
			}
			m.cursors[u.Key()] = state
			return nil
		},
		Progress: func(int64, int64) {},
		Throttle: func(context.Context, int) error { return nil },
		Log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
}

// plan plans a job as the master does.
func plan(t *testing.T, spec task.Spec) (parts, groups []task.Unit) {
	t.Helper()
	parts, groups, err := Runner{}.PlanStream(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return parts, groups
}

// runAll runs every unit to its end, in order, and returns the records.
func runAll(t *testing.T, m *master, spec task.Spec, units []task.Unit) []tracker.Record {
	t.Helper()
	var out []tracker.Record
	for _, u := range units {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		rec, done := Runner{}.RunStream(ctx, m.grant(spec, u))
		cancel()
		if !done || rec.Result != tracker.OK {
			t.Fatalf("unit %s: done %v, %+v", u.Key(), done, rec)
		}
		out = append(out, rec)
	}
	return out
}

// rec makes a record with a key, value, two headers and a timestamp.
func rec(topic string, p int32, i int) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: p, Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d-%d", p, i),
		Headers:   []kgo.RecordHeader{{Key: "n", Value: fmt.Appendf(nil, "%d", i)}, {Key: "src", Value: []byte(topic)}},
		Timestamp: base.Add(time.Duration(i) * time.Millisecond)}
}

// sameTopic checks with kcat that each destination partition holds what
// the source partition holds, in order.
func sameTopic(t *testing.T, p pair, topic string, partitions int32) int {
	t.Helper()
	total := 0
	for i := range partitions {
		s := kafkatest.ReadPartition(t, p.src.Addr(), topic, i)
		d := kafkatest.ReadPartition(t, p.dst.Addr(), topic, i)
		if len(s) != len(d) {
			t.Errorf("%s/%d: %d records on the source, %d on the destination", topic, i, len(s), len(d))
		}
		for j := range min(len(s), len(d)) {
			if s[j] != d[j] {
				t.Errorf("%s/%d record %d: source %v, destination %v", topic, i, j, s[j], d[j])
				break
			}
		}
		total += len(s)
	}
	return total
}

// base is the records' first timestamp: recent, or brokers' retention
// would drop them.
var base = time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
