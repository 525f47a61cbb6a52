package store

import (
	"context"
	"strings"
	"sync"
)

// Notes collect what stores say about the entry they serve under a
// context from WithNotes, for its audit line: such as the URL a redirect
// led to (store/http). A note is "name=value"; the same note twice is kept
// once. Stores add to it with Note.
type Notes struct {
	mu   sync.Mutex
	list []string
}

type notesKey struct{}

// WithNotes returns a context under which Note adds to the returned Notes.
func WithNotes(ctx context.Context) (context.Context, *Notes) {
	n := &Notes{}
	return context.WithValue(ctx, notesKey{}, n), n
}

// Note adds "name=value" to the Notes of ctx, if it has any.
func Note(ctx context.Context, name, value string) {
	n, ok := ctx.Value(notesKey{}).(*Notes)
	if !ok {
		return
	}
	s := name + "=" + value
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, o := range n.list {
		if o == s {
			return
		}
	}
	n.list = append(n.list, s)
}

// String returns the notes separated by "; ", in the order they came ("" for
// nil Notes).
func (n *Notes) String() string {
	if n == nil {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Join(n.list, "; ")
}

// Reset forgets the notes, for Notes reused from one entry to the next.
func (n *Notes) Reset() {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.list = n.list[:0]
	n.mu.Unlock()
}
