//go:build !windows

package fsync

import "os"

const fileFlags = os.O_RDONLY

// Dir flushes the directory path, and so the names it holds, to stable
// storage.
func Dir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
