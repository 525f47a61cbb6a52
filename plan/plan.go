// Package plan decides, entry by entry, what a job does with its source:
// copy it, skip it (the destination already has it, by the job's update
// mode), exclude it (filters), and, for a mirror, which destination keys
// to delete. Diff merges the source and destination listings as two sorted
// streams, so no listing is held in memory. Incremental rounds, dry runs
// and mirror deletion all use it; a worker makes the same per-entry
// decision with Decide when it copies.
package plan

import (
	"context"
	"fmt"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"ferry/filter"
	"ferry/store"
	"ferry/task"
)

// Update says when an entry that exists at the destination is copied
// again: the job's task.UpdateMode.
type Update = task.UpdateMode

const (
	Always   = task.UpdateAlways   // every time
	Never    = task.UpdateNever    // only missing keys
	Newer    = task.UpdateNewer    // when the source mtime is later
	Size     = task.UpdateSize     // when the sizes differ
	Checksum = task.UpdateChecksum // when size or CRC64 differ
)

// ParseUpdate checks an update mode name; "" is Always.
func ParseUpdate(s string) (Update, error) {
	switch u := Update(s); u {
	case "":
		return Always, nil
	case Always, Never, Newer, Size, Checksum:
		return u, nil
	}
	return "", fmt.Errorf("unknown updateMode %q (always, never, newer, size or checksum)", s)
}

// Action is what happens to one key.
type Action int

const (
	Copy Action = iota
	Skip
	Exclude
	Delete
)

func (a Action) String() string {
	return [...]string{"copy", "skip", "exclude", "delete"}[a]
}

// Item is one decision.
type Item struct {
	Action Action
	Entry  store.Entry // the source entry (the destination's for Delete)
	Reason string
}

// Options are a job's rules.
type Options struct {
	Filter    *filter.Set
	Update    Update
	SkipExist bool      // isSkipExistFile: skip when size and mtime are equal
	Since     time.Time // importSince: only entries modified since
	Mirror    bool      // report destination keys the source lacks as Delete
	// Known, when set, says what a key's destination object is a copy of
	// (an incremental job's record, for destinations whose listing has
	// ETags but not the kept source mtime). Diff skips a source entry whose
	// size and mtime, and whose destination's size and ETag, are exactly
	// what Known says, when the update rules skip on size and mtime alone
	// (see skipsUnchanged).
	Known func(key string) (Known, bool)
	// Differs, when set, compares what entries carry beyond their
	// content (a znode's ACL and sequential counter: the destination
	// store's store.Differ). In checksum mode an entry it finds different
	// is copied even when its content is the same. Diff sets it from the
	// destination when it is nil.
	Differs func(s, d store.Entry) string
}

// Known is what a destination object is known to be a copy of.
type Known struct {
	Size     int64
	MTime    time.Time // the source's
	DestETag string
}

// Decide says whether source entry s is copied over destination entry d
// (nil: the destination lacks it). needCRC reports that only a CRC64 of
// both sides can tell (checksum mode without stored checksums): the caller
// computes them, or copies.
func Decide(opt Options, s store.Entry, d *store.Entry) (copy bool, needCRC bool, reason string) {
	if d == nil {
		return true, false, "not at the destination"
	}
	sameSize := s.Size == d.Size
	if opt.SkipExist && sameSize && !s.MTime.IsZero() && s.MTime.Equal(d.MTime) {
		return false, false, "exists with same size and mtime"
	}
	switch opt.Update {
	case Never:
		return false, false, "exists (updateMode=never)"
	case Newer:
		if s.MTime.After(d.MTime) {
			return true, false, "source is newer"
		}
		return false, false, "destination is not older (updateMode=newer)"
	case Size:
		if !sameSize {
			return true, false, "size differs"
		}
		return false, false, "same size (updateMode=size)"
	case Checksum:
		if opt.Differs != nil {
			if why := opt.Differs(s, *d); why != "" {
				return true, false, why
			}
		}
		switch {
		case !sameSize:
			return true, false, "size differs"
		case s.HasCRC && d.HasCRC && s.CRC64 == d.CRC64:
			return false, false, "same crc64 (updateMode=checksum)"
		case s.HasCRC && d.HasCRC:
			return true, false, "crc64 differs"
		}
		return true, true, "checksum unknown"
	}
	return true, false, "updateMode=always"
}

