package local

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Below the root, what Put, Delete and CleanTemps change is reached
// without following a symbolic link in any component (issue 15: a link
// planted in a destination, dest/sub -> /elsewhere, made a copy of
// sub/victim.conf overwrite /elsewhere/victim.conf). The root itself may
// be a link the user chose; it is resolved when the store opens. A link at
// the key itself is not followed either: Put replaces it with the file, as
// it would any file, and Delete removes the link.
//
// On Linux each directory is opened with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) from a descriptor of the root, or, on kernels
// without openat2, one component at a time with O_NOFOLLOW; the file is
// then made, linked and renamed relative to that directory's descriptor
// (beneath_linux.go). The portable implementation checks each component
// with Lstat before it acts (walkPortable), which leaves a window where
// the Linux one has none.

// errLinkInDest is wrapped by the error of a Put, Delete or CleanTemps that
// met a symbolic link among the directories of its key.
var errLinkInDest = errors.New("ferry does not write through links in the destination")

// linkError is the error of op on key when the directory prefix (a key) is
// a symbolic link to target.
func linkError(op, key, prefix, target string) error {
	return fmt.Errorf("%s %q: %q in the destination is a symbolic link (to %s); %w", op, key, prefix, target, errLinkInDest)
}

// errNotDir is wrapped by the error of a Put, Delete or CleanTemps that
// met a file where one of the directories of its key should be.
var errNotDir = errors.New("exists and is not a directory")

// notDirError is the error of op on key when the directory prefix (a key),
// at path, exists and is not a directory.
func notDirError(op, key, prefix, path string) error {
	return fmt.Errorf("%s %q: %q (%s) %w", op, key, prefix, path, errNotDir)
}

// splitKey returns the directory of key ("" for the root) and its last
// component.
func splitKey(key string) (dir, name string) {
	i := strings.LastIndexByte(key, '/')
	if i < 0 {
		return "", key
	}
	return key[:i], key[i+1:]
}

// walkPortable checks each directory of dirKey below the root in turn with
// Lstat, for op on key: a symbolic link or a file among them is an error
// (linkError, notDirError). A missing one is made (mode 0755) when create
// is set, else an error wrapping store.ErrNotExist. It returns whether it
// made any.
func (l *Local) walkPortable(op, key, dirKey string, create bool) (made bool, err error) {
	for end := 0; end != len(dirKey); {
		start := end
		if start > 0 {
			start++ // past the '/'
		}
		if i := strings.IndexByte(dirKey[start:], '/'); i >= 0 {
			end = start + i
		} else {
			end = len(dirKey)
		}
		prefix := dirKey[:end]
		p := l.path(prefix)
		fi, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) && create {
			if err = os.Mkdir(p, 0o755); err == nil {
				made = true
				continue
			}
			if errors.Is(err, fs.ErrExist) { // made meanwhile, or not a directory
				fi, err = os.Lstat(p)
			}
		}
		if err != nil {
			return made, opError(op, key, err)
		}
		switch {
		case fi.Mode().Type() == fs.ModeSymlink:
			target, _ := os.Readlink(p)
			return made, linkError(op, key, prefix, target)
		case !fi.IsDir():
			return made, notDirError(op, key, prefix, p)
		}
	}
	return made, nil
}
