package local

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// What Put learns about a directory from the first file it makes there:
// the permission bits a file created with a given mode gets (the mode less
// the umask, or what the directory's default ACL allows) and the device.
// A later unnamed file in that directory, created with the same mode and
// dated by Put, then needs no fstat before it is linked: one system call
// of the thirteen a small file costs. What it no longer checks is the
// size the file system reports; the file has no name until linked, so
// nothing else writes to it, and each chunk was read back where written.
//
// Sync forgets everything learned, after checking that each directory is
// still on the device it was (a file system mounted over a destination
// directory meanwhile is then synced too), so that what Put assumes is
// never older than the task that made the files.

// dirFact is what Put learned about one directory.
type dirFact struct {
	req, got uint32 // a file created with permission bits req has got
	dev      uint64
}

// dirFacts holds what Put learned, by directory path: a map that is never
// changed once published, so that the copying threads read it without a
// lock (with a read-write mutex, their contention cost more than the fstat
// saved). Learning, once per directory and task, copies it; past
// maxDirFacts directories it starts a new map instead (keys come in order,
// so the directories being written are the ones learned last).
type dirFacts struct {
	m       atomic.Pointer[map[string]dirFact]
	mu      sync.Mutex           // serialises learn and forget
	retired []map[string]dirFact // maps replaced since forget, for its caller to check
}

// maxDirFacts bounds the directories in the map, and so what a learn copies.
const maxDirFacts = 16

// get returns what is known of the directory dir.
func (f *dirFacts) get(dir []byte) (dirFact, bool) {
	m := f.m.Load()
	if m == nil {
		return dirFact{}, false
	}
	d, ok := (*m)[string(dir)]
	return d, ok
}

// learn remembers d for the directory dir, unless enough are remembered.
func (f *dirFacts) learn(dir []byte, d dirFact) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var m map[string]dirFact
	switch old := f.m.Load(); {
	case old == nil:
		m = make(map[string]dirFact)
	case len(*old) >= maxDirFacts:
		f.retired = append(f.retired, *old)
		m = make(map[string]dirFact)
	default:
		if o, ok := (*old)[string(dir)]; ok && o == d {
			return
		}
		m = make(map[string]dirFact, len(*old)+1)
		for k, v := range *old {
			m[k] = v
		}
	}
	m[string(dir)] = d
	f.m.Store(&m)
}

// forget returns everything learned since the last forget and starts
// afresh.
func (f *dirFacts) forget() []map[string]dirFact {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := f.retired
	f.retired = nil
	if m := f.m.Swap(nil); m != nil {
		all = append(all, *m)
	}
	return all
}

// recheckDevices forgets what Put learned, noting the device of each
// directory that is no longer on the one Put assumed, for Sync.
func (l *Local) recheckDevices() {
	for _, m := range l.facts.forget() {
		for dir, d := range m {
			var st unix.Stat_t
			if err := ignoringEINTR(func() error { return unix.Stat(dir, &st) }); err == nil && uint64(st.Dev) != d.dev {
				l.noteDevice(uint64(st.Dev), dir)
			}
		}
	}
}
