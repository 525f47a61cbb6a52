package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"ferry/store"
)

// List calls fn for each entry whose key starts with prefix (a byte prefix,
// not necessarily a directory: "a/b" matches "a/bc") and sorts after
// startAfter, in byte order of keys. See the package comment for what is
// listed.
//
// The walk holds one sorted listing per directory on the current path, never
// the whole tree. Byte order is kept across directories by sorting a
// directory's names with each subdirectory's name followed by '/', so that
// the file "a-b" comes before the keys "a/..." of a directory "a". It only
// opens directories that can hold keys under prefix and after startAfter, so
// resuming a listing costs one directory read per level.
//
// An error from fn, or the context's error, stops the walk and is returned
// as it is. A prefix that no valid key can start with (one with an empty,
// "." or ".." component before its last '/') is an error wrapping
// store.ErrInvalidKey.
func (l *Local) List(ctx context.Context, prefix, startAfter string, fn func(store.Entry) error) error {
	dirPart := prefix[:strings.LastIndexByte(prefix, '/')+1]
	if strings.IndexByte(prefix, 0) >= 0 || (dirPart != "" && store.CheckKey(dirPart+"x") != nil) {
		return fmt.Errorf("list: %w: prefix %q cannot start a key", store.ErrInvalidKey, prefix)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &walker{l: l, ctx: ctx, prefix: prefix, after: startAfter, fn: fn}
	if l.opt.ScanThreads > 1 && l.opt.ScanDepth > 0 {
		// Subtrees listed ahead (parallel.go) stop when List returns, and
		// List returns only after they have.
		var cancel context.CancelFunc
		w.ctx, cancel = context.WithCancel(ctx)
		w.par = &parallel{slots: make(chan struct{}, l.opt.ScanThreads-1), depth: l.opt.ScanDepth}
		defer w.par.wg.Wait()
		defer cancel()
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(l.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return fmt.Errorf("list %s: %w", l.root, wrapSentinel(err))
	}
	// Go straight to the deepest directory the prefix names, as a full walk
	// would reach it: not through a symlink unless following them, and not
	// through a loop.
	dp := ""
	for name := range strings.SplitSeq(strings.TrimSuffix(dirPart, "/"), "/") {
		if name == "" {
			break
		}
		loop, err := w.push(fd)
		if err != nil || loop {
			unix.Close(fd)
			return err
		}
		dp += name + "/"
		child, err := w.enter(fd, name, l.opt.FollowSymlinks)
		unix.Close(fd)
		if err != nil {
			return w.unreadable(dp, err)
		}
		if child < 0 {
			return nil // nothing there: no key can have this prefix
		}
		fd = child
	}
	return w.walk(fd, dp)
}

// walker is the state of one List call.
type walker struct {
	l             *Local
	ctx           context.Context
	prefix, after string
	fn            func(store.Entry) error
	anc           []devIno  // directories on the current path (when following symlinks)
	par           *parallel // subtrees listed ahead; nil on one thread
	dents         []byte    // readDir's buffer, reused from directory to directory
	cname         []byte    // lstatAt's buffer
}

// devIno identifies a directory, to detect symlinks that loop back.
type devIno struct{ dev, ino uint64 }

// item is one name of a directory listing, kept until it is listed.
type item struct {
	key      string       // dp + name
	name     string       // the end of key
	sortName string       // name, or name+"/" for a directory walked into
	dir      bool         // walk into it
	followed bool         // a symlink to a directory
	st       *unix.Stat_t // a symlink's target, when it is not a directory
	detail   string       // why a followed symlink is Special
	ahead    *subtree     // the directory's listing, made ahead (parallel.go)
}

// walk lists the directory open as fd, whose keys start with dp, and closes fd.
func (w *walker) walk(fd int, dp string) error {
	defer unix.Close(fd)
	afterRest, restrict := "", false
	switch {
	case strings.HasPrefix(w.after, dp):
		afterRest, restrict = w.after[len(dp):], true
	case dp < w.after:
		return nil // every key below dp sorts before startAfter
	}
	loop, err := w.push(fd)
	if err != nil || loop {
		return err
	}
	if w.l.opt.FollowSymlinks {
		defer func() { w.anc = w.anc[:len(w.anc)-1] }()
	}
	rest := ""
	if len(w.prefix) > len(dp) {
		rest = w.prefix[len(dp):]
	}
	if w.dents == nil {
		w.dents = make([]byte, direntBufSize)
	}
	var items []item
	err = readDir(fd, w.dents, func(nb []byte, typ uint8) {
		key := dp + string(nb)
		it := item{key: key, name: key[len(dp):]}
		it.sortName = it.name
		if typ == unix.DT_UNKNOWN { // the file system does not say: look
			var st unix.Stat_t
			switch err := lstatAt(fd, it.name, &st, &w.cname); {
			case errors.Is(err, unix.ENOENT):
				return // gone since read
			case err != nil:
				// entry stats it again and says what is wrong
			case st.Mode&unix.S_IFMT == unix.S_IFDIR:
				typ = unix.DT_DIR
			case st.Mode&unix.S_IFMT == unix.S_IFLNK:
				typ = unix.DT_LNK
			default:
				it.st = &st
			}
		}
		switch {
		case typ == unix.DT_DIR:
			it.dir = true
		case isTempName(it.name):
			return // a crashed Put's leftover: never copied
		case typ == unix.DT_LNK && w.l.opt.FollowSymlinks:
			if !wanted(it.name+"/", true, rest, afterRest, restrict) && !wanted(it.name, false, rest, afterRest, restrict) {
				return
			}
			w.follow(fd, &it)
		}
		if it.dir {
			it.sortName = it.name + "/"
		}
		if wanted(it.sortName, it.dir, rest, afterRest, restrict) {
			items = append(items, it)
		}
	})
	if err != nil {
		return w.unreadable(dp, &fs.PathError{Op: "readdirent", Path: filepath.Join(w.l.root, dp), Err: err})
	}
	slices.SortFunc(items, func(a, b item) int { return strings.Compare(a.sortName, b.sortName) })

	ahead := w.par != nil && strings.Count(dp, "/") < w.par.depth
	next := 0 // the first item not yet considered for listing ahead
	for i := range items {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		if ahead {
			next = w.startAhead(fd, dp, items, max(next, i+1))
		}
		it := &items[i]
		key := it.key
		if it.ahead != nil {
			st := it.ahead
			it.ahead = nil // its buffer can go once drained
			if err := w.drain(st); err != nil {
				return err
			}
			continue
		}
		if it.dir {
			child, err := w.enter(fd, it.name, it.followed)
			switch {
			case err != nil:
				err = w.unreadable(key+"/", err)
			case child >= 0:
				err = w.walk(child, key+"/")
			}
			if err != nil {
				return err
			}
			continue
		}
		e, ok := w.entry(fd, key, it)
		if !ok {
			continue
		}
		if err := w.fn(e); err != nil {
			return err
		}
	}
	return nil
}

// wanted reports whether the name s (with a trailing '/' for a directory) of
// a directory can hold keys with the prefix rest and after afterRest, both
// relative to that directory.
func wanted(s string, dir bool, rest, afterRest string, restrict bool) bool {
	if !strings.HasPrefix(s, rest) && !(dir && strings.HasPrefix(rest, s)) {
		return false
	}
	return !restrict || s > afterRest || (dir && strings.HasPrefix(afterRest, s))
}

// follow resolves the symlink it, deciding whether it is walked into as a
// directory, listed as its target, or listed as Special.
func (w *walker) follow(dirfd int, it *item) {
	var st unix.Stat_t
	err := ignoringEINTR(func() error { return unix.Fstatat(dirfd, it.name, &st, 0) })
	switch {
	case err == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR:
		if slices.Contains(w.anc, devIno{uint64(st.Dev), uint64(st.Ino)}) {
			it.detail = "symlink loop"
		} else {
			it.dir, it.followed = true, true
		}
	case err == nil:
		it.st = &st
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		it.detail = "dangling symlink"
	case errors.Is(err, unix.ELOOP):
		it.detail = "symlink loop"
	default:
		it.detail = "cannot follow symlink: " + err.Error()
	}
}

// entry describes the non-directory it; false when it vanished meanwhile.
func (w *walker) entry(dirfd int, key string, it *item) (store.Entry, bool) {
	switch {
	case it.st != nil:
		return entryOf(key, it.st), true
	case it.detail != "":
		return store.Entry{Key: key, Kind: store.Special, Detail: it.detail}, true
	}
	var st unix.Stat_t
	err := lstatAt(dirfd, it.name, &st, &w.cname)
	switch {
	case errors.Is(err, unix.ENOENT):
		return store.Entry{}, false // removed since the directory was read
	case err != nil:
		return store.Entry{Key: key, Kind: store.Special, Detail: "cannot stat: " + err.Error()}, true
	case st.Mode&unix.S_IFMT == unix.S_IFDIR:
		return store.Entry{}, false // replaced by a directory since it was read
	}
	return entryOf(key, &st), true
}

// enter opens the subdirectory name of dirfd. It returns -1 and no error
// when there is nothing to walk: the name vanished, is no longer a
// directory, is a symlink not to be followed, or (in a prefix) is longer
// than any name can be.
func (w *walker) enter(dirfd int, name string, follow bool) (int, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Openat(dirfd, name, flags, 0)
		return err
	})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) ||
		errors.Is(err, unix.ENAMETOOLONG) {
		return -1, nil
	}
	return fd, err
}

