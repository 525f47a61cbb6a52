package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"

	"ferry/store"
)

// deletePortable is Delete of a checked key with the os package alone,
// once each directory of the key is checked not to be a link
// (walkPortable).
func (l *Local) deletePortable(key string) error {
	dirKey, _ := splitKey(key)
	if _, err := l.walkPortable("delete", key, dirKey, false); err != nil {
		return err
	}
	p := l.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		return opError("delete", key, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("delete %q: %w: %s is a directory", key, store.ErrNotExist, p)
	}
	if err := os.Remove(p); err != nil {
		return opError("delete", key, err)
	}
	for d := dirKey; d != ""; d, _ = splitKey(d) {
		if syscall.Rmdir(l.path(d)) != nil { // not empty (ENOTEMPTY), or in use: stop
			break
		}
	}
	return nil
}

// cleanTempsPortable is CleanTemps with the os package alone, once each
// directory of dirKey is checked not to be a link (walkPortable).
func (l *Local) cleanTempsPortable(ctx context.Context, dirKey, tag string) error {
	_, err := l.walkPortable("clean temporary files in", dirKey, dirKey, false)
	switch {
	case errors.Is(err, store.ErrNotExist), errors.Is(err, errLinkInDest), errors.Is(err, errNotDir):
		return nil
	case err != nil:
		return err
	}
	dir := l.root
	if dirKey != "" {
		dir = l.path(dirKey)
	}
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clean temporary files in %q: %w", dirKey, wrapSentinel(err))
	}
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return err
		}
		if t, ok := parseTempName(de.Name()); !ok || t != tag || !de.Type().IsRegular() {
			continue
		}
		if err := os.Remove(dir + "/" + de.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clean temporary files in %q: %w", dirKey, err)
		}
	}
	return nil
}
