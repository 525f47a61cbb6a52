package master

import (
	"sort"
	"time"

	"ferry/state"
	"ferry/task"
)

// TopicLag is how far a stream job's destination is behind its source
// for one topic, added up over its partitions from what their tasks last
// saved (task.StreamProgress): the records (offsets) not yet copied, and
// the seconds of the partition that lags most (-1: unknown).
type TopicLag struct {
	Topic string
	// Partitions counts the topic's partitions still copying (all of a
	// continuous job's).
	Partitions int
	// Unreported counts the partitions whose task has said nothing yet
	// (a continuous job's partition not started): their records are not
	// in Records.
	Unreported int
	Records    int64
	Seconds    float64
}

// streamLag adds up the lag of a stream job's partitions per topic, in
// topic order, over the partitions still to copy (a once job's completed
// partitions lag nothing and are left out); one a once job has not
// started lags its whole planned range.
func (m *Master) streamLag(name string, now time.Time) ([]TopicLag, error) {
	by := map[string]*TopicLag{}
	err := m.db.StreamUnits(name, func(su state.StreamUnit) {
		u, err := task.ParseUnit(su.Entry)
		if err != nil || u.IsGroup() {
			return
		}
		l := by[u.Topic]
		if l == nil {
			l = &TopicLag{Topic: u.Topic}
			by[u.Topic] = l
		}
		l.Partitions++
		p, ok := task.ParseStreamProgress(su.Cursor)
		if !ok {
			if u.End < 0 {
				l.Unreported++
				return
			}
			p = task.StreamProgress{Done: u.Start, End: u.End}
		}
		records, seconds := p.Lag(now, su.State == state.Dispatched)
		l.Records += records
		if seconds < 0 || l.Seconds < 0 {
			l.Seconds = -1
		} else {
			l.Seconds = max(l.Seconds, seconds)
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]TopicLag, 0, len(by))
	for _, l := range by {
		if l.Unreported > 0 && l.Records == 0 && l.Seconds == 0 {
			l.Seconds = -1
		}
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Topic < out[j].Topic })
	return out, nil
}
