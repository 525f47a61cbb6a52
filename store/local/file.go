package local

import (
	"context"
	"fmt"

	"ferry/store"
)

var (
	_ store.StatOpener   = (*Local)(nil)
	_ store.PartDigester = (*Local)(nil)
)

// OpenStat opens key whole and returns it with its entry, taken from the open
// descriptor (fstat), so a copy of a small file costs one name lookup. It
// refuses what Open refuses: a directory (an error wrapping
// store.ErrNotExist), a fifo, socket or device, and a symlink unless
// FollowSymlinks is set.
//
// On Linux the file is a bare descriptor (file_linux.go). Reads stop at the
// size the entry reports.
func (l *Local) OpenStat(ctx context.Context, key string) (store.Opened, store.Entry, error) {
	if err := store.CheckKey(key); err != nil {
		return nil, store.Entry{}, fmt.Errorf("open: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, store.Entry{}, err
	}
	return l.openStat(key)
}
