package tracker

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"ferry/internal/fsync"
)

// syncPortable makes the sealed directories durable without syncfs(2): an
// fsync of every file in each, of the directory itself, and of the
// directories above it up to the tracker's, which hold the names that
// Seal's rename and the directories' making added. A directory removed
// since (its job was cleaned) has nothing left to keep.
func (t *Tracker) syncPortable(done []sealed) error {
	dirs := make(map[string]bool)
	for _, s := range done {
		des, err := os.ReadDir(s.dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		for _, de := range des {
			if de.Type().IsRegular() {
				if err := t.fsync(filepath.Join(s.dir, de.Name()), false); err != nil {
					return err
				}
			}
		}
		for d := s.dir; len(d) >= len(t.dir) && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	for d := range dirs {
		if err := t.fsync(d, true); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// fsyncPath fsyncs the file or directory path.
func fsyncPath(path string, dir bool) error {
	if dir {
		return fsync.Dir(path)
	}
	return fsync.File(path)
}
