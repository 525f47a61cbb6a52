package local

import (
	"io/fs"
	"os"
	"syscall"
)

// readFlags are the flags Local opens a file to read with. Windows has no
// O_NOFOLLOW (refuseSymlink looks instead), and no fifos to wait on.
func readFlags(bool) int { return os.O_RDONLY }

// refuseSymlink returns ELOOP, as open with O_NOFOLLOW does, when path is
// a symlink. Looking first leaves a race that O_NOFOLLOW closes; symlinks
// are rare on Windows.
func refuseSymlink(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode().Type() == fs.ModeSymlink {
		return syscall.ELOOP
	}
	return nil
}
