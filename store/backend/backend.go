// Package backend opens the store a job names (srcType/destType plus
// prefix), so the master and workers need not know every backend.
package backend

import (
	"fmt"

	"ferry/store"
	"ferry/store/local"
)

// Options carry what opening a store may need beyond type and prefix.
type Options struct {
	FollowSymlinks bool
}

// Source opens a job's source for listing and reading.
func Source(typ, prefix string, opt Options) (store.Store, error) {
	switch typ {
	case "local":
		return local.New(prefix, local.Options{FollowSymlinks: opt.FollowSymlinks})
	}
	return nil, fmt.Errorf("source type %q is not supported yet", typ)
}

// Dest opens a job's destination for writing, creating a local root.
func Dest(typ, prefix string, opt Options) (store.Store, error) {
	switch typ {
	case "local":
		return local.New(prefix, local.Options{Create: true})
	}
	return nil, fmt.Errorf("destination type %q is not supported yet", typ)
}
