package tracker

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// The file operations of an attempt directory with the os package alone:
// what a tracker in portable mode uses, as on every system but Linux
// (files_linux.go has the fast path).

// writeFilePortable creates or truncates path and writes data into it.
func writeFilePortable(path string, data []byte) error {
	return os.WriteFile(path, data, 0o644)
}

// appendFilePortable appends data to path, creating it if needed, all or
// nothing, and returns its size before the append.
func appendFilePortable(path string, data []byte) (int64, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err == nil {
		if _, err = f.Write(data); err != nil {
			f.Truncate(end)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return end, err
}

// cutFile truncates path to size: it undoes an append.
func cutFile(path string, size int64) error {
	return os.Truncate(path, size)
}

// readFilePortable returns path's content; a missing file reads as nil.
func readFilePortable(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// mkdirPortable makes dir, and its parents when they are missing.
func mkdirPortable(dir string) error {
	return os.MkdirAll(dir, 0o755)
}
