package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/task"
)

// A checkpoint is what a partition's copier commits to CheckpointTopic in
// the same destination transaction as the records it copied: where the
// source stands after them, and the offset mapping of those records. The
// transaction makes the two one fact: a checkpoint is visible to
// read_committed readers exactly when its records are, so the last
// checkpoint of a partition says where a new attempt resumes, and all its
// checkpoints together are the exact offset mapping, as produced.
type Checkpoint struct {
	Lease    uint64 // the ferry lease that wrote it
	Seq      uint64 // 1, 2, ... per partition
	SrcNext  int64  // source position after the transaction
	DestNext int64  // destination offset after its last record
	Records  int64  // records copied so far, all transactions
	Bytes    int64  // key and value bytes copied so far
	Ranges   []Range
	// Offset is the checkpoint record's own offset in CheckpointTopic
	// (not encoded).
	Offset int64
}

// Range maps N consecutive source offsets from Src to N consecutive
// destination offsets from Dest: the records of one transaction whose
// source offsets have no gap.
type Range struct{ Src, Dest, N int64 }

const (
	checkpointVersion    = 1
	checkpointPartitions = 8
)

var errTopicExists = kerr.TopicAlreadyExists

// checkpointKey names a partition of a job in CheckpointTopic.
func checkpointKey(job, topic string, partition int32) string {
	return job + "\x00" + topic + "\x00" + strconv.Itoa(int(partition))
}

// parseKey reads a checkpoint key back.
func parseKey(k string) (job, topic string, partition int32, ok bool) {
	parts := strings.Split(k, "\x00")
	if len(parts) != 3 {
		return "", "", 0, false
	}
	p, err := strconv.ParseInt(parts[2], 10, 32)
	return parts[0], parts[1], int32(p), err == nil
}

// checkpointPartition is where a key's checkpoints go, all of them in one
// partition, in order.
func checkpointPartition(key string, n int) int32 {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int32(h.Sum32() % uint32(n))
}

func (c *Checkpoint) encode() []byte {
	b := []byte{checkpointVersion}
	for _, v := range []uint64{c.Lease, c.Seq, uint64(c.SrcNext), uint64(c.DestNext), uint64(c.Records), uint64(c.Bytes), uint64(len(c.Ranges))} {
		b = binary.AppendUvarint(b, v)
	}
	var prevS, prevD int64
	for _, r := range c.Ranges { // deltas: small numbers
		b = binary.AppendVarint(b, r.Src-prevS)
		b = binary.AppendVarint(b, r.Dest-prevD)
		b = binary.AppendUvarint(b, uint64(r.N))
		prevS, prevD = r.Src+r.N, r.Dest+r.N
	}
	return b
}

var errBadCheckpoint = errors.New("corrupt checkpoint")