// Diff calls fn, in source key order, for every source entry (Copy, Skip
// or Exclude) and, with opt.Mirror, for every destination key the source
// lacks (Delete; keys the filters exclude are never deleted). A Copy whose
// decision needs checksums is reported as Copy with Reason "checksum
// unknown".
// Listing starts after key after on both sides ("" from the start).
func Diff(ctx context.Context, src, dst store.Store, opt Options, after string, fn func(Item) error) error {
	if opt.Differs == nil {
		opt.Differs = store.FeaturesOf(dst).Differs
	}
	g, ctx := errgroup.WithContext(ctx)
	srcCh := make(chan store.Entry, 512)
	dstCh := make(chan store.Entry, 512)
	list := func(s store.Store, ch chan<- store.Entry, side string) func() error {
		return func() error {
			if err := store.ListInto(ctx, s, after, ch); err != nil {
				return fmt.Errorf("list %s: %w", side, err)
			}
			return nil
		}
	}
	g.Go(list(src, srcCh, "source"))
	g.Go(list(dst, dstCh, "destination"))
	g.Go(func() error {
		s, sok := <-srcCh
		d, dok := <-dstCh
		for sok || dok {
			var it Item
			switch {
			case dok && (!sok || d.Key < s.Key):
				if ok, _ := opt.Filter.AllowKey(d.Key); opt.Mirror && ok && d.Kind == store.File {
					it = Item{Delete, d, "not in the source"}
				}
				d, dok = <-dstCh
				if it.Reason == "" {
					continue
				}
			case sok && (!dok || s.Key < d.Key):
				it = decide(opt, s, nil)
				s, sok = <-srcCh
			default:
				it = decide(opt, s, &d)
				s, sok = <-srcCh
				d, dok = <-dstCh
			}
			if err := fn(it); err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

// Filter decides a source entry on the job's filters alone (no
// destination): Copy or Exclude.
func Filter(opt Options, s store.Entry) Item {
	if s.Kind != store.File {
		return Item{Copy, s, s.Detail}
	}
	if ok, why := opt.Filter.Allow(s); !ok {
		return Item{Exclude, s, why}
	}
	if !opt.Since.IsZero() && s.MTime.Before(opt.Since) {
		return Item{Exclude, s, "modified before importSince"}
	}
	return Item{Copy, s, ""}
}

// skipsUnchanged reports whether the update rules skip an entry whose
// destination is a copy of it at the same size and mtime without reading
// anything more: isSkipExistFile, or updateMode never, newer or size. Not
// always (copies every time), nor checksum, which compares contents every
// round so that a change keeping size and mtime is still found.
func (o Options) skipsUnchanged() bool {
	return o.SkipExist || o.Update == Never || o.Update == Newer || o.Update == Size
}

func decide(opt Options, s store.Entry, d *store.Entry) Item {
	if it := Filter(opt, s); it.Action != Copy || s.Kind != store.File {
		return it // non-files go to the worker, which reports them skipped
	}
	if d != nil && d.ETag != "" && opt.Known != nil && opt.skipsUnchanged() {
		if k, ok := opt.Known(s.Key); ok && k.Size == s.Size && k.MTime.Equal(s.MTime) && d.Size == s.Size && strings.EqualFold(k.DestETag, d.ETag) {
			return Item{Skip, s, "unchanged since copied (size, mtime, destination ETag)"}
		}
	}
	copy, _, why := Decide(opt, s, d)
	if copy {
		return Item{Copy, s, why}
	}
	return Item{Skip, s, why}
}
