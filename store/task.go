package store

import (
	"context"
	"sync"
)

// A task's scope: what a store keeps from one Put of a task to the next.
// The worker runs each task's copies under a context from WithTask and ends
// the scope when they are done: End(true) before it syncs and reports, or
// End(false) when it abandons the task. A store that keeps something for
// the task (a local store: the directories its Puts wrote in, open, instead
// of opening each file's directory again) registers, with Keep, how to end
// it: with check, the store confirms that what the task's Puts wrote is
// still where their keys say, and an error fails the whole task as a failed
// Sync does; either way it releases what it kept.

// Task is one task's scope (see WithTask).
type Task struct {
	mu    sync.Mutex
	kept  map[any]any
	ends  []func(check bool) error
	ended bool
}

type taskKey struct{}

// WithTask returns a context carrying a new task scope, and the scope.
func WithTask(ctx context.Context) (context.Context, *Task) {
	t := &Task{}
	return context.WithValue(ctx, taskKey{}, t), t
}

// TaskOf returns the task scope ctx carries, or nil.
func TaskOf(ctx context.Context) *Task {
	t, _ := ctx.Value(taskKey{}).(*Task)
	return t
}

// Keep returns what is kept in t under key (a store's own key), made by mk
// the first time: mk returns the value and what End calls for it. After
// End, and for a nil t, Keep returns nil: the caller then keeps nothing.
func (t *Task) Keep(key any, mk func() (any, func(check bool) error)) any {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return nil
	}
	if v, ok := t.kept[key]; ok {
		return v
	}
	v, end := mk()
	if t.kept == nil {
		t.kept = make(map[any]any)
	}
	t.kept[key] = v
	if end != nil {
		t.ends = append(t.ends, end)
	}
	return v
}

// End ends the scope: it calls what each store registered, with check,
// and returns the first error. Only the first call does anything; later
// ones return nil.
func (t *Task) End(check bool) error {
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return nil
	}
	t.ended = true
	ends := t.ends
	t.ends, t.kept = nil, nil
	t.mu.Unlock()
	var first error
	for _, end := range ends {
		if err := end(check); err != nil && first == nil {
			first = err
		}
	}
	return first
}
