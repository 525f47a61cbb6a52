// Package fspath compares local directories as the kernel would reach them:
// whether one is inside another, as written and with symbolic links
// resolved as far as the paths exist. conf uses it to keep a job's source
// and destination apart and out of ferry's working directory; the master
// uses it to keep submitted jobs out of its own directory.
package fspath

import (
	"path/filepath"
	"strings"
)

// Within reports whether child is strictly below parent; both absolute and
// clean.
func Within(parent, child string) bool {
	rel, err := filepath.Rel(parent, child)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Overlap reports whether a and b (absolute, clean) are the same directory
// or one is inside the other.
func Overlap(a, b string) bool {
	return a == b || Within(a, b) || Within(b, a)
}

// Real resolves symbolic links in the longest existing ancestor of p
// (absolute, clean) and appends the rest, so a path that does not exist
// yet still compares correctly.
func Real(p string) string {
	rest := ""
	for cur := p; ; {
		if r, err := filepath.EvalSymlinks(cur); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return p
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}
