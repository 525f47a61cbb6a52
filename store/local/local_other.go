//go:build !linux

package local

import (
	"context"
	"io"
	"io/fs"

	"ferry/store"
)

// Elsewhere than Linux the store has only its portable implementation,
// written with the os package: the *_portable.go files.

func (l *Local) init(fs.FileInfo) { l.portable = true }

func (l *Local) stat(key string) (store.Entry, error) { return l.statPortable(key) }

func (l *Local) openStat(key string) (store.Opened, store.Entry, error) {
	return l.openStatPortable(key)
}

func (l *Local) openRoot() (dir, error) { return l.openRootPortable() }

func (l *Local) put(ctx context.Context, key string, r io.Reader, e store.Entry, tag string, mode uint32) (store.Entry, error) {
	return l.putPortable(ctx, key, r, e, tag, mode)
}

func (l *Local) partDigests(ctx context.Context, key string, partSize int64) ([]store.PartDigest, int64, error) {
	return l.partDigestsPortable(ctx, key, partSize)
}

func (l *Local) sync() error { return l.syncPortable() }

func (l *Local) delete(key string) error { return l.deletePortable(key) }

// unlanded has nothing to do: only Linux keeps a task's directories open.
func (l *Local) unlanded(context.Context, string) {}

func (l *Local) cleanTemps(ctx context.Context, dirKey, tag string) error {
	return l.cleanTempsPortable(ctx, dirKey, tag)
}

// closeDescriptors has nothing to close: the portable store keeps no
// descriptors.
func (l *Local) closeDescriptors() error { return nil }
