package local

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"ferry/internal/fsync"
)

// Durability without syncfs(2): Put fsyncs each file before it renames it
// into place and notes the directories it added names to (the file's, and
// those it made); Sync fsyncs each of them. So every Put that returned
// before Sync is durable when Sync returns, as on Linux.

// noteDirs remembers that Put added a name to dir, and, when it made dir,
// to each directory above it up to the root.
func (l *Local) noteDirs(dir string, made bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dirs[dir] = true
	for made && len(dir) > len(l.root) {
		dir = filepath.Dir(dir)
		l.dirs[dir] = true
	}
}

// syncPortable fsyncs the directories Put added names to since the last
// Sync. Those it could not sync are kept for the next Sync.
func (l *Local) syncPortable() error {
	l.mu.Lock()
	dirs := l.dirs
	l.dirs = make(map[string]bool)
	l.mu.Unlock()
	for d := range dirs {
		err := fsync.Dir(d)
		if err != nil && !errors.Is(err, fs.ErrNotExist) { // a removed directory holds nothing to keep
			l.mu.Lock()
			for d := range dirs {
				l.dirs[d] = true
			}
			l.mu.Unlock()
			return fmt.Errorf("sync %s: %w", l.root, err)
		}
		delete(dirs, d)
	}
	return nil
}
