package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/internal/kafkatest"
)

// TestKafkaContinuous is issue 21's continuous acceptance: a job with
// streamMode=continuous, more partitions than the worker holds tasks,
// copies what the source has, then what is produced during the job (by
// franz-go and by kcat); it stays Running; a group's offset advanced on
// the source is translated again; `stop` while records keep coming drains
// cleanly and `start` resumes it: kcat reads every destination partition
// equal to its source partition, no record lost or written twice.
func TestKafkaContinuous(t *testing.T) {
	kafkatest.RequireKcat(t)
	src, dst := kafkatest.Start(t), kafkatest.Start(t)
	ctx := context.Background()
	const topic, parts = "events", 6
	src.CreateTopic(topic, parts, nil)
	src.CreateTopic("audit", 1, map[string]string{"cleanup.policy": "compact"})
	seq := 0
	var seqMu sync.Mutex
	var produceSized func(n, size int)
	produce := func(n int) { produceSized(n, 0) }
	produceSized = func(n, size int) {
		seqMu.Lock()
		first := seq
		seq += n
		seqMu.Unlock()
		var rs []*kgo.Record
		for i := first; i < first+n; i++ {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: int32(i % parts), Key: fmt.Appendf(nil, "k%d", i),
				Value: fmt.Appendf(nil, "v%d%s", i, strings.Repeat("x", size)), Headers: []kgo.RecordHeader{{Key: "i", Value: fmt.Appendf(nil, "%d", i)}},
				Timestamp: time.UnixMilli(time.Now().UnixMilli())})
			if i%10 == 0 {
				rs = append(rs, &kgo.Record{Topic: "audit", Partition: 0, Key: fmt.Appendf(nil, "a%d", i%7), Value: fmt.Appendf(nil, "%d", i)})
			}
		}
		src.Produce(rs...)
	}
	produce(3000)
	sadm, dadm := src.Admin(), dst.Admin()
	commit := func(g string, offs map[int32]int64) {
		t.Helper()
		o := kadm.Offsets{}
		for p, at := range offs {
			o.Add(kadm.Offset{Topic: topic, Partition: p, At: at, LeaderEpoch: -1})
		}
		if err := sadm.CommitAllOffsets(ctx, g, o); err != nil {
			t.Fatal(err)
		}
	}
	commit("app-tail", map[int32]int64{0: 10, 3: 20})

	h := newHome(t, "kafka-tail")
	h.writeJob(h.jobFile, kv{"srcType", "kafka"}, kv{"srcPrefix", ""}, kv{"destType", "kafka"}, kv{"destPrefix", ""},
		kv{"srcDomain", src.Addr()}, kv{"destDomain", dst.Addr()}, kv{"topics", "events,audit"},
		kv{"consumerGroups", "app-tail"}, kv{"streamMode", "continuous"}, kv{"taskObjectCountLimit", ""})
	h.start() // with its local worker, which holds 2 tasks at once (workerMaxTaskNum)
	h.must(30*time.Second, "submit", h.jobFile)

	endsOf := func(adm *kadm.Client) map[string]int64 {
		ends, err := adm.ListEndOffsets(ctx, topic, "audit")
		if err != nil {
			return nil
		}
		m := map[string]int64{}
		ends.Each(func(o kadm.ListedOffset) { m[fmt.Sprintf("%s/%d", o.Topic, o.Partition)] = o.Offset })
		return m
	}
	// The destination has caught up when each partition holds as many
	// records as the source (read with kcat: the destination's offsets
	// include transaction markers).
	count := func(addr string) map[string]int {
		m := map[string]int{}
		for p := range int32(parts) {
			m[fmt.Sprintf("%s/%d", topic, p)] = len(kafkatest.ReadPartition(t, addr, topic, p))
		}
		m["audit/0"] = len(kafkatest.ReadPartition(t, addr, "audit", 0))
		return m
	}
	waitEqual := func(what string, timeout time.Duration) {
		t.Helper()
		deadline := time.Now().Add(timeout)
		for {
			s, d := count(src.Addr()), count(dst.Addr())
			if fmt.Sprint(s) == fmt.Sprint(d) {
				t.Logf("%s: destination holds the source's records %v", what, d)
				return
			}
			if time.Now().After(deadline) {
				st := h.must(30*time.Second, "stat", h.job)
				t.Fatalf("%s: after %s the destination holds %v, the source %v (ends %v)\n%s", what, timeout, d, s, endsOf(dadm), st)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	waitEqual("the records there at submit", 2*time.Minute)
	// Caught up, stat says each topic lags nothing.
	h.waitLag("caught up", 20*time.Second, func(l map[string]topicLag) bool {
		return l[topic] == topicLag{Topic: topic, Partitions: parts} && l["audit"] == topicLag{Topic: "audit", Partitions: 1}
	})
	if out := h.must(30*time.Second, "stat", h.job); !strings.Contains(out, "\nLag:events Records:0 Seconds:0 Partitions:6\n") ||
		!strings.Contains(out, "\nLag:audit Records:0 Seconds:0 Partitions:1\n") {
		t.Errorf("stat of a caught-up continuous job: want a Lag line per topic, 0 records and seconds:\n%s", out)
	}
	// Throttled, the copy falls behind: stat shows records and seconds
	// of lag, which go back to 0 when the limit is lifted.
	h.must(30*time.Second, "throttle", h.job, "40KB")
	time.Sleep(2 * time.Second) // the worker learns its limit in its next report, within a second
	produceSized(1200, 1000)    // 1.2 MB: half a minute at 40 KB/s
	behind := h.waitLag("throttled", 30*time.Second, func(l map[string]topicLag) bool {
		return l[topic].Records > 0 && l[topic].Seconds >= 1
	})
	if e := behind[topic]; e.Records > 1200 {
		t.Errorf("throttled: stat says %d records behind; only 1200 were produced", e.Records)
	}
	h.must(30*time.Second, "throttle", h.job, "0")
	h.waitLag("limit lifted", 40*time.Second, func(l map[string]topicLag) bool {
		return l[topic] == topicLag{Topic: topic, Partitions: parts}
	})
	waitEqual("after the throttled burst", time.Minute)

	// Records produced during the job appear, from franz-go and from kcat.
	produce(1500)
	var lines []string
	for i := range 200 {
		lines = append(lines, fmt.Sprintf("kcat-%d\tby kcat %d", i, i))
	}
	kafkatest.ProduceKcat(t, src.Addr(), topic, 4, []string{"tool=kcat"}, lines)
	waitEqual("the records produced during the job", time.Minute)
	if st := h.statJSON(); st.JobState != "Running" {
		t.Errorf("continuous job: want it Running, stat %+v", st)
	}

	// The group is translated, and translated again when it moves on.
	sameRecord := func(g string, p int32) bool {
		so, _ := sadm.FetchOffsets(ctx, g)
		do, _ := dadm.FetchOffsets(ctx, g)
		s, ok1 := so.Lookup(topic, p)
		d, ok2 := do.Lookup(topic, p)
		if !ok1 || !ok2 {
			return false
		}
		return firstRecord(t, src.Addr(), topic, p, s.At) == firstRecord(t, dst.Addr(), topic, p, d.At)
	}
	waitGroup := func(what string, offs map[int32]int64) {
		t.Helper()
		deadline := time.Now().Add(time.Minute)
		for {
			ok := true
			do, _ := dadm.FetchOffsets(ctx, "app-tail")
			for p := range offs {
				if d, found := do.Lookup(topic, p); !found || d.At <= 0 || !sameRecord("app-tail", p) {
					ok = false
				}
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				do, _ := dadm.FetchOffsets(ctx, "app-tail")
				t.Fatalf("%s: group app-tail not translated to the same records within a minute: destination %v", what, do)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	waitGroup("first round", map[int32]int64{0: 10, 3: 20})
	moved := map[int32]int64{0: 600, 3: 700, 4: 700} // 4: past kcat's records' start
	commit("app-tail", moved)
	waitGroup("after the group moved on the source", moved)
	do, _ := dadm.FetchOffsets(ctx, "app-tail")
	if d, _ := do.Lookup(topic, 0); d.At < 600 {
		t.Errorf("app-tail %s/0 on the destination at %d after it moved to 600 on the source", topic, d.At)
	}

	// stop while a producer keeps writing, more records while stopped,
	// then start: the job resumes and nothing is lost or doubled.
	stopProducing := make(chan struct{})
	producing := make(chan struct{})
	go func() {
		defer close(producing)
		for i := 0; i < 200; i++ {
			select {
			case <-stopProducing:
				return
			case <-time.After(20 * time.Millisecond):
			}
			produce(25)
		}
	}()
	time.Sleep(time.Second)
	stopStart := time.Now()
	h.must(time.Minute, "stop")
	t.Logf("stop took %s while records were being produced", time.Since(stopStart).Round(time.Millisecond))
	close(stopProducing)
	<-producing
	produce(700)
	h.start()
	waitEqual("after stop and start", 2*time.Minute)
	h.waitLag("after the restart", 20*time.Second, func(l map[string]topicLag) bool {
		return l[topic] == topicLag{Topic: topic, Partitions: parts} && l["audit"] == topicLag{Topic: "audit", Partitions: 1}
	})
	if st := h.statJSON(); st.JobState != "Running" || st.FailedTasks != 0 {
		t.Errorf("after the restart: want the job Running and no failed task, stat %+v", st)
	}
	for p := range int32(parts) {
		s := kafkatest.ReadPartition(t, src.Addr(), topic, p)
		d := kafkatest.ReadPartition(t, dst.Addr(), topic, p)
		for j := range min(len(s), len(d)) {
			if s[j] != d[j] {
				t.Errorf("%s/%d record %d: source %v, destination %v", topic, p, j, s[j], d[j])
				break
			}
		}
	}
	if s, d := kafkatest.ReadPartition(t, src.Addr(), "audit", 0), kafkatest.ReadPartition(t, dst.Addr(), "audit", 0); fmt.Sprint(s) != fmt.Sprint(d) {
		t.Errorf("audit/0 differs: source %d records, destination %d", len(s), len(d))
	}
	if out := h.must(time.Minute, "stop"); !strings.HasSuffix(out, "master stopped\n") {
		t.Errorf("stop: %q", out)
	}
}

// topicLag is one topic's lag in `stat --json`.
type topicLag struct {
	Topic      string  `json:"topic"`
	Partitions int     `json:"partitions"`
	Unreported int     `json:"unreported"`
	Records    int64   `json:"records"`
	Seconds    float64 `json:"seconds"`
}

// waitLag polls `stat --json` until ok holds of the job's lag per topic,
// and returns it; the test fails after timeout.
func (h *home) waitLag(what string, timeout time.Duration, ok func(map[string]topicLag) bool) map[string]topicLag {
	h.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		r := h.ferryCtx(ctx, "stat", "--json", h.job)
		cancel()
		var js []struct {
			JobState string     `json:"jobState"`
			Lag      []topicLag `json:"lag"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &js); err != nil || len(js) != 1 {
			h.t.Fatalf("stat --json: %v\n%s", err, r)
		}
		l := map[string]topicLag{}
		for _, x := range js[0].Lag {
			l[x.Topic] = x
		}
		if ok(l) {
			h.t.Logf("%s: stat says the lag is %+v", what, js[0].Lag)
			return l
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: after %s stat says the lag is %+v (job %s)", what, timeout, js[0].Lag, js[0].JobState)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
