package master

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"ferry/tracker"
)

// keyLog appends the master's decisions on keys no worker sees to one of a
// job's key logs (tracker.DeletedLog, tracker.ExcludedLog), through a
// buffer: the scan flushes it before it commits what it counted, so that
// every key counted is in the log (a scan resumed after a crash may log a
// key twice; the report keeps one line a key). The file is created at the
// first line.
type keyLog struct {
	path string
	f    *os.File
	w    *bufio.Writer
	buf  []byte
}

// keyLog returns the key log name of job; fresh empties it first (a scan
// pass that starts from the first key).
func (m *Master) keyLog(job, name string, fresh bool) (*keyLog, error) {
	l := &keyLog{path: filepath.Join(m.cfg.Dir, "jobs", job, name)}
	if fresh {
		if err := os.Remove(l.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("empty %s: %w", l.path, err)
		}
	}
	return l, nil
}

// add appends e.
func (l *keyLog) add(e tracker.KeyEvent) error {
	if l.f == nil {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
			return fmt.Errorf("key log: %w", err)
		}
		f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("key log: %w", err)
		}
		l.f, l.w = f, bufio.NewWriterSize(f, 64<<10)
	}
	l.buf = e.AppendLine(l.buf[:0])
	if _, err := l.w.Write(l.buf); err != nil {
		return fmt.Errorf("write %s: %w", l.path, err)
	}
	return nil
}

// flush writes what is buffered.
func (l *keyLog) flush() error {
	if l.w == nil {
		return nil
	}
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", l.path, err)
	}
	return nil
}

// close flushes and closes the file.
func (l *keyLog) close() error {
	if l.f == nil {
		return nil
	}
	err := l.flush()
	if cerr := l.f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close %s: %w", l.path, cerr)
	}
	l.f, l.w = nil, nil
	return err
}
