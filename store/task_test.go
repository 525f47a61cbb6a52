package store

import (
	"context"
	"errors"
	"testing"
)

// A task scope keeps one value per key until End, which calls each
// store's end once, with check, and returns the first error.
func TestTaskScope(t *testing.T) {
	if TaskOf(context.Background()) != nil {
		t.Fatal("a context without a task has one")
	}
	if v := TaskOf(context.Background()).Keep("k", nil); v != nil {
		t.Fatalf("Keep on no task = %v; want nil", v)
	}
	ctx, scope := WithTask(context.Background())
	if TaskOf(ctx) != scope {
		t.Fatal("TaskOf does not return the scope WithTask made")
	}
	var calls []string
	made := 0
	mk := func(name string, err error) func() (any, func(bool) error) {
		return func() (any, func(bool) error) {
			made++
			return name, func(check bool) error {
				if !check {
					t.Errorf("%s ended without check", name)
				}
				calls = append(calls, name)
				return err
			}
		}
	}
	first, second := errors.New("first"), errors.New("second")
	for range 3 {
		if v := scope.Keep("a", mk("a", first)); v != "a" {
			t.Fatalf("Keep(a) = %v", v)
		}
	}
	if v := scope.Keep("b", mk("b", second)); v != "b" {
		t.Fatalf("Keep(b) = %v", v)
	}
	if made != 2 {
		t.Errorf("made %d values for 2 keys", made)
	}
	if err := scope.End(true); err != first {
		t.Errorf("End = %v; want the first error", err)
	}
	if len(calls) != 2 || calls[0] != "a" || calls[1] != "b" {
		t.Errorf("ends called: %v; want a then b, once each", calls)
	}
	if err := scope.End(false); err != nil || len(calls) != 2 {
		t.Errorf("a second End: %v, ends called %v; want nothing done", err, calls)
	}
	if v := scope.Keep("c", mk("c", nil)); v != nil || made != 2 {
		t.Errorf("Keep after End = %v; want nil, nothing made", v)
	}
}
