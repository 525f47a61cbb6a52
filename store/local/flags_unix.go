//go:build unix

package local

import (
	"os"
	"syscall"
)

// readFlags are the flags Local opens a file to read with: O_NONBLOCK, so
// that opening a fifo does not wait for a writer, and O_NOFOLLOW unless
// following symlinks.
func readFlags(follow bool) int {
	flags := os.O_RDONLY | syscall.O_NONBLOCK
	if !follow {
		flags |= syscall.O_NOFOLLOW
	}
	return flags
}

// refuseSymlink has nothing to do where open takes O_NOFOLLOW.
func refuseSymlink(string) error { return nil }