func decodeCheckpoint(b []byte) (*Checkpoint, error) {
	if len(b) == 0 || b[0] != checkpointVersion {
		return nil, errBadCheckpoint
	}
	b = b[1:]
	var bad bool
	u := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	s := func() int64 {
		v, n := binary.Varint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	c := &Checkpoint{Lease: u(), Seq: u(), SrcNext: int64(u()), DestNext: int64(u()), Records: int64(u()), Bytes: int64(u())}
	n := u()
	if bad || n > uint64(len(b)) {
		return nil, errBadCheckpoint
	}
	var prevS, prevD int64
	c.Ranges = make([]Range, n)
	for i := range c.Ranges {
		r := Range{Src: prevS + s(), Dest: prevD + s(), N: int64(u())}
		c.Ranges[i] = r
		prevS, prevD = r.Src+r.N, r.Dest+r.N
	}
	if bad || len(b) != 0 {
		return nil, errBadCheckpoint
	}
	return c, nil
}

// ensureCheckpointTopic creates CheckpointTopic on the destination unless
// it is there: records kept forever (they are few: one per transaction).
func ensureCheckpointTopic(ctx context.Context, adm *kadm.Client, dst side) error {
	forever, del := "-1", "delete"
	_, err := adm.CreateTopic(ctx, checkpointPartitions, -1, map[string]*string{"retention.ms": &forever, "cleanup.policy": &del}, CheckpointTopic)
	if err != nil && !errors.Is(err, errTopicExists) {
		return dst.wrap(fmt.Errorf("create topic %s: %w", CheckpointTopic, err))
	}
	return nil
}

// checkpointPartitionsOf returns the partition count of CheckpointTopic.
func checkpointPartitionsOf(ctx context.Context, adm *kadm.Client) (int, error) {
	td, err := adm.ListTopics(ctx, CheckpointTopic)
	if err != nil {
		return 0, err
	}
	d, ok := td[CheckpointTopic]
	if !ok || d.Err != nil || len(d.Partitions) == 0 {
		return 0, fmt.Errorf("topic %s is missing on the destination (it is created when the job is planned)", CheckpointTopic)
	}
	return len(d.Partitions), nil
}

// readCheckpoints calls fn with every committed checkpoint in the given
// partitions of CheckpointTopic from the given offsets on, up to their
// ends as of the call, in order within each partition.
func readCheckpoints(ctx context.Context, dst side, from map[int32]int64, fn func(p int32, key string, c *Checkpoint) error) error {
	if len(from) == 0 {
		return nil
	}
	adm, err := dst.admin(ctx)
	if err != nil {
		return err
	}
	defer adm.Close()
	ends, err := adm.ListCommittedOffsets(ctx, CheckpointTopic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return dst.wrap(fmt.Errorf("list offsets of %s: %w", CheckpointTopic, err))
	}
	want := map[int32]kgo.Offset{}
	left := map[int32]int64{} // partition -> end still to reach
	for p, off := range from {
		e, ok := ends.Lookup(CheckpointTopic, p)
		if ok && e.Offset > off {
			want[p] = kgo.NewOffset().At(off)
			left[p] = e.Offset
		}
	}
	if len(want) == 0 {
		return nil
	}
	cl, err := dst.client(ctx, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{CheckpointTopic: want}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	for len(left) > 0 {
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		fs := cl.PollFetches(pctx)
		stalled := pctx.Err() != nil
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if stalled && fs.NumRecords() == 0 {
			return dst.wrap(fmt.Errorf("read %s: no progress in 30s", CheckpointTopic))
		}
		if err := fetchErr(fs); err != nil {
			return dst.wrap(fmt.Errorf("read %s: %w", CheckpointTopic, err))
		}
		var ferr error
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || ferr != nil {
				return
			}
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
			if r.Attrs.IsControl() || r.Offset >= end {
				return
			}
			c, err := decodeCheckpoint(r.Value)
			if err != nil {
				ferr = fmt.Errorf("%s partition %d offset %d: %w", CheckpointTopic, r.Partition, r.Offset, err)
				return
			}
			c.Offset = r.Offset
			ferr = fn(r.Partition, string(r.Key), c)
		})
		if ferr != nil {
			return ferr
		}
	}
	return nil
}

// fetchErr returns the first error of a poll that is not the client
// closing.
func fetchErr(fs kgo.Fetches) error {
	for _, e := range fs.Errors() {
		if errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded) || errors.Is(e.Err, kgo.ErrClientClosed) {
			continue
		}
		return fmt.Errorf("%s[%d]: %w", e.Topic, e.Partition, e.Err)
	}
	return nil
}

// lastCheckpoint returns a partition's last committed checkpoint (nil when
// it has none), reading its checkpoint partition from offset from.
func lastCheckpoint(ctx context.Context, dst side, n int, job, topic string, partition int32, from int64) (*Checkpoint, error) {
	key := checkpointKey(job, topic, partition)
	var last *Checkpoint
	err := readCheckpoints(ctx, dst, map[int32]int64{checkpointPartition(key, n): from}, func(_ int32, k string, c *Checkpoint) error {
		if k == key {
			last = c
		}
		return nil
	})
	return last, err
}

// Mapping is a partition's offset mapping: every range its checkpoints
// hold, in order, and where the copy stands.
type Mapping struct {
	Ranges            []Range
	SrcNext, DestNext int64
	Records           int64
}

