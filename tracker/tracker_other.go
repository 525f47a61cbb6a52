//go:build !linux

package tracker

// Without syncfs(2) and Linux's system calls, a tracker writes and syncs
// attempt directories with the os package alone: files_portable.go and
// sync_portable.go.

func (t *Tracker) startSync(string) { t.portable = true }

func (t *Tracker) writeFile(path string, data []byte) error { return writeFilePortable(path, data) }
func (t *Tracker) appendFile(path string, data []byte) (int64, error) {
	return appendFilePortable(path, data)
}
func (t *Tracker) readFile(path string) ([]byte, error) { return readFilePortable(path) }
func (t *Tracker) mkdir(dir string) error               { return mkdirPortable(dir) }

func (t *Tracker) syncSealed(done []sealed) error { return t.syncPortable(done) }

// Close releases nothing: a portable Sync keeps no descriptors open.
func (t *Tracker) Close() error { return nil }
