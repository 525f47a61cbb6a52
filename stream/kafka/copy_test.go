package kafka

import (
	"context"
	"fmt"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A topic with keys, headers and timestamps, a compacted topic with
// offset gaps, and a topic with aborted and committed transactions land
// partition for partition, in order, equal as kcat reads them.
func TestCopyPartitions(t *testing.T) {
	p := newPair(t)
	p.src.CreateTopic("plain", 3, nil)
	p.src.CreateTopic("compact", 2, map[string]string{"cleanup.policy": "compact"})
	p.src.CreateTopic("txn", 2, nil)
	var rs []*kgo.Record
	for i := range 300 {
		rs = append(rs, rec("plain", int32(i%3), i))
	}
	p.src.Produce(rs...)
	for b := range 8 { // batches: compaction keeps the last one whole
		rs = rs[:0]
		for i := b * 50; i < (b+1)*50; i++ {
			r := rec("compact", int32(i%2), i)
			r.Key = []byte{byte('a' + i%7)} // few keys: compaction leaves gaps
			rs = append(rs, r)
		}
		p.src.Produce(rs...)
	}
	p.src.Compact()
	for i := range 6 {
		var batch []*kgo.Record
		for j := range 20 {
			batch = append(batch, rec("txn", int32(j%2), i*100+j))
		}
		p.src.ProduceTxn("producer", i%2 == 0, batch...)
	}
	spec := p.spec("j", []string{"plain", "comp.*", "txn"}, nil)
	parts, _ := plan(t, spec)
	if len(parts) != 7 {
		t.Fatalf("%d partitions planned, want 7: %v", len(parts), parts)
	}
	m := newMaster()
	runAll(t, m, spec, parts)
	if n := sameTopic(t, p, "plain", 3); n != 300 {
		t.Errorf("plain: %d records", n)
	}
	if n := sameTopic(t, p, "compact", 2); n >= 400 || n == 0 {
		t.Errorf("compact: %d records, want fewer than 400 (compacted)", n)
	}
	if n := sameTopic(t, p, "txn", 2); n != 60 {
		t.Errorf("txn: %d records, want the 60 of the committed transactions", n)
	}
	// Same partition counts and configs.
	td, err := p.dst.Admin().ListTopics(context.Background(), "compact")
	if err != nil || len(td["compact"].Partitions) != 2 {
		t.Errorf("destination compact: %v %v", td, err)
	}
	rc, err := p.dst.Admin().DescribeTopicConfigs(context.Background(), "compact")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := rc.On("compact", nil)
	found := false
	for _, kv := range c.Configs {
		if kv.Key == "cleanup.policy" && kv.MaybeValue() == "compact" {
			found = true
		}
	}
	if !found {
		t.Errorf("destination compact has no cleanup.policy=compact: %+v", c.Configs)
	}
}

// A mapReader read again reads only the checkpoints written since, and
// holds what a fresh read of every checkpoint holds.
func TestMapReaderIncremental(t *testing.T) {
	p := newPair(t)
	p.src.CreateTopic("t", 2, nil)
	produce := func(from, n int) {
		var rs []*kgo.Record
		for i := from; i < from+n; i++ {
			rs = append(rs, rec("t", int32(i%2), i))
		}
		p.src.Produce(rs...)
	}
	produce(0, 100)
	spec := p.spec("j", []string{"t"}, nil)
	m := newMaster()
	parts, _ := plan(t, spec)
	runAll(t, m, spec, parts)
	_, dst := sidesOf(spec)
	ctx := context.Background()
	mr := &mapReader{job: "j"}
	maps, err := mr.read(ctx, dst)
	if err != nil || maps["t/0"] == nil || maps["t/0"].Records != 50 {
		t.Fatalf("first read: %v %v", maps, err)
	}
	before := map[int32]int64{}
	for k, v := range mr.from {
		before[k] = v
	}
	produce(100, 60)
	parts, _ = plan(t, spec) // to the new end: resumes from the checkpoints
	runAll(t, m, spec, parts)
	maps, err = mr.read(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := mappings(ctx, dst, "j")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"t/0", "t/1"} {
		a, b := maps[k], fresh[k]
		if a == nil || b == nil || a.Records != 80 || fmt.Sprint(*a) != fmt.Sprint(*b) {
			t.Errorf("%s: incremental %+v, fresh %+v; want 80 records, the same", k, a, b)
		}
	}
	moved := 0
	for k, v := range mr.from {
		if v > before[k] {
			moved++
		}
		if v < before[k] {
			t.Errorf("checkpoint partition %d: read from %d, then from %d", k, before[k], v)
		}
	}
	if moved == 0 {
		t.Errorf("the second read advanced no checkpoint partition: %v -> %v", before, mr.from)
	}
}
