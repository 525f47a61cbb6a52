// Package verify compares a job's source with its destination: it merges
// the two sorted listings as streams (no listing is held in memory) and
// reports keys missing at the destination, keys whose content differs (or,
// for stores that compare more, what their store.Differ finds, such as a
// znode's ACL), and keys only the destination has. How hard it looks is
// the mode: simple compares sizes, general sizes and mtimes, detailed the
// CRC64 of the content too, reading what stored metadata cannot answer.
package verify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"golang.org/x/sync/errgroup"

	"ferry/store"
	"ferry/task"
)

// Mode says how closely entries are compared.
type Mode string

const (
	Simple   Mode = "simple"   // size
	General  Mode = "general"  // size and mtime
	Detailed Mode = "detailed" // size and CRC64 of the content
)

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Simple, General, Detailed:
		return m, nil
	}
	return "", fmt.Errorf("unknown verify mode %q (simple, general or detailed)", s)
}

// Diff is one key that does not match: task.Missing (in the source, not at
// the destination), task.Different (at both, not the same) or task.Extra
// (at the destination only).
type Diff struct {
	Kind   task.Kind
	Key    string
	Reason string
}

// Counts sums up a comparison.
type Counts struct {
	Source, Dest int64 // files listed on each side
	Match        int64
	Missing      int64
	Different    int64
	Extra        int64
	Bytes        int64 // bytes read to compute checksums
}

// OK reports whether the destination matches the source.
func (c Counts) OK() bool { return c.Missing == 0 && c.Different == 0 && c.Extra == 0 }

// Options tune Compare.
type Options struct {
	Mode    Mode
	Threads int // content comparisons at once (detailed mode)
}

