package kafka

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"sort"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"ferry/task"
)

// Check is verify's finding for one partition or one group.
type Check struct {
	Key string // topic/partition, or ~group/<name>
	OK  bool
	// Records counted on each side over the copied range, and the
	// digest of their keys, values, headers and timestamps (hex).
	Records, DestRecords int64
	Digest, DestDigest   string
	Detail               string // why not OK, or a note
}

// Verify compares, for each partition the job copies, the records of the
// copied range on both sides (count and digest of key, value, headers
// and timestamp, and the first record that differs), and checks that
// every group offset it translated points at the same record as on the
// source. fn receives each finding.
func Verify(ctx context.Context, spec task.Spec, fn func(Check)) (bad int, err error) {
	src, dst := sidesOf(spec)
	p, err := Discover(ctx, spec)
	if err != nil {
		return 0, err
	}
	maps, err := mappings(ctx, dst, spec.Name)
	if err != nil {
		return 0, err
	}
	report := func(c Check) {
		if !c.OK {
			bad++
		}
		fn(c)
	}
	for _, t := range p.Topics {
		for _, pp := range t.Partitions {
			key := t.Name + "/" + strconv.Itoa(int(pp.Partition))
			m := maps[key]
			if m == nil {
				c := Check{Key: key, OK: pp.End <= pp.Start}
				if !c.OK {
					c.Detail = fmt.Sprintf("MISSING: nothing copied (source offsets %d-%d)", pp.Start, pp.End-1)
				}
				report(c)
				continue
			}
			c, err := comparePartition(ctx, src, dst, t.Name, pp.Partition, m)
			if err != nil {
				return bad, err
			}
			report(c)
		}
	}
	for _, g := range p.Groups {
		c, err := verifyGroup(ctx, spec, g, maps)
		if err != nil {
			return bad, err
		}
		report(c)
	}
	return bad, nil
}

// comparePartition reads the copied range of a partition on both sides.
func comparePartition(ctx context.Context, src, dst side, topic string, p int32, m *Mapping) (Check, error) {
	c := Check{Key: topic + "/" + strconv.Itoa(int(p))}
	srcFrom, destFrom := m.SrcNext, m.DestNext
	if len(m.Ranges) > 0 {
		srcFrom, destFrom = m.Ranges[0].Src, m.Ranges[0].Dest
	}
	type rec struct {
		off int64
		sum [8]byte
	}
	var dest []rec
	dh := sha256.New()
	err := readRange(ctx, dst, topic, p, destFrom, m.DestNext, func(r *kgo.Record) {
		dest = append(dest, rec{r.Offset, recordSum(dh, r)})
	})
	if err != nil {
		return c, err
	}
	c.DestRecords, c.DestDigest = int64(len(dest)), fmt.Sprintf("%x", dh.Sum(nil))
	sh := sha256.New()
	var i int
	first := ""
	err = readRange(ctx, src, topic, p, srcFrom, m.SrcNext, func(r *kgo.Record) {
		s := recordSum(sh, r)
		switch {
		case first != "":
		case i >= len(dest):
			first = fmt.Sprintf("source offset %d has no copy (the destination has %d records)", r.Offset, len(dest))
		case dest[i].sum != s:
			first = fmt.Sprintf("source offset %d and destination offset %d differ (key, value, headers or timestamp)", r.Offset, dest[i].off)
		}
		i++
	})
	if err != nil {
		return c, err
	}
	c.Records, c.Digest = int64(i), fmt.Sprintf("%x", sh.Sum(nil))
	extra, err := extraRecords(ctx, dst, topic, p, m.DestNext)
	if err != nil {
		return c, err
	}
	switch {
	case extra > 0:
		c.Detail = fmt.Sprintf("DIFFERENT: the destination has %d records after the copy's last (offset %d on), written by someone else", extra, m.DestNext)
	case first != "":
		c.Detail = "DIFFERENT: " + first
	case c.Records != c.DestRecords:
		c.Detail = fmt.Sprintf("DIFFERENT: %d records on the source, %d on the destination", c.Records, c.DestRecords)
	case c.Digest != c.DestDigest:
		c.Detail = "DIFFERENT: digests differ"
	default:
		c.OK = true
	}
	return c, nil
}

