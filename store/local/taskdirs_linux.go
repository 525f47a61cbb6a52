package local

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"ferry/store"
)

// A task's directories, kept open from Put to Put on Linux. Opening each
// file's directory (openat2 and close) was 6-8% of the CPU of copying small
// files. Under a task scope (store.WithTask), Put opens a directory the
// first time the task writes in it and keeps the descriptor until the task
// ends. A descriptor kept open no longer follows the path, though: a
// directory renamed away during the task would receive the task's later
// files, away from their keys. So when the task ends with a check
// (store.Task.End(true), before the worker syncs and reports), each kept
// directory that holds files the task put (and did not Delete since) must
// still be the one its path leads to, or the task fails and its files are
// copied again by the next attempt. This also catches what opening each
// file's directory did not: a directory moved away with files already
// copied into it.

// maxTaskDirs is how many directories one task keeps open; past them Put
// opens and closes each file's directory as it does outside a task.
const maxTaskDirs = 256

// taskDirs are the directories one task's Puts keep open.
type taskDirs struct {
	l        *Local
	mu       sync.Mutex
	open     map[string]*keptDir // directory key -> the directory kept for it now
	kept     []*keptDir          // every directory kept, in the order opened
	inflight int                 // Puts using a kept descriptor now
	ended    bool
}

// keptDir is a directory a task keeps open.
type keptDir struct {
	key    string              // the directory's key
	fd     int                 // its descriptor (O_PATH)
	landed map[string]struct{} // names the task's Puts published there, less those it deleted
}

// taskDirsOf returns the directories kept for the task ctx runs under, or
// nil outside a task or after it ended.
func (l *Local) taskDirsOf(ctx context.Context) *taskDirs {
	v := store.TaskOf(ctx).Keep(l, func() (any, func(bool) error) {
		td := &taskDirs{l: l, open: make(map[string]*keptDir)}
		return td, td.end
	})
	td, _ := v.(*taskDirs)
	return td
}

// openPutDest opens key's directory for Put as openDest does, through the
// task's kept directories when ctx runs under a task.
func (l *Local) openPutDest(ctx context.Context, key string) (*dest, error) {
	cut := strings.LastIndexByte(key, '/')
	var td *taskDirs
	if cut > 0 {
		td = l.taskDirsOf(ctx)
	}
	if td == nil {
		d, _, err := l.openDest("put", key, true)
		return d, err
	}
	dirKey := key[:cut]
	td.mu.Lock()
	if td.ended {
		td.mu.Unlock()
		d, _, err := l.openDest("put", key, true)
		return d, err
	}
	td.inflight++
	k := td.open[dirKey]
	td.mu.Unlock()
	d := l.newDest(key, td)
	if k != nil {
		d.dfd, d.kd = k.fd, k
		return d, nil
	}
	if _, err := d.open("put", true); err != nil {
		return d, err
	}
	td.mu.Lock()
	if td.open[dirKey] == nil && len(td.kept) < maxTaskDirs {
		k := &keptDir{key: strings.Clone(dirKey), fd: d.dfd, landed: make(map[string]struct{})}
		td.open[k.key] = k
		td.kept = append(td.kept, k)
		d.own, d.kd = false, k
	}
	td.mu.Unlock()
	return d, nil
}

// kept says whether d's directory is one its task keeps open.
func (d *dest) kept() bool { return d.kd != nil }

// forget is called when d's kept directory was found removed: the task
// keeps it no longer (it is closed when the task ends), and d opens it
// again by its path.
func (td *taskDirs) forget(d *dest) {
	td.mu.Lock()
	defer td.mu.Unlock()
	if td.open[d.kd.key] == d.kd {
		delete(td.open, d.kd.key)
	}
}

// landed notes that d's key was published in d's kept directory.
func (td *taskDirs) landed(d *dest) {
	td.mu.Lock()
	d.kd.landed[d.key[d.cut+1:]] = struct{}{}
	td.mu.Unlock()
}

// unlanded is called after a Delete of key under ctx: a file the task put
// and deleted again is no reason to check its directory.
func (l *Local) unlanded(ctx context.Context, key string) {
	cut := strings.LastIndexByte(key, '/')
	if cut <= 0 || store.TaskOf(ctx) == nil {
		return
	}
	if td := l.taskDirsOf(ctx); td != nil {
		td.mu.Lock()
		for _, k := range td.kept {
			if k.key == key[:cut] {
				delete(k.landed, key[cut+1:])
			}
		}
		td.mu.Unlock()
	}
}

// release is called by a Put done with a kept descriptor.
func (td *taskDirs) release() {
	td.mu.Lock()
	defer td.mu.Unlock()
	td.inflight--
	if td.ended && td.inflight == 0 {
		td.closeAll()
	}
}

// end ends the task (store.Task.End): with check, it confirms each kept
// directory is still the one its path leads to, then closes them once no
// Put uses them.
func (td *taskDirs) end(check bool) error {
	td.mu.Lock()
	defer td.mu.Unlock()
	td.ended = true
	var err error
	if check {
		err = td.check()
	}
	if td.inflight == 0 {
		td.closeAll()
	}
	return err
}

// check returns an error naming the first kept directory holding the
// task's files whose path no longer leads to it: renamed, moved, removed
// or replaced since the task opened it. td.mu is held.
func (td *taskDirs) check() error {
	for _, k := range td.kept {
		if len(k.landed) == 0 {
			continue
		}
		path := td.l.path(k.key)
		var byFD, byPath unix.Stat_t
		if err := ignoringEINTR(func() error { return unix.Fstat(k.fd, &byFD) }); err != nil {
			return fmt.Errorf("checking %s after the task's copies: %w", path, err)
		}
		err := ignoringEINTR(func() error { return unix.Lstat(path, &byPath) })
		if err == nil && (byFD.Dev != byPath.Dev || byFD.Ino != byPath.Ino) {
			err = fmt.Errorf("a different directory is there now")
		}
		if err != nil {
			return fmt.Errorf("%s was renamed, moved or removed while this task put files in it, so they may not be at their keys (%v)", path, err)
		}
	}
	return nil
}

// closeAll closes the kept descriptors. td.mu is held.
func (td *taskDirs) closeAll() {
	for _, k := range td.kept {
		unix.Close(k.fd)
	}
	td.kept, td.open = nil, nil
}
