package task

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"ferry/store"
)

// Stream is what a stream job (srcType=kafka, DESIGN.md §10) adds to its
// spec: which topics and consumer groups it moves, how long it runs, and
// how it authenticates on each side. A spec of a file job has none.
type Stream struct {
	// Topics are topic names (copied when they exist, an error when not)
	// or anchored regular expressions; Groups are anchored regular
	// expressions of the consumer groups whose offsets are translated.
	Topics, Groups []string
	// Continuous keeps tailing the source (streamMode=continuous); else
	// the job copies up to the high-water marks taken when it is planned
	// (streamMode=once) and then succeeds.
	Continuous bool
	// SASL mechanisms (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512; "" none),
	// with the endpoints' AccessKey and SecretKey as user and password,
	// and TLS, for each side.
	SrcSASL, DestSASL string
	SrcTLS, DestTLS   bool
	// SrcCA and DestCA are PEM certificates of the authorities to trust
	// (nil: the system's).
	SrcCA, DestCA []byte
}

// IsStream reports whether the job moves a stream (one source partition
// per task) rather than keys.
func (s Spec) IsStream() bool { return s.Stream != nil }

// A stream job's tasks each hold one Unit, carried as the single entry of
// the task's manifest: Entry gives that entry and ParseUnit reads it back.
// A partition's entry is keyed "topic/partition" with the offsets in its
// ETag ("start-end", end -1 when continuous); a consumer group's is keyed
// "~group/<name>", after every topic ('~' sorts after the characters a
// topic name may hold).
type Unit struct {
	Topic      string
	Partition  int32
	Start, End int64 // source offsets: copy [Start, End); End < 0: no end
	Group      string
}

// GroupKeyPrefix starts the key of a consumer group's unit.
const GroupKeyPrefix = "~group/"

// IsGroup reports whether the unit translates a consumer group's offsets.
func (u Unit) IsGroup() bool { return u.Group != "" }

// Key is the unit's key: "topic/partition", or "~group/<name>".
func (u Unit) Key() string {
	if u.IsGroup() {
		return GroupKeyPrefix + u.Group
	}
	return u.Topic + "/" + strconv.Itoa(int(u.Partition))
}

// Entry is the manifest entry that carries the unit.
func (u Unit) Entry() store.Entry {
	e := store.Entry{Key: u.Key()}
	if !u.IsGroup() {
		e.ETag = strconv.FormatInt(u.Start, 10) + "-" + strconv.FormatInt(u.End, 10)
	}
	return e
}

// ParseUnit reads back the unit an Entry made.
func ParseUnit(e store.Entry) (Unit, error) {
	if g, ok := strings.CutPrefix(e.Key, GroupKeyPrefix); ok {
		return Unit{Group: g}, nil
	}
	i := strings.LastIndexByte(e.Key, '/')
	p, err := strconv.ParseInt(e.Key[i+1:], 10, 32)
	if i <= 0 || err != nil || p < 0 {
		return Unit{}, fmt.Errorf("stream unit %q: not topic/partition", e.Key)
	}
	u := Unit{Topic: e.Key[:i], Partition: int32(p)}
	start, end, ok := strings.Cut(e.ETag, "-")
	if !ok {
		return Unit{}, fmt.Errorf("stream unit %q: offsets %q are not start-end", e.Key, e.ETag)
	}
	if u.Start, err = strconv.ParseInt(start, 10, 64); err == nil {
		u.End, err = strconv.ParseInt(end, 10, 64)
	}
	if err != nil {
		return Unit{}, fmt.Errorf("stream unit %q: offsets %q: %w", e.Key, e.ETag, err)
	}
	return u, nil
}

// Clone returns a copy of s that shares no slice with it.
func (s *Stream) Clone() *Stream {
	if s == nil {
		return nil
	}
	c := *s
	c.Topics, c.Groups = slices.Clone(s.Topics), slices.Clone(s.Groups)
	c.SrcCA, c.DestCA = slices.Clone(s.SrcCA), slices.Clone(s.DestCA)
	return &c
}

// StreamProgress is what a stream partition's task tells the master of
// its lag, inside the cursor it saves with its lease (as JSON fields of
// the cursor): stat adds it up per topic. Times are unix ms.
type StreamProgress struct {
	// Done is the source offset below which every record is on the
	// destination (copied, or a marker or gap that has nothing to copy);
	// End is the source's end for read_committed readers (its last
	// stable offset) as last seen.
	Done int64 `json:"done,omitempty"`
	End  int64 `json:"end,omitempty"`
	// CaughtUp is when the task last had copied everything up to End,
	// LastTime the timestamp of the last record copied; Saved is when
	// this was saved (0: the cursor says nothing of its progress).
	CaughtUp int64 `json:"caughtUp,omitempty"`
	LastTime int64 `json:"lastTime,omitempty"`
	Saved    int64 `json:"saved,omitempty"`
}

// ParseStreamProgress reads the progress in a stream task's cursor; ok is
// false when the cursor holds none.
func ParseStreamProgress(cursor []byte) (p StreamProgress, ok bool) {
	if len(cursor) == 0 || cursor[0] != '{' || json.Unmarshal(cursor, &p) != nil || p.Saved == 0 {
		return StreamProgress{}, false
	}
	return p, true
}

// Lag is how far the destination is behind the source, as of now: the
// records (offsets) the source has past Done, and the seconds since the
// destination last held everything the source had (the later of when
// the task was caught up and the last copied record's timestamp). A task
// that is copying and caught up lags 0 seconds; one that is not running
// (live false) lags from its last report on, whatever its records.
func (p StreamProgress) Lag(now time.Time, live bool) (records int64, seconds float64) {
	records = max(0, p.End-p.Done)
	if records == 0 && live {
		return 0, 0
	}
	since := max(p.CaughtUp, p.LastTime)
	if since <= 0 {
		return records, -1
	}
	return records, max(0, float64(now.UnixMilli()-since)/1000)
}
