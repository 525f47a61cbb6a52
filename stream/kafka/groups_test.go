package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/internal/kafkatest"
	"ferry/task"
	"ferry/tracker"
)

// Groups committed at various offsets of a topic with offset gaps
// (aborted transactions) are translated to the destination offset of the
// same record; a group with a member on the destination is left alone
// and reported; verify finds everything equal, then names the partition
// where a record was altered on the destination.
func TestGroupsAndVerify(t *testing.T) {
	p := newPair(t)
	p.src.CreateTopic("t", 2, nil)
	for i := range 10 {
		var batch []*kgo.Record
		for j := range 10 {
			batch = append(batch, rec("t", int32(j%2), i*10+j))
		}
		p.src.ProduceTxn("prod", i%3 != 1, batch...) // every third aborted
	}
	ctx := context.Background()
	sadm := p.src.Admin()
	commit := func(adm *kadm.Client, g string, offs map[int32]int64) {
		t.Helper()
		o := kadm.Offsets{}
		for part, at := range offs {
			o.Add(kadm.Offset{Topic: "t", Partition: part, At: at, LeaderEpoch: -1})
		}
		if err := adm.CommitAllOffsets(ctx, g, o); err != nil {
			t.Fatal(err)
		}
	}
	commit(sadm, "g-start", map[int32]int64{0: 0, 1: 0})
	commit(sadm, "g-mid", map[int32]int64{0: 13, 1: 30}) // 13: inside an aborted transaction's offsets
	commit(sadm, "g-end", map[int32]int64{0: 1000, 1: 1000})
	commit(sadm, "g-busy", map[int32]int64{0: 5, 1: 5})
	commit(sadm, "other", map[int32]int64{0: 5})
	// g-busy has a live member on the destination.
	member := p.dst.Client(kgo.ConsumerGroup("g-busy"), kgo.ConsumeTopics("t"))
	p.dst.CreateTopic("t", 2, nil)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	member.PollFetches(pctx)
	cancel()

	spec := p.spec("j", []string{"t"}, []string{"g-.*"})
	parts, groups := plan(t, spec)
	if len(groups) != 4 {
		t.Fatalf("groups %v", groups)
	}
	m := newMaster()
	runAll(t, m, spec, parts)
	for _, u := range groups {
		r, done := Runner{}.RunStream(ctx, m.grant(spec, u))
		want := tracker.OK
		if u.Group == "g-busy" {
			want = tracker.Skip
			if !strings.Contains(r.Detail, "active members") {
				t.Errorf("g-busy: %q", r.Detail)
			}
		}
		if !done || r.Result != want {
			t.Errorf("%s: %v %+v", u.Group, done, r)
		}
	}
	// Each translated offset points at the same record: the first record
	// a consumer of the group reads is the same on both sides.
	for _, g := range []string{"g-start", "g-mid", "g-end"} {
		for part := range int32(2) {
			s, _ := sadm.FetchOffsets(ctx, g)
			d, _ := p.dst.Admin().FetchOffsets(ctx, g)
			so, _ := s.Lookup("t", part)
			do, ok := d.Lookup("t", part)
			if !ok {
				t.Errorf("%s t/%d not committed on the destination", g, part)
				continue
			}
			sr, dr := firstFrom(t, p.src, part, so.At), firstFrom(t, p.dst, part, do.At)
			if sr != dr {
				t.Errorf("%s t/%d: source offset %d reads %q, destination offset %d reads %q", g, part, so.At, sr, do.At, dr)
			}
		}
	}
	d, _ := p.dst.Admin().FetchOffsets(ctx, "g-busy")
	if o, ok := d.Lookup("t", 0); ok && o.At >= 0 {
		t.Errorf("the active group was moved: %+v", o)
	}

	var bad []Check
	n, err := Verify(ctx, spec, func(c Check) {
		if !c.OK {
			bad = append(bad, c)
		}
	})
	if err != nil || n != 0 {
		t.Fatalf("verify: %d bad, %v: %+v", n, err, bad)
	}
	// Records altered on the destination outside ferry: the first ones
	// of t/1 deleted, and one written after the copy.
	p.dst.Produce(&kgo.Record{Topic: "t", Partition: 1, Key: []byte("intruder"), Value: []byte("x")})
	for _, alter := range []func(){
		func() {},
		func() {
			o := kadm.Offsets{}
			o.Add(kadm.Offset{Topic: "t", Partition: 1, At: 3})
			if _, err := p.dst.Admin().DeleteRecords(ctx, o); err != nil {
				t.Fatal(err)
			}
		},
	} {
		alter()
		verifyNames(t, spec, "t/1")
	}
}

// verifyNames checks that verify reports partition key, and only it.
func verifyNames(t *testing.T, spec task.Spec, key string) {
	t.Helper()
	var bad []Check
	_, err := Verify(context.Background(), spec, func(c Check) {
		if !c.OK {
			bad = append(bad, c)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].Key != key {
		t.Errorf("verify reported %+v, want %s only", bad, key)
	}
}

// firstFrom returns the first committed record's key at or after offset
// off ("" at the end).
func firstFrom(t *testing.T, c interface{ Addr() string }, part int32, off int64) string {
	t.Helper()
	var key string
	s := side{role: "test", brokers: []string{c.Addr()}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	adm := kadm.NewClient(c.(*kafkatest.Cluster).Client())
	ends, _ := adm.ListCommittedOffsets(ctx, "t")
	end, _ := ends.Lookup("t", part)
	readRange(ctx, s, "t", part, off, end.Offset, func(r *kgo.Record) {
		if key == "" {
			key = string(r.Key) + "=" + string(r.Value)
		}
	})
	return key
}
