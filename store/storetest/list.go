package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"ferry/store"
)

// List returns the keys List reports for prefix and startAfter, checking
// that they are files, under prefix, after startAfter and strictly
// increasing.
func List(t *testing.T, s store.Store, prefix, startAfter string) []string {
	t.Helper()
	var keys []string
	err := s.List(context.Background(), prefix, startAfter, func(e store.Entry) error {
		if e.Kind != store.File {
			t.Errorf("List(%q, %q): %q has kind %d (%s), want File", prefix, startAfter, e.Key, e.Kind, e.Detail)
		}
		if !strings.HasPrefix(e.Key, prefix) || e.Key <= startAfter {
			t.Errorf("List(%q, %q) returned %q", prefix, startAfter, e.Key)
		}
		if n := len(keys); n > 0 && e.Key <= keys[n-1] {
			t.Errorf("List(%q, %q): %q after %q, not in strictly increasing byte order", prefix, startAfter, e.Key, keys[n-1])
		}
		keys = append(keys, e.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q, %q): %v", prefix, startAfter, err)
	}
	return keys
}

func sorted(keys []string) []string {
	s := slices.Clone(keys)
	slices.Sort(s) // byte order: Go compares strings bytewise
	return s
}

// filter returns the sorted keys that have prefix and come after startAfter.
func filter(keys []string, prefix, startAfter string) []string {
	var out []string
	for _, k := range sorted(keys) {
		if strings.HasPrefix(k, prefix) && k > startAfter {
			out = append(out, k)
		}
	}
	return out
}

// OrderKeys set the traps of byte order in a tree: '/' is 0x2f, so "a-b"
// and "a.b" sort before the keys below "a/", and "a0" after them; a
// directory's keys are not contiguous with its name's siblings.
var OrderKeys = []string{
	"a\x01", "a b", "a!", "a-b", "a.b", "a/w y", "a/w-1", "a/w.y", "a/w/z", "a/w0",
	"a/x", "a/y/z/w", "a0", "aa", "b", "c/d/e", "c/dé", "c/d\xff", "c/d~",
}

// afterCandidates are startAfter values: every key, and strings between,
// around and inside them.
var afterCandidates = append([]string{
	"", "a", "a/", "a/w", "a/w/", "a/w/y", "a/w/z", "a/w/zz", "a/x/", "a/y", "a/y/z/",
	"a/z", "a-", "a/\xff", "b/", "c/d", "c/d/", "zzz", "\xff", "\x01",
}, OrderKeys...)

var prefixes = []string{
	"", "a", "a/", "a/w", "a/w/", "a/w/z", "a/x", "a/y/", "a.", "a-b", "b", "c/", "c/d",
	"c/d/", "nope", "a/w/z/nothing", "a/y/z/w",
}

func putAll(t *testing.T, s store.Store, keys []string) {
	t.Helper()
	for i := len(keys) - 1; i >= 0; i-- { // not in order: List must sort
		Put(t, s, keys[i], keys[i])
	}
}

func testListOrder(t *testing.T, s store.Store, opt Options) {
	keys := opt.keys(OrderKeys)
	putAll(t, s, keys)
	if got, want := List(t, s, "", ""), sorted(keys); !slices.Equal(got, want) {
		t.Fatalf("List =\n%q\nwant\n%q", got, want)
	}
}

func testListStartAfter(t *testing.T, s store.Store, opt Options) {
	keys := opt.keys(OrderKeys)
	putAll(t, s, keys)
	for _, after := range afterCandidates {
		if got, want := List(t, s, "", after), filter(keys, "", after); !slices.Equal(got, want) {
			t.Errorf("List(startAfter=%q) =\n%q\nwant\n%q", after, got, want)
		}
	}
}

func testListPrefix(t *testing.T, s store.Store, opt Options) {
	keys := opt.keys(OrderKeys)
	putAll(t, s, keys)
	for _, prefix := range prefixes {
		for _, after := range afterCandidates {
			if got, want := List(t, s, prefix, after), filter(keys, prefix, after); !slices.Equal(got, want) {
				t.Errorf("List(prefix=%q, startAfter=%q) =\n%q\nwant\n%q", prefix, after, got, want)
			}
		}
	}
}

// randomKeys returns n keys made of components that sort close to '/',
// none of which is both a file and a directory.
func randomKeys(r *rand.Rand, n int) []string {
	parts := []string{"a", "b", "a-", "a.", "a0", "ab", "-", "é", "\xff", " ", "a b", "~"}
	files, dirs := map[string]bool{}, map[string]bool{}
	var keys []string
	for len(keys) < n {
		comps := make([]string, 1+r.IntN(4))
		for i := range comps {
			comps[i] = parts[r.IntN(len(parts))]
		}
		key := strings.Join(comps, "/")
		ok := !files[key] && !dirs[key]
		for i := 1; i < len(comps) && ok; i++ {
			ok = !files[strings.Join(comps[:i], "/")]
		}
		if !ok {
			continue
		}
		files[key] = true
		for i := 1; i < len(comps); i++ {
			dirs[strings.Join(comps[:i], "/")] = true
		}
		keys = append(keys, key)
	}
	return keys
}

// cut returns a random leading part of a random key, or a random key.
func cut(r *rand.Rand, keys []string) string {
	k := keys[r.IntN(len(keys))]
	if r.IntN(3) == 0 {
		return k
	}
	return k[:r.IntN(len(k)+1)]
}

func testListRandomTree(t *testing.T, s store.Store, opt Options) {
	r := rand.New(rand.NewPCG(1, 2))
	keys := opt.keys(randomKeys(r, 300))
	putAll(t, s, keys)
	if got, want := List(t, s, "", ""), sorted(keys); !slices.Equal(got, want) {
		t.Fatalf("List =\n%q\nwant\n%q", got, want)
	}
	for range 200 {
		prefix, after := cut(r, keys), cut(r, keys)
		if r.IntN(4) == 0 {
			prefix = ""
		}
		if got, want := List(t, s, prefix, after), filter(keys, prefix, after); !slices.Equal(got, want) {
			t.Errorf("List(prefix=%q, startAfter=%q) =\n%q\nwant\n%q", prefix, after, got, want)
		}
	}
}

func testListFnError(t *testing.T, s store.Store) {
	putAll(t, s, []string{"k1", "k2", "k3", "k4/x", "k5"})
	stop := errors.New("stop here")
	calls := 0
	err := s.List(context.Background(), "", "", func(e store.Entry) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("List = %v, want the error fn returned", err)
	}
	if calls != 2 {
		t.Fatalf("fn called %d times, want the listing to stop at the error (2)", calls)
	}
}

func testListCancelled(t *testing.T, s store.Store) {
	putAll(t, s, []string{"k1", "k2", "k3/x", "k4"})
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := s.List(ctx, "", "", func(store.Entry) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("List cancelled during the walk = %v (after %d entries), want context.Canceled", err, calls)
	}
	if err := s.List(ctx, "", "", func(store.Entry) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("List with a cancelled context = %v, want context.Canceled", err)
	}
}
