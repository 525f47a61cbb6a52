package sortedfile

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSortMergeScan(t *testing.T) {
	dir := t.TempDir()
	b := NewBuilder(dir, 500) // a run every few records: many runs to merge
	var keys []string
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		k := fmt.Sprintf("k%05d\x00%c", r.IntN(2000), 'a'+rune(r.IntN(3)))
		if err := b.Add(k, []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	first := map[string]string{}
	for i, k := range keys {
		if _, ok := first[k]; !ok {
			first[k] = fmt.Sprint(i)
		}
	}
	if runs, _ := filepath.Glob(filepath.Join(dir, "run*")); len(runs) < 10 {
		t.Fatalf("%d runs written, want many", len(runs))
	}
	dups := 0
	f, err := b.Finish(filepath.Join(dir, "sorted"), 7, func(a, later Record) error {
		if a.Key != later.Key || string(a.Val) != first[a.Key] {
			return fmt.Errorf("dup(%q=%s, %q=%s): the first added should be kept", a.Key, a.Val, later.Key, later.Val)
		}
		dups++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if runs, _ := filepath.Glob(filepath.Join(dir, "run*")); len(runs) != 0 {
		t.Errorf("runs left after the merge: %v", runs)
	}
	want := make([]string, 0, len(first))
	for k := range first {
		want = append(want, k)
	}
	slices.Sort(want)
	if dups != len(keys)-len(want) {
		t.Errorf("dup called %d times, want %d", dups, len(keys)-len(want))
	}
	// From every key, from keys between them, and from before the first.
	for _, from := range []string{"", want[0], want[17], want[17] + "\x00", want[len(want)-1], "z"} {
		var got []string
		err := f.Scan(from, func(r Record) (bool, error) {
			if string(r.Val) != first[r.Key] {
				return false, fmt.Errorf("%q has value %s, want %s", r.Key, r.Val, first[r.Key])
			}
			got = append(got, r.Key)
			return true, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		i, _ := slices.BinarySearch(want, from)
		if !slices.Equal(got, want[i:]) {
			t.Errorf("Scan(%q): %d keys, want %d from %q", from, len(got), len(want)-i, want[min(i, len(want)-1)])
		}
	}
	if v, ok, err := f.Lookup(want[100]); err != nil || !ok || string(v) != first[want[100]] {
		t.Errorf("Lookup(%q) = %s %v %v", want[100], v, ok, err)
	}
	if _, ok, err := f.Lookup(want[100] + "x"); err != nil || ok {
		t.Errorf("Lookup of a missing key: %v %v", ok, err)
	}
}

func TestDupRefused(t *testing.T) {
	dir := t.TempDir()
	b := NewBuilder(dir, 1<<20)
	b.Add("a", []byte("1"))
	b.Add("a", []byte("2"))
	stop := errors.New("listed twice")
	if _, err := b.Finish(filepath.Join(dir, "sorted"), 4, func(Record, Record) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("Finish: %v, want the dup error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sorted")); !os.IsNotExist(err) {
		t.Errorf("a refused merge left its output: %v", err)
	}
}

func TestCorruptRun(t *testing.T) {
	dir := t.TempDir()
	b := NewBuilder(dir, 1<<20)
	b.Add("a", []byte("1"))
	if err := b.flush(); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(b.runs[0], []byte{0x01, 'a', 0x05, 'x'}, 0o644) // value cut short
	if _, err := b.Finish(filepath.Join(dir, "sorted"), 4, nil); err == nil {
		t.Fatal("a truncated run merged without error")
	}
}
