package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/internal/kafkatest"
)

// TestKafkaRunSummary: `run`'s summary of a Kafka job counts its tasks,
// the records and key and value bytes copied (as the destination's
// checkpoints say), and says what exactly once and verify mean there,
// not files, bytes of files or CRC64s.
func TestKafkaRunSummary(t *testing.T) {
	src, dst := kafkatest.Start(t), kafkatest.Start(t)
	src.CreateTopic("t1", 3, nil)
	src.CreateTopic("t2", 1, nil)
	var rs []*kgo.Record
	var bytes int
	for i := range 900 {
		r := &kgo.Record{Topic: "t1", Partition: int32(i % 3), Key: fmt.Appendf(nil, "key-%d", i), Value: fmt.Appendf(nil, "value %d", i*i)}
		if i%9 == 0 {
			r.Topic, r.Partition = "t2", 0
		}
		bytes += len(r.Key) + len(r.Value)
		rs = append(rs, r)
	}
	src.Produce(rs...)
	o := kadm.Offsets{}
	o.Add(kadm.Offset{Topic: "t1", Partition: 1, At: 5, LeaderEpoch: -1})
	if err := src.Admin().CommitAllOffsets(context.Background(), "g1", o); err != nil {
		t.Fatal(err)
	}
	h := newHome(t, "kafka-sum")
	h.writeJob(h.jobFile, kv{"srcType", "kafka"}, kv{"srcPrefix", ""}, kv{"destType", "kafka"}, kv{"destPrefix", ""},
		kv{"srcDomain", src.Addr()}, kv{"destDomain", dst.Addr()}, kv{"topics", "t.*"}, kv{"consumerGroups", "g1"},
		kv{"taskObjectCountLimit", ""})
	r := h.ferry(2*time.Minute, "run", h.jobFile)
	if r.code != 0 {
		t.Fatalf("run: want exit 0:\n%s", r)
	}
	want := []string{
		"job kafka-sum: Succeed\n",
		"  tasks  5 of 5 done (partitions copied, consumer groups translated), 0 skipped, 0 failed\n",
		fmt.Sprintf("  copied 900 records in 4 partitions of 2 topics, %s of keys and values in ", humanSize(bytes)),
		" records/s, ",
		"  check  exactly once: each partition's records commit on the destination in one transaction",
		"`console.sh verify kafka-sum` compares both sides record by record\n",
	}
	for _, w := range want {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("run's summary lacks %q:\n%s", w, r.stdout)
		}
	}
	t.Logf("summary:\n%s", r.stdout)
	for _, bad := range []string{"CRC64", "files ", "bytes  0B"} {
		if strings.Contains(r.stdout, bad) {
			t.Errorf("run's summary of a Kafka job says %q:\n%s", bad, r.stdout)
		}
	}
}

// humanSize is console's humanBytes: 35.2KB.
func humanSize(n int) string {
	units := []string{"B", "KB", "MB", "GB"}
	f, i := float64(n), 0
	for f >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f%s", f, units[i])
	}
	return fmt.Sprintf("%.1f%s", f, units[i])
}
