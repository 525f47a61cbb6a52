package store

import "context"

// A listing whose caller keeps of each entry only what a task's manifest
// holds (Key, Size, MTime, ETag, Kind, Detail), as a first scan does, says
// so with Shallow: a store may then leave out of its entries what costs
// requests of their own to read (a znode's ACL: one request per znode
// beside its data's), and the copy reads it when it opens the entry. The
// entries keep their Kind: what cannot be read is still Unreadable.
type shallowKey struct{}

// Shallow returns a context under which List may leave each entry's CRC64
// and Meta out.
func Shallow(ctx context.Context) context.Context { return context.WithValue(ctx, shallowKey{}, true) }

// IsShallow reports whether ctx is from Shallow.
func IsShallow(ctx context.Context) bool { v, _ := ctx.Value(shallowKey{}).(bool); return v }