// mappings reads the offset mappings of every partition a job copied,
// by "topic/partition".
func mappings(ctx context.Context, dst side, job string) (map[string]*Mapping, error) {
	return (&mapReader{job: job}).read(ctx, dst)
}

// mapReader keeps a job's offset mappings up to date: each read reads
// only the checkpoints written since the one before (a continuous job's
// groups are translated every few seconds, and its checkpoints grow by
// one per transaction).
type mapReader struct {
	job  string
	from map[int32]int64 // next offset to read in each partition of CheckpointTopic
	maps map[string]*Mapping
}

func (mr *mapReader) read(ctx context.Context, dst side) (map[string]*Mapping, error) {
	if mr.from == nil {
		adm, err := dst.admin(ctx)
		if err != nil {
			return nil, err
		}
		n, err := checkpointPartitionsOf(ctx, adm)
		adm.Close()
		if err != nil {
			return nil, dst.wrap(err)
		}
		mr.from, mr.maps = map[int32]int64{}, map[string]*Mapping{}
		for p := range n {
			mr.from[int32(p)] = 0
		}
	}
	err := readCheckpoints(ctx, dst, mr.from, func(p int32, k string, c *Checkpoint) error {
		mr.from[p] = c.Offset + 1
		j, topic, part, ok := parseKey(k)
		if !ok || j != mr.job {
			return nil
		}
		key := topic + "/" + strconv.Itoa(int(part))
		m := mr.maps[key]
		if m == nil {
			m = &Mapping{}
			mr.maps[key] = m
		}
		m.Ranges = appendRanges(m.Ranges, c.Ranges)
		m.SrcNext, m.DestNext, m.Records = c.SrcNext, c.DestNext, c.Records
		return nil
	})
	return mr.maps, err
}

// appendRanges appends rs to m, merging a range that continues the last
// on both sides.
func appendRanges(m, rs []Range) []Range {
	for _, r := range rs {
		if n := len(m); n > 0 && m[n-1].Src+m[n-1].N == r.Src && m[n-1].Dest+m[n-1].N == r.Dest {
			m[n-1].N += r.N
			continue
		}
		m = append(m, r)
	}
	return m
}

// Translate returns the destination offset a consumer committed at source
// offset o resumes from: the destination offset of the first copied record
// at or after o; past every copied record, DestNext, and covered false when
// records from o on may still be copied (SrcNext <= o's predecessor).
func (m *Mapping) Translate(o int64) (dest int64, covered bool) {
	i := sort.Search(len(m.Ranges), func(i int) bool { return m.Ranges[i].Src+m.Ranges[i].N > o })
	if i < len(m.Ranges) {
		r := m.Ranges[i]
		return r.Dest + max(0, o-r.Src), true
	}
	return m.DestNext, o <= m.SrcNext
}

// Totals is what a job's checkpoints say was copied of one topic: the
// partitions with records copied, the records, and their key and value
// bytes.
type Totals struct {
	Partitions     int
	Records, Bytes int64
}

// Copied reads, from the last checkpoint of each partition a job copied,
// the records and bytes on the destination, by topic.
func Copied(ctx context.Context, spec task.Spec) (map[string]Totals, error) {
	_, dst := sidesOf(spec)
	adm, err := dst.admin(ctx)
	if err != nil {
		return nil, err
	}
	n, err := checkpointPartitionsOf(ctx, adm)
	adm.Close()
	if err != nil {
		return nil, dst.wrap(err)
	}
	from := map[int32]int64{}
	for p := range n {
		from[int32(p)] = 0
	}
	last := map[string]*Checkpoint{}
	err = readCheckpoints(ctx, dst, from, func(_ int32, k string, c *Checkpoint) error {
		if j, _, _, ok := parseKey(k); ok && j == spec.Name {
			c.Ranges = nil
			last[k] = c
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := map[string]Totals{}
	for k, c := range last {
		_, topic, _, _ := parseKey(k)
		t := out[topic]
		t.Partitions++
		t.Records += c.Records
		t.Bytes += c.Bytes
		out[topic] = t
	}
	return out, nil
}
