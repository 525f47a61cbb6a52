package filter

import (
	"fmt"
	"time"

	"ferry/store"
)

// Set decides which entries a job takes. Its zero value (and a nil *Set)
// allows everything. An entry is allowed when all of these hold, checked in
// this order (the first that fails is the reason):
//
//   - no Exclude pattern matches its key;
//   - Include is empty, or one of its patterns matches the key;
//   - MinSize <= Size, when MinSize > 0 (inclusive);
//   - Size <= MaxSize, when MaxSize > 0 (inclusive; 0 is no bound);
//   - ModifiedAfter <= MTime, when ModifiedAfter is not zero (inclusive);
//   - MTime < ModifiedBefore, when ModifiedBefore is not zero (exclusive),
//     so "before T" and "after T" split the files without overlap or gap.
//
// An entry whose MTime is unknown (zero) fails a ModifiedAfter bound and
// passes a ModifiedBefore bound.
type Set struct {
	Include, Exclude              []*Pattern
	MinSize, MaxSize              int64
	ModifiedAfter, ModifiedBefore time.Time
}

// Empty reports whether the set allows every entry.
func (s *Set) Empty() bool {
	return s == nil || len(s.Include) == 0 && len(s.Exclude) == 0 && s.MinSize <= 0 && s.MaxSize <= 0 &&
		s.ModifiedAfter.IsZero() && s.ModifiedBefore.IsZero()
}

// Allow reports whether e is taken and, when it is not, why, in a few words
// naming the job.cfg key that excluded it (for audit lines and stat).
func (s *Set) Allow(e store.Entry) (ok bool, reason string) {
	if s == nil {
		return true, ""
	}
	if ok, reason := s.AllowKey(e.Key); !ok {
		return false, reason
	}
	switch {
	case s.MinSize > 0 && e.Size < s.MinSize:
		return false, fmt.Sprintf("size %d is below minSize %d", e.Size, s.MinSize)
	case s.MaxSize > 0 && e.Size > s.MaxSize:
		return false, fmt.Sprintf("size %d is above maxSize %d", e.Size, s.MaxSize)
	case !s.ModifiedAfter.IsZero() && e.MTime.Before(s.ModifiedAfter):
		return false, fmt.Sprintf("modified %s, before modifiedAfter %s", timeText(e.MTime), timeText(s.ModifiedAfter))
	case !s.ModifiedBefore.IsZero() && !e.MTime.Before(s.ModifiedBefore):
		return false, fmt.Sprintf("modified %s, not before modifiedBefore %s", timeText(e.MTime), timeText(s.ModifiedBefore))
	}
	return true, ""
}

// AllowKey applies only the patterns, to a key relative to srcPrefix (or
// to destPrefix: mirror deletes no destination key the patterns exclude).
func (s *Set) AllowKey(key string) (ok bool, reason string) {
	if s == nil {
		return true, ""
	}
	for _, p := range s.Exclude {
		if p.Match(key) {
			return false, fmt.Sprintf("exclude pattern %q matches", p.src)
		}
	}
	if len(s.Include) == 0 {
		return true, ""
	}
	for _, p := range s.Include {
		if p.Match(key) {
			return true, ""
		}
	}
	return false, "no include pattern matches"
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format(time.RFC3339)
}
