package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/internal/kafkatest"
)

// TestKafkaContinuousJoin: a continuous job of 6 partitions runs on one
// worker, which holds them all; a second worker joins while records keep
// coming: the master hands it 3 of them (master.log says so, once each),
// the first stops those (the second's producers fence its own), and
// after both catch up kcat reads every
// destination partition equal to its source partition: no record lost or
// written twice across the handover.
func TestKafkaContinuousJoin(t *testing.T) {
	kafkatest.RequireKcat(t)
	src, dst := kafkatest.Start(t), kafkatest.Start(t)
	const topic, parts = "events", 6
	src.CreateTopic(topic, parts, nil)
	seq := 0
	produce := func(n int) {
		var rs []*kgo.Record
		for i := seq; i < seq+n; i++ {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: int32(i % parts), Key: fmt.Appendf(nil, "k%d", i),
				Value: fmt.Appendf(nil, "v%d", i)})
		}
		seq += n
		src.Produce(rs...)
	}
	produce(3000)

	h := newHome(t, "kafka-join")
	h.writeSys(kv{"workerMaxTaskNum", "2"})
	writeFile(t, filepath.Join(h.dir, "conf", "workers"), "127.0.0.1\n") // distributed: no local worker
	h.writeJob(h.jobFile, kv{"srcType", "kafka"}, kv{"srcPrefix", ""}, kv{"destType", "kafka"}, kv{"destPrefix", ""},
		kv{"srcDomain", src.Addr()}, kv{"destDomain", dst.Addr()}, kv{"topics", topic},
		kv{"streamMode", "continuous"}, kv{"taskObjectCountLimit", ""})
	h.start()
	h.must(30*time.Second, "submit", h.jobFile)
	w1 := h.background(t.Context(), "worker", "--id", "w1")
	t.Cleanup(func() { w1.cmd.Process.Kill() })
	caughtUp := func(l map[string]topicLag) bool { return l[topic] == topicLag{Topic: topic, Partitions: parts} }
	h.waitLag("w1 alone", time.Minute, caughtUp)

	w2 := h.background(t.Context(), "worker", "--id", "w2")
	t.Cleanup(func() { w2.cmd.Process.Kill() })
	handed := func() int {
		b, _ := os.ReadFile(filepath.Join(h.workdir, "logs", "master.log"))
		return strings.Count(string(b), "continuous stream task goes to worker w2")
	}
	for i := 0; handed() < 3; i++ {
		if i == 300 {
			t.Fatalf("after 30 s, master.log says %d partitions went to w2, want 3", handed())
		}
		produce(60) // records keep coming during the handover
		time.Sleep(100 * time.Millisecond)
	}
	produce(1000)
	h.waitLag("w1 and w2", time.Minute, caughtUp)
	if n := handed(); n != 3 {
		t.Errorf("master.log says %d partitions went to w2, want 3", n)
	}
	if st := h.statJSON(); st.JobState != "Running" || st.FailedTasks != 0 {
		t.Errorf("want the job Running and no failed task, stat %+v", st)
	}
	total := 0
	for p := range int32(parts) {
		s := kafkatest.ReadPartition(t, src.Addr(), topic, p)
		d := kafkatest.ReadPartition(t, dst.Addr(), topic, p)
		total += len(d)
		if fmt.Sprint(s) != fmt.Sprint(d) {
			t.Errorf("%s/%d: source %d records, destination %d, or they differ", topic, p, len(s), len(d))
		}
	}
	if total != seq {
		t.Errorf("the destination holds %d records, the source %d", total, seq)
	}
	// Both workers log to the working directory's worker.log: w1 gave up
	// three partitions, which w2 started as their second attempts.
	wl, _ := os.ReadFile(filepath.Join(h.workdir, "logs", "worker.log"))
	if up, again := strings.Count(string(wl), "stream task given up"), strings.Count(string(wl), "attempt=2 entries=1"); up != 3 || again != 3 {
		t.Errorf("worker.log: %d partitions given up and %d started again, want 3 and 3:\n%s", up, again, wl)
	}
	h.must(time.Minute, "stop")
}
