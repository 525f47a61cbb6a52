package store_test

import (
	"context"
	"testing"

	"ferry/store"
	"ferry/store/local"
)

// wrapped is a wrapper that states its powers: the inner store's, with
// Delete refused.
type wrapped struct{ store.Store }

func (w wrapped) Features() store.Features {
	f := store.FeaturesOf(w.Store)
	f.Delete = nil
	return f
}

// TestFeaturesOf: a store's powers come from its method set, a plain
// wrapper (embedding the interface) has none, and a Featurer says its own.
func TestFeaturesOf(t *testing.T) {
	l, err := local.New(t.TempDir(), local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f := store.FeaturesOf(l).String(); f != "OpenStat Sync Delete CleanTemps PartDigests Assembler" {
		t.Errorf("local's powers: %q", f)
	}
	if p := store.FeaturesOf(struct{ store.Store }{l}).String(); p != "" {
		t.Errorf("a wrapper that states nothing has powers: %q", p)
	}
	w := store.FeaturesOf(wrapped{l})
	if got := w.String(); got != "OpenStat Sync CleanTemps PartDigests Assembler" {
		t.Errorf("wrapper's stated powers: %q; want local's less Delete", got)
	}
	if err := w.Sync(context.Background()); err != nil {
		t.Errorf("forwarded Sync: %v", err)
	}
	if m := store.FeaturesOf(l).Mask(w).String(); m != w.String() {
		t.Errorf("local's powers masked by the wrapper's: %q; want %q", m, w.String())
	}
	if m := w.Mask(store.Features{}).String(); m != "" {
		t.Errorf("masked by nothing: %q", m)
	}
}