// push records the directory fd as an ancestor of what is walked next, when
// following symlinks. It reports a loop if fd is already an ancestor.
func (w *walker) push(fd int) (loop bool, err error) {
	if !w.l.opt.FollowSymlinks {
		return false, nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, fmt.Errorf("list: fstat: %w", err)
	}
	id := devIno{uint64(st.Dev), uint64(st.Ino)}
	if slices.Contains(w.anc, id) {
		return true, nil
	}
	w.anc = append(w.anc, id)
	return false, nil
}

// unreadable handles a directory, with key prefix d, that cannot be opened or
// read. When d itself is in the listing, it is listed as Unreadable, and the walk
// goes on; when d is startAfter, it was listed by the call that returned it.
// Otherwise (the root, a directory above prefix, one that holds startAfter),
// skipping it would silently drop keys that belong to the listing, so List
// fails; so it does for errors that say nothing about the directory (too many
// open files, out of memory).
func (w *walker) unreadable(d string, err error) error {
	resource := errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) || errors.Is(err, unix.ENOMEM)
	if resource || d == "" || !strings.HasPrefix(d, w.prefix) || d < w.after {
		return fmt.Errorf("list: cannot read directory %s: %w", filepath.Join(w.l.root, d), wrapSentinel(err))
	}
	if d == w.after {
		return nil
	}
	msg := err.Error()
	var errno unix.Errno
	if errors.As(err, &errno) {
		msg = errno.Error()
	}
	return w.fn(store.Entry{Key: d, Kind: store.Unreadable, Detail: "cannot read directory: " + msg})
}

// wrapSentinel wraps err with the store sentinel it belongs to, if any.
func wrapSentinel(err error) error {
	if s := classify(err); s != err {
		return fmt.Errorf("%w: %w", s, err)
	}
	return err
}