// Compare walks src and dst in key order and calls report for every key
// that does not match, from one goroutine, in no particular order.
func Compare(ctx context.Context, src, dst store.Store, opt Options, report func(Diff)) (Counts, error) {
	if opt.Threads <= 0 {
		opt.Threads = 8
	}
	var c Counts
	var mu sync.Mutex
	emit := func(d Diff) {
		mu.Lock()
		defer mu.Unlock()
		switch d.Kind {
		case task.Missing:
			c.Missing++
		case task.Different:
			c.Different++
		case task.Extra:
			c.Extra++
		}
		report(d)
	}
	matched := func() { mu.Lock(); c.Match++; mu.Unlock() }

	differs := store.FeaturesOf(dst).Differs
	g, ctx := errgroup.WithContext(ctx)
	srcCh := make(chan store.Entry, 256)
	dstCh := make(chan store.Entry, 256)
	list := func(s store.Store, ch chan<- store.Entry, side string) func() error {
		return func() error {
			if err := store.ListInto(ctx, s, "", ch); err != nil {
				return fmt.Errorf("list %s: %w", side, err)
			}
			return nil
		}
	}
	g.Go(list(src, srcCh, "source"))
	g.Go(list(dst, dstCh, "destination"))
	// Symlinks and special files are not copied: compare files only.
	next := func(ch <-chan store.Entry) (store.Entry, bool) {
		for e := range ch {
			if e.Kind == store.File {
				return e, true
			}
		}
		return store.Entry{}, false
	}

	work := new(errgroup.Group)
	work.SetLimit(opt.Threads)
	var bytes int64
	g.Go(func() error {
		defer work.Wait()
		s, sok := next(srcCh)
		d, dok := next(dstCh)
		for sok || dok {
			switch {
			case dok && (!sok || d.Key < s.Key):
				c.Dest++
				emit(Diff{task.Extra, d.Key, "not in the source"})
				d, dok = next(dstCh)
			case sok && (!dok || s.Key < d.Key):
				c.Source++
				emit(Diff{task.Missing, s.Key, "not at the destination"})
				s, sok = next(srcCh)
			default:
				c.Source++
				c.Dest++
				reason := Quick(opt.Mode, s, d)
				if reason == "" && differs != nil {
					reason = differs(s, d) // a znode's ACL, say
				}
				if reason != "" && opt.Mode == General && s.Size == d.Size {
					// A listing may give an object's upload time, not the
					// mtime ferry kept in its metadata: ask each side.
					s, d := s, d
					work.Go(func() error {
						s2, err1 := src.Stat(ctx, s.Key)
						d2, err2 := dst.Stat(ctx, d.Key)
						if err1 == nil && err2 == nil {
							reason = Quick(opt.Mode, s2, d2)
						}
						if reason != "" {
							emit(Diff{task.Different, s.Key, reason})
						} else {
							matched()
						}
						return nil
					})
				} else if reason != "" {
					emit(Diff{task.Different, s.Key, reason})
				} else if opt.Mode == Detailed {
					s, d := s, d
					work.Go(func() error {
						reason, n, err := Deep(ctx, src, dst, s, d)
						mu.Lock()
						bytes += n
						mu.Unlock()
						switch {
						case err != nil:
							emit(Diff{task.Different, s.Key, "cannot compare: " + err.Error()})
						case reason != "":
							emit(Diff{task.Different, s.Key, reason})
						default:
							matched()
						}
						return nil
					})
				} else {
					matched()
				}
				s, sok = next(srcCh)
				d, dok = next(dstCh)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		return nil
	})
	err := g.Wait()
	c.Bytes = bytes
	return c, err
}

// Quick compares what listings say of a source entry s and its copy d,
// returning why they differ or "".
func Quick(m Mode, s, d store.Entry) string {
	if s.Size != d.Size {
		return fmt.Sprintf(sizeReason, s.Size, d.Size)
	}
	if m == General && !s.MTime.IsZero() && !d.MTime.IsZero() && !s.MTime.Equal(d.MTime) {
		return fmt.Sprintf("mtime %s at the source, %s at the destination", s.MTime.UTC().Format("2006-01-02T15:04:05.999999999Z"), d.MTime.UTC().Format("2006-01-02T15:04:05.999999999Z"))
	}
	if s.HasCRC && d.HasCRC && s.CRC64 != d.CRC64 {
		return fmt.Sprintf(crcReason, s.CRC64, d.CRC64)
	}
	return ""
}

// Deep compares the CRC64s of s and d, reading a side whose entry does not
// carry one; it returns why they differ (or "") and the bytes it read.
func Deep(ctx context.Context, src, dst store.Store, s, d store.Entry) (string, int64, error) {
	return DeepThrough(ctx, src, dst, s, d, nil)
}

// DeepThrough is Deep with every side it reads passed through through
// (when not nil) once opened: a worker's bandwidth and request limits,
// which checksum comparisons must keep like copies.
func DeepThrough(ctx context.Context, src, dst store.Store, s, d store.Entry, through func(io.Reader) (io.Reader, error)) (string, int64, error) {
	var read int64
	sum := func(st store.Store, e store.Entry) (uint64, error) {
		if e.HasCRC {
			return e.CRC64, nil
		}
		rc, err := st.Open(ctx, e.Key, 0, -1)
		if err != nil {
			return 0, err
		}
		defer rc.Close()
		var r io.Reader = rc
		if through != nil {
			if r, err = through(rc); err != nil {
				return 0, err
			}
		}
		h := store.NewCRC64()
		n, err := io.Copy(h, r)
		read += n
		if err != nil {
			return 0, err
		}
		if n != e.Size {
			return 0, errors.New("size changed while read")
		}
		return h.Sum64(), nil
	}
	sc, err := sum(src, s)
	if err != nil {
		return "", read, fmt.Errorf("source: %w", err)
	}
	dc, err := sum(dst, d)
	if err != nil {
		return "", read, fmt.Errorf("destination: %w", err)
	}
	if sc != dc {
		return fmt.Sprintf(crcReason, sc, dc), read, nil
	}
	return "", read, nil
}
