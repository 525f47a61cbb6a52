// Package fsync makes files and directories durable one at a time, with the
// os package: what ferry does where syncfs(2), which flushes a whole file
// system at once, is missing. A new or renamed file is durable once the
// file and the directory holding its name are both synced.
package fsync

import "os"

// File flushes the file path to stable storage.
func File(path string) error {
	f, err := os.OpenFile(path, fileFlags, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
