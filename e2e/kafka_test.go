package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/internal/kafkatest"
)

// kafkaRecords is how many records TestKafkaMigration writes (the issue's
// 200,000).
const kafkaRecords = 200_000

// TestKafkaMigration is issue 21's acceptance: three topics (12
// partitions; compacted, with offset gaps; with aborted transactions),
// records with keys, headers and timestamps, five consumer groups (one
// with a live member on the destination). `run` is killed with SIGKILL
// three times during the copy (master and worker both die), then run to
// the end; kcat (librdkafka) reads every destination partition equal to
// its source partition, the groups point at the same records, the
// active one is untouched and reported, and verify names a partition
// altered on the destination.
func TestKafkaMigration(t *testing.T) {
	kafkatest.RequireKcat(t)
	src, dst := kafkatest.Start(t), kafkatest.Start(t)
	ctx := context.Background()
	base := time.Now().Add(-time.Hour)
	mk := func(topic string, p int32, i int) *kgo.Record {
		return &kgo.Record{Topic: topic, Partition: p, Key: fmt.Appendf(nil, "key-%d", i%5000),
			Value:     fmt.Appendf(nil, "value-%s-%d-%d", topic, p, i),
			Headers:   []kgo.RecordHeader{{Key: "seq", Value: fmt.Appendf(nil, "%d", i)}, {Key: "from", Value: []byte(topic)}},
			Timestamp: base.Add(time.Duration(i) * time.Millisecond)}
	}
	src.CreateTopic("orders", 12, map[string]string{"retention.ms": "604800000", "max.message.bytes": "2000000"})
	src.CreateTopic("ledger", 2, map[string]string{"cleanup.policy": "compact"})
	src.CreateTopic("payments", 3, nil)
	var rs []*kgo.Record
	n := kafkaRecords * 8 / 10
	for i := range n {
		rs = append(rs, mk("orders", int32(i%12), i))
	}
	src.Produce(rs...)
	for b := range 10 { // compacted: keys repeat, in batches (compaction keeps the last)
		rs = rs[:0]
		for i := b * 2000; i < (b+1)*2000; i++ {
			r := mk("ledger", int32(i%2), i)
			r.Key = fmt.Appendf(nil, "acct-%d", i%300)
			rs = append(rs, r)
		}
		src.Produce(rs...)
	}
	src.Compact()
	for b := range 10 { // a third of the transactions aborted
		rs = rs[:0]
		for i := b * 1800; i < (b+1)*1800; i++ {
			rs = append(rs, mk("payments", int32(i%3), i))
		}
		src.ProduceTxn("payer", b%3 != 1, rs...)
	}
	// Records written by kcat itself too (its own timestamps and headers).
	var lines []string
	for i := range 500 {
		lines = append(lines, fmt.Sprintf("kcat-%d\tfrom kcat %d", i, i))
	}
	kafkatest.ProduceKcat(t, src.Addr(), "payments", 2, []string{"tool=kcat"}, lines)

	// Five groups at various offsets, and one no pattern matches.
	sadm := src.Admin()
	groups := map[string]map[int32]int64{
		"app-start":  {0: 0, 5: 0},
		"app-mid":    {0: 1000, 3: 4321, 11: 777},
		"app-end":    {1: int64(n / 12), 7: int64(n / 12)},
		"pay-gaps":   {0: 2000, 1: 2500, 2: 100},
		"app-active": {0: 10},
	}
	topicOf := map[string]string{"pay-gaps": "payments"}
	for g, offs := range groups {
		o := kadm.Offsets{}
		topic := topicOf[g]
		if topic == "" {
			topic = "orders"
		}
		for p, at := range offs {
			o.Add(kadm.Offset{Topic: topic, Partition: p, At: at, LeaderEpoch: -1})
		}
		if err := sadm.CommitAllOffsets(ctx, g, o); err != nil {
			t.Fatal(err)
		}
	}
	o := kadm.Offsets{}
	o.Add(kadm.Offset{Topic: "orders", Partition: 0, At: 3, LeaderEpoch: -1})
	if err := sadm.CommitAllOffsets(ctx, "unrelated", o); err != nil {
		t.Fatal(err)
	}
	// app-active has a live member on the destination (whose topic exists
	// already, with its 12 partitions).
	dst.CreateTopic("orders", 12, nil)
	member := dst.Client(kgo.ConsumerGroup("app-active"), kgo.ConsumeTopics("orders"))
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	member.PollFetches(pctx)
	cancel()

	h := newHome(t, "kafka")
	h.writeJob(h.jobFile, kv{"srcType", "kafka"}, kv{"srcPrefix", ""}, kv{"destType", "kafka"}, kv{"destPrefix", ""},
		kv{"srcDomain", src.Addr()}, kv{"destDomain", dst.Addr()}, kv{"topics", "orders,ledger,pay.*"},
		kv{"consumerGroups", "app-.*,pay-gaps"}, kv{"taskObjectCountLimit", ""}, kv{"maxThroughput", "1MB"})

	// The dry run says what it would do and writes nothing.
	dry := h.must(time.Minute, "submit", "--dry-run", h.jobFile)
	for _, want := range []string{"orders", "12 partitions", "ledger", "payments", "5 to translate", "exists with 12 partitions"} {
		if !strings.Contains(dry, want) {
			t.Errorf("dry run lacks %q:\n%s", want, dry)
		}
	}

	// Each run is killed at a random moment after the destination has
	// grown: during the copy (the job is throttled to last a while).
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 21))
	dadm := dst.Admin()
	copied := func() int64 {
		ends, _ := dadm.ListEndOffsets(ctx, "orders", "ledger", "payments")
		var n int64
		ends.Each(func(o kadm.ListedOffset) { n += max(0, o.Offset) })
		return n
	}
	for i := range 3 {
		before := copied()
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		r := h.background(rctx, "run", h.jobFile)
		for copied() == before && rctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
		delay := time.Duration(rng.Int64N(int64(time.Second)))
		select {
		case err := <-r.exited:
			t.Errorf("run %d ended by itself before the kill (%v):\n%s", i+1, err, r.out)
		case <-time.After(delay):
			r.cmd.Process.Signal(syscall.SIGKILL)
			<-r.exited
			t.Logf("run %d killed with SIGKILL %s into the copy; destination offsets %d -> %d", i+1, delay.Round(time.Millisecond), before, copied())
		}
		cancel()
	}
	if res := h.ferry(5*time.Minute, "run", h.jobFile); res.code != 0 {
		t.Fatalf("run after the kills: want exit 0:\n%s", res)
	}

	// Every destination partition equals its source partition.
	for topic, parts := range map[string]int32{"orders": 12, "ledger": 2, "payments": 3} {
		total := 0
		for p := range parts {
			s := kafkatest.ReadPartition(t, src.Addr(), topic, p)
			d := kafkatest.ReadPartition(t, dst.Addr(), topic, p)
			if len(s) != len(d) {
				t.Errorf("%s/%d: %d records on the source, %d on the destination", topic, p, len(s), len(d))
			}
			for j := range min(len(s), len(d)) {
				if s[j] != d[j] {
					t.Errorf("%s/%d record %d: source %v, destination %v", topic, p, j, s[j], d[j])
					break
				}
			}
			total += len(s)
		}
		t.Logf("%s: %d records in %d partitions equal", topic, total, parts)
		switch {
		case topic == "ledger" && total >= 20000:
			t.Errorf("ledger: %d records: not compacted", total)
		case topic == "payments" && total != 7*1800+500: // 7 of 10 transactions committed, and kcat's
			t.Errorf("payments: %d records, want %d", total, 7*1800+500)
		}
	}

	// The translated groups point at the same records; the active one is
	// untouched; the unrelated one was not copied.
	for g := range groups {
		so, _ := sadm.FetchOffsets(ctx, g)
		do, _ := dadm.FetchOffsets(ctx, g)
		for topic, ps := range so {
			for p, s := range ps {
				d, ok := do.Lookup(topic, p)
				if g == "app-active" {
					if ok && d.At >= 0 {
						t.Errorf("active group moved: %s/%d at %d", topic, p, d.At)
					}
					continue
				}
				if !ok {
					t.Errorf("%s %s/%d not translated", g, topic, p)
					continue
				}
				if sr, dr := firstRecord(t, src.Addr(), topic, p, s.At), firstRecord(t, dst.Addr(), topic, p, d.At); sr != dr {
					t.Errorf("%s %s/%d: source offset %d reads %v, destination offset %d reads %v", g, topic, p, s.At, sr, d.At, dr)
				}
			}
		}
	}
	if do, _ := dadm.FetchOffsets(ctx, "unrelated"); len(do) > 0 {
		t.Errorf("a group consumerGroups does not match was translated: %v", do)
	}
	audits, _ := filepath.Glob(filepath.Join(h.workdir, "master", "jobs", "kafka", "succeed_tasks", "*", "audit.log"))
	reported := false
	for _, a := range audits {
		b, _ := os.ReadFile(a)
		if strings.Contains(string(b), "~group/app-active") && strings.Contains(string(b), "SKIP") && strings.Contains(string(b), "active members") {
			reported = true
		}
	}
	if !reported {
		t.Errorf("no audit line says app-active was left alone (%d audit logs)", len(audits))
	}

	if r := h.ferry(5*time.Minute, "verify", "kafka"); r.code != 0 {
		t.Errorf("verify after the copy: want exit 0:\n%s", r)
	}
	o = kadm.Offsets{}
	// Everything up to the high watermark: kfake, unlike a real broker,
	// keeps serving a batch that straddles the new log start, so deleting
	// only the first few records can leave them readable.
	o.Add(kadm.Offset{Topic: "orders", Partition: 4, At: -1})
	dr, err := dadm.DeleteRecords(ctx, o)
	if err == nil {
		err = dr.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	if r := h.ferry(5*time.Minute, "verify", "kafka"); r.code != 1 || !strings.Contains(r.stdout, "orders/4") {
		t.Errorf("verify after altering orders/4: want exit 1 naming it:\n%s", r)
	}
}

// firstRecord reads, with kcat, the first committed record of a partition
// at or after offset off ("" at the end).
func firstRecord(t *testing.T, addr, topic string, p int32, off int64) kafkatest.Rec {
	t.Helper()
	for _, r := range kafkatest.ReadFrom(t, addr, topic, p, off, 1) {
		return r
	}
	return kafkatest.Rec{}
}
