package verify

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"ferry/store/local"
	"ferry/task"
)

func write(t *testing.T, dir, key, body string, mtime time.Time) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func TestCompare(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	src, dst := t.TempDir(), t.TempDir()
	same := map[string]string{"a": "alpha", "b/c": "gamma", "b/d e": "delta", "z\xff": "bytes"}
	for k, v := range same {
		write(t, src, k, v, t0)
		write(t, dst, k, v, t0)
	}
	write(t, src, "missing", "m", t0)
	write(t, src, "size", "12345", t0)
	write(t, dst, "size", "1234", t0)
	write(t, src, "content", "abcd", t0)
	write(t, dst, "content", "abce", t0) // same size and mtime: only detailed sees it
	write(t, src, "mtime", "same", t0)
	write(t, dst, "mtime", "same", t0.Add(time.Hour)) // only general sees it
	write(t, dst, "b/extra", "x", t0)

	s, err := local.New(src, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := local.New(dst, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode Mode
		want map[string]task.Kind
	}{
		{Simple, map[string]task.Kind{"missing": task.Missing, "size": task.Different, "b/extra": task.Extra}},
		{General, map[string]task.Kind{"missing": task.Missing, "size": task.Different, "mtime": task.Different, "b/extra": task.Extra}},
		{Detailed, map[string]task.Kind{"missing": task.Missing, "size": task.Different, "content": task.Different, "b/extra": task.Extra}},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			got := map[string]task.Kind{}
			c, err := Compare(context.Background(), s, d, Options{Mode: tc.mode, Threads: 3}, func(df Diff) {
				if _, dup := got[df.Key]; dup {
					t.Errorf("%s reported twice", df.Key)
				}
				got[df.Key] = df.Kind
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Errorf("diffs %v, want %v", keys(got), keys(tc.want))
			}
			for k, want := range tc.want {
				if got[k] != want {
					t.Errorf("%q: %q, want %q", k, got[k], want)
				}
			}
			if c.Source != 8 || c.Dest != 8 {
				t.Errorf("listed %d source, %d destination files, want 8 and 8", c.Source, c.Dest)
			}
			if c.Match+c.Missing+c.Different != c.Source || c.OK() {
				t.Errorf("counts do not add up: %+v", c)
			}
			if tc.mode == Detailed && c.Bytes == 0 {
				t.Error("detailed mode read nothing")
			}
		})
	}
}

func TestCompareIdentical(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	t0 := time.Unix(1_600_000_000, 0)
	for i := 0; i < 300; i++ {
		k := filepath.Join("d"+string(rune('a'+i%7)), string(rune('a'+i%26))+string(rune('0'+i%10))+"x"+string(rune('a'+i/26)))
		write(t, src, k, k, t0)
		write(t, dst, k, k, t0)
	}
	s, _ := local.New(src, local.Options{})
	d, _ := local.New(dst, local.Options{})
	c, err := Compare(context.Background(), s, d, Options{Mode: Detailed}, func(df Diff) { t.Errorf("unexpected %v", df) })
	if err != nil || !c.OK() || c.Match != c.Source || c.Source == 0 {
		t.Fatalf("counts %+v, err %v", c, err)
	}
}

func keys(m map[string]task.Kind) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
