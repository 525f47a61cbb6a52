package plan

import (
	"testing"
	"time"

	"ferry/store"
)

// TestKnownSkips: an entry is skipped as unchanged by what Known says only
// when the source's size and mtime and the destination's size and ETag are
// all exactly what was recorded, and the update rules skip on size and
// mtime alone; anything else is decided as without Known.
func TestKnownSkips(t *testing.T) {
	mt := time.Unix(1700000000, 123456789)
	known := Known{Size: 10, MTime: mt, DestETag: "e1"}
	src := store.Entry{Key: "k", Size: 10, MTime: mt, Kind: store.File}
	dst := store.Entry{Key: "k", Size: 10, MTime: time.Unix(1800000000, 0), ETag: "e1", Kind: store.File}
	with := func(o Options) Options {
		o.Known = func(key string) (Known, bool) { return known, key == "k" }
		return o
	}
	skipExist := Options{SkipExist: true}
	for _, c := range []struct {
		name string
		opt  Options
		s, d store.Entry
		want Action
	}{
		{"all as recorded", with(skipExist), src, dst, Skip},
		{"all as recorded, updateMode=size", with(Options{Update: Size}), src, dst, Skip},
		{"all as recorded, updateMode=never", with(Options{Update: Never}), src, dst, Skip},
		{"all as recorded, updateMode=newer", with(Options{Update: Newer}), src, dst, Skip},
		{"updateMode=checksum compares contents every round", with(Options{Update: Checksum}), src, dst, Copy},
		{"updateMode=always copies regardless", with(Options{}), src, dst, Copy},
		{"updateMode=always, explicitly", with(Options{Update: Always}), src, dst, Copy},
		{"no Known: the listing's mtime is an upload time", skipExist, src, dst, Copy},
		{"source mtime changed", with(skipExist), func() store.Entry { e := src; e.MTime = mt.Add(time.Nanosecond); return e }(), dst, Copy},
		{"source size changed", with(skipExist), func() store.Entry { e := src; e.Size = 11; return e }(), func() store.Entry { e := dst; e.Size = 11; return e }(), Copy},
		{"destination rewritten", with(skipExist), src, func() store.Entry { e := dst; e.ETag = "e2"; return e }(), Copy},
		{"destination size differs", with(skipExist), src, func() store.Entry { e := dst; e.Size = 9; return e }(), Copy},
		{"destination without ETag", with(skipExist), src, func() store.Entry { e := dst; e.ETag = ""; return e }(), Copy},
		{"key never recorded", with(skipExist), func() store.Entry { e := src; e.Key = "other"; return e }(), func() store.Entry { e := dst; e.Key = "other"; return e }(), Copy},
	} {
		d := c.d
		if got := decide(c.opt, c.s, &d); got.Action != c.want {
			t.Errorf("%s: %v (%s), want %v", c.name, got.Action, got.Reason, c.want)
		}
	}
}
