package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

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
	d, err := l.openRoot()
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
		loop, err := w.push(d)
		if err != nil || loop {
			d.close()
			return err
		}
		dp += name + "/"
		child, err := d.open(name, l.opt.FollowSymlinks)
		d.close()
		if err != nil {
			return w.unreadable(dp, err)
		}
		if child == nil {
			return nil // nothing there: no key can have this prefix
		}
		d = child
	}
	return w.walk(d, dp)
}

// dir is a directory open for List: on Linux a descriptor read with
// getdents64 and looked into with fstatat (list_linux.go); elsewhere, and
// in portable mode, an *os.File (list_portable.go). Errors are the system's
// (syscall.Errno), without a path: the walker says where.
type dir interface {
	// read calls fn with the name and type of each entry but "." and "..":
	// the type bits of an fs.FileMode, or typeUnknown where the file
	// system does not say. name is valid only during the call.
	read(s *scratch, fn func(name []byte, typ fs.FileMode)) error
	// lstat describes the entry name, listed as key, without following a
	// symlink, and returns its type.
	lstat(s *scratch, key, name string) (store.Entry, fs.FileMode, error)
	// follow describes what the symlink name, listed as key, points to, and
	// returns its type and, for a directory, what identifies it.
	follow(key, name string) (store.Entry, fs.FileMode, dirID, error)
	// open opens the subdirectory name, through a symlink only when
	// follow is set. It returns nil and no error when there is nothing to
	// walk: the name vanished, is not a directory, is a symlink not to be
	// followed, or (in a prefix) is longer than any name can be.
	open(name string, follow bool) (dir, error)
	// id identifies the directory, to detect symlinks that loop back.
	id() (dirID, error)
	close()
}

// typeUnknown is the type dir.read gives where the file system does not say.
const typeUnknown = ^fs.FileMode(0)

// dirID identifies a directory: its device and inode, or what else the
// system compares files by.
type dirID interface {
	same(dirID) bool
}

// scratch is a walker's buffers, which a dir reuses from call to call.
type scratch struct {
	dents []byte // read's
	cname []byte // lstat's
}

// walker is the state of one List call.
type walker struct {
	l             *Local
	ctx           context.Context
	prefix, after string
	fn            func(store.Entry) error
	anc           []dirID   // directories on the current path (when following symlinks)
	par           *parallel // subtrees listed ahead; nil on one thread
	scratch       scratch
}

// item is one name of a directory listing, kept until it is listed.
type item struct {
	key      string       // dp + name
	name     string       // the end of key
	sortName string       // name, or name+"/" for a directory walked into
	dir      bool         // walk into it
	followed bool         // a symlink to a directory
	e        *store.Entry // the entry, when known already (a symlink's target, or looked at)
	detail   string       // why a followed symlink is Special
	ahead    *subtree     // the directory's listing, made ahead (parallel.go)
}

// walk lists the directory d, whose keys start with dp, and closes d.
func (w *walker) walk(d dir, dp string) error {
	defer d.close()
	afterRest, restrict := "", false
	switch {
	case strings.HasPrefix(w.after, dp):
		afterRest, restrict = w.after[len(dp):], true
	case dp < w.after:
		return nil // every key below dp sorts before startAfter
	}
	loop, err := w.push(d)
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
	var items []item
	err = d.read(&w.scratch, func(nb []byte, typ fs.FileMode) {
		key := dp + string(nb)
		it := item{key: key, name: key[len(dp):]}
		it.sortName = it.name
		if typ == typeUnknown { // the file system does not say: look
			e, t, err := d.lstat(&w.scratch, key, it.name)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				return // gone since read
			case err != nil:
				// entry looks again and says what is wrong
			case t == fs.ModeDir, t == fs.ModeSymlink:
				typ = t
			default:
				it.e = &e
			}
		}
		switch {
		case typ == fs.ModeDir:
			it.dir = true
		case isTempName(it.name):
			return // a crashed Put's leftover: never copied
		case typ == fs.ModeSymlink && w.l.opt.FollowSymlinks:
			if !wanted(it.name+"/", true, rest, afterRest, restrict) && !wanted(it.name, false, rest, afterRest, restrict) {
				return
			}
			w.follow(d, &it)
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
			next = w.startAhead(d, dp, items, max(next, i+1))
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
			child, err := d.open(it.name, it.followed)
			switch {
			case err != nil:
				err = w.unreadable(key+"/", err)
			case child != nil:
				err = w.walk(child, key+"/")
			}
			if err != nil {
				return err
			}
			continue
		}
		e, ok := w.entry(d, key, it)
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
func (w *walker) follow(d dir, it *item) {
	e, typ, id, err := d.follow(it.key, it.name)
	switch {
	case err == nil && typ == fs.ModeDir:
		if slices.ContainsFunc(w.anc, id.same) {
			it.detail = "symlink loop"
		} else {
			it.dir, it.followed = true, true
		}
	case err == nil:
		it.e = &e
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		it.detail = "dangling symlink"
	case errors.Is(err, syscall.ELOOP):
		it.detail = "symlink loop"
	default:
		it.detail = "cannot follow symlink: " + err.Error()
	}
}

// entry describes the non-directory it; false when it vanished meanwhile.
func (w *walker) entry(d dir, key string, it *item) (store.Entry, bool) {
	switch {
	case it.e != nil:
		return *it.e, true
	case it.detail != "":
		return store.Entry{Key: key, Kind: store.Special, Detail: it.detail}, true
	}
	e, typ, err := d.lstat(&w.scratch, key, it.name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return store.Entry{}, false // removed since the directory was read
	case err != nil:
		return store.Entry{Key: key, Kind: store.Special, Detail: "cannot stat: " + err.Error()}, true
	case typ == fs.ModeDir:
		return store.Entry{}, false // replaced by a directory since it was read
	}
	return e, true
}

// push records the directory d as an ancestor of what is walked next, when
// following symlinks. It reports a loop if d is already an ancestor.
func (w *walker) push(d dir) (loop bool, err error) {
	if !w.l.opt.FollowSymlinks {
		return false, nil
	}
	id, err := d.id()
	if err != nil {
		return false, fmt.Errorf("list: fstat: %w", err)
	}
	if slices.ContainsFunc(w.anc, id.same) {
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
	resource := errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOMEM)
	if resource || d == "" || !strings.HasPrefix(d, w.prefix) || d < w.after {
		return fmt.Errorf("list: cannot read directory %s: %w", filepath.Join(w.l.root, d), wrapSentinel(err))
	}
	if d == w.after {
		return nil
	}
	msg := err.Error()
	var errno syscall.Errno
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