// recordSum adds a record's key, value, headers and timestamp to the
// partition's digest and returns a short hash of the record alone.
func recordSum(h hash.Hash, r *kgo.Record) [8]byte {
	rh := sha256.New()
	var b []byte
	field := func(p []byte, null bool) {
		if null {
			b = binary.AppendVarint(b, -1)
			return
		}
		b = binary.AppendVarint(b, int64(len(p)))
		b = append(b, p...)
	}
	field(r.Key, r.Key == nil)
	field(r.Value, r.Value == nil)
	b = binary.AppendUvarint(b, uint64(len(r.Headers)))
	for _, hd := range r.Headers {
		field([]byte(hd.Key), false)
		field(hd.Value, hd.Value == nil)
	}
	b = binary.AppendVarint(b, r.Timestamp.UnixMilli())
	h.Write(b)
	rh.Write(b)
	var out [8]byte
	copy(out[:], rh.Sum(nil))
	return out
}

// readRange calls fn with each committed record (control records left
// out) of a partition whose offset is in [from, to).
func readRange(ctx context.Context, s side, topic string, p int32, from, to int64, fn func(*kgo.Record)) error {
	if from >= to {
		return nil
	}
	cl, err := s.client(ctx, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().At(from)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer cl.Close()
	pos := from
	idle := time.Duration(0)
	for pos < to {
		pctx, cancel := context.WithTimeout(ctx, idlePoll)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fetchErr(fs); err != nil {
			return s.wrap(err)
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < pos || pos >= to {
				return
			}
			n++
			if r.Offset >= to {
				pos = to
				return
			}
			pos = r.Offset + 1
			if !r.Attrs.IsControl() {
				fn(r)
			}
		})
		if n == 0 {
			if idle += idlePoll; idle >= endIdle {
				return nil // the rest of the range holds no record
			}
		} else {
			idle = 0
		}
	}
	return nil
}

// verifyGroup checks that each offset group g has on the destination for a
// copied partition is the translation of its source offset.
func verifyGroup(ctx context.Context, spec task.Spec, g string, maps map[string]*Mapping) (Check, error) {
	c := Check{Key: task.GroupKeyPrefix + g}
	src, dst := sidesOf(spec)
	sadm, err := src.admin(ctx)
	if err != nil {
		return c, err
	}
	defer sadm.Close()
	dadm, err := dst.admin(ctx)
	if err != nil {
		return c, err
	}
	defer dadm.Close()
	if err := checkIdle(ctx, dadm, g); err != nil {
		c.OK, c.Detail = true, "SKIPPED: "+err.Error()
		return c, nil
	}
	so, err := sadm.FetchOffsets(ctx, g)
	if err != nil {
		return c, src.wrap(err)
	}
	do, err := dadm.FetchOffsets(ctx, g)
	if err != nil {
		return c, dst.wrap(err)
	}
	var wrong []string
	n := 0
	for topic, ps := range so {
		for p, o := range ps {
			m := maps[topic+"/"+strconv.Itoa(int(p))]
			if m == nil || o.At < 0 {
				continue
			}
			want, covered := m.Translate(o.At)
			if !covered && spec.Stream.Continuous {
				continue
			}
			n++
			got, ok := do.Lookup(topic, p)
			if !ok || got.At != want {
				at := int64(-1)
				if ok {
					at = got.At
				}
				wrong = append(wrong, fmt.Sprintf("%s/%d at %d, want %d (source %d)", topic, p, at, want, o.At))
			}
		}
	}
	sort.Strings(wrong)
	c.Records = int64(n)
	if len(wrong) > 0 {
		c.Detail = fmt.Sprintf("DIFFERENT: %d of %d offsets do not point at the same record: %s", len(wrong), n, wrong[0])
		return c, nil
	}
	c.OK, c.Detail = true, fmt.Sprintf("%d offsets point at the same records", n)
	return c, nil
}

// extraRecords counts the committed records of a destination partition
// from offset from to its end: none, unless someone else wrote there.
func extraRecords(ctx context.Context, dst side, topic string, p int32, from int64) (int, error) {
	adm, err := dst.admin(ctx)
	if err != nil {
		return 0, err
	}
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	adm.Close()
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return 0, dst.wrap(err)
	}
	end, _ := ends.Lookup(topic, p)
	n := 0
	err = readRange(ctx, dst, topic, p, from, end.Offset, func(*kgo.Record) { n++ })
	return n, err
}
