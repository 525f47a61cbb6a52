package filter

import (
	"testing"
	"time"

	"ferry/store"
)

func mustList(t *testing.T, v string) []*Pattern {
	t.Helper()
	ps, err := CompileList(v)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestSetAllow(t *testing.T) {
	t0 := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	e := func(key string, size int64, mt time.Time) store.Entry {
		return store.Entry{Key: key, Size: size, MTime: mt}
	}
	tests := []struct {
		name   string
		set    *Set
		e      store.Entry
		ok     bool
		reason string
	}{
		{"nil", nil, e("a", 1, t0), true, ""},
		{"zero", &Set{}, e("a", 0, time.Time{}), true, ""},
		{"exclude", &Set{Exclude: mustList(t, "*.tmp,**/.git/**")}, e("x.tmp", 1, t0), false, `exclude pattern "*.tmp" matches`},
		{"exclude deep", &Set{Exclude: mustList(t, "*.tmp,**/.git/**")}, e("a/.git/config", 1, t0), false, `exclude pattern "**/.git/**" matches`},
		{"exclude miss", &Set{Exclude: mustList(t, "*.tmp")}, e("d/x.tmp", 1, t0), true, ""},
		{"include hit", &Set{Include: mustList(t, "docs/**,*.md")}, e("docs/a/b", 1, t0), true, ""},
		{"include second", &Set{Include: mustList(t, "docs/**,*.md")}, e("r.md", 1, t0), true, ""},
		{"include miss", &Set{Include: mustList(t, "docs/**,*.md")}, e("src/r.go", 1, t0), false, "no include pattern matches"},
		{"exclude beats include", &Set{Include: mustList(t, "docs/**"), Exclude: mustList(t, "**/*.bak")},
			e("docs/a.bak", 1, t0), false, `exclude pattern "**/*.bak" matches`},
		{"min inclusive", &Set{MinSize: 10}, e("a", 10, t0), true, ""},
		{"min", &Set{MinSize: 10}, e("a", 9, t0), false, "size 9 is below minSize 10"},
		{"max inclusive", &Set{MaxSize: 10}, e("a", 10, t0), true, ""},
		{"max", &Set{MaxSize: 10}, e("a", 11, t0), false, "size 11 is above maxSize 10"},
		{"max zero is no bound", &Set{MaxSize: 0}, e("a", 1<<50, t0), true, ""},
		{"empty file under min", &Set{MinSize: 1}, e("a", 0, t0), false, "size 0 is below minSize 1"},
		{"after inclusive", &Set{ModifiedAfter: t0}, e("a", 1, t0), true, ""},
		{"after", &Set{ModifiedAfter: t0}, e("a", 1, t0.Add(-time.Nanosecond)), false,
			"modified 2024-01-02T03:04:04Z, before modifiedAfter 2024-01-02T03:04:05Z"},
		{"after unknown mtime", &Set{ModifiedAfter: t0}, e("a", 1, time.Time{}), false,
			"modified unknown, before modifiedAfter 2024-01-02T03:04:05Z"},
		{"before exclusive", &Set{ModifiedBefore: t0}, e("a", 1, t0), false,
			"modified 2024-01-02T03:04:05Z, not before modifiedBefore 2024-01-02T03:04:05Z"},
		{"before", &Set{ModifiedBefore: t0}, e("a", 1, t0.Add(-time.Second)), true, ""},
		{"before unknown mtime", &Set{ModifiedBefore: t0}, e("a", 1, time.Time{}), true, ""},
		{"window", &Set{ModifiedAfter: t0, ModifiedBefore: t0.Add(time.Hour)}, e("a", 1, t0.Add(time.Minute)), true, ""},
		{"patterns before size", &Set{Include: mustList(t, "x"), MinSize: 5}, e("y", 1, t0), false, "no include pattern matches"},
	}
	for _, tc := range tests {
		ok, reason := tc.set.Allow(tc.e)
		if ok != tc.ok || reason != tc.reason {
			t.Errorf("%s: Allow = %v, %q; want %v, %q", tc.name, ok, reason, tc.ok, tc.reason)
		}
	}
}

func TestSetEmpty(t *testing.T) {
	var nilSet *Set
	if !nilSet.Empty() || !(&Set{}).Empty() {
		t.Error("nil or zero Set not empty")
	}
	for _, s := range []*Set{
		{Include: mustList(t, "a")}, {Exclude: mustList(t, "a")}, {MinSize: 1}, {MaxSize: 1},
		{ModifiedAfter: time.Unix(1, 0)}, {ModifiedBefore: time.Unix(1, 0)},
	} {
		if s.Empty() {
			t.Errorf("%+v is empty", s)
		}
	}
	if ok, _ := nilSet.AllowKey("x"); !ok {
		t.Error("nil AllowKey")
	}
}
