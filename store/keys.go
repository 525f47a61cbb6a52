package store

import (
	"fmt"
	"strings"
)

// CheckKey returns nil if key can name an object in every backend, above all
// in a local directory: relative, staying below the root, naming a file. It
// refuses, with an error wrapping ErrInvalidKey that quotes the key, keys
// that are empty, absolute, contain NUL, end with '/', or have an empty, "."
// or ".." component. Keys are bytes: any other byte, including those that are
// not UTF-8, is allowed.
func CheckKey(key string) error {
	if why := keyProblem(key); why != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why)
	}
	return nil
}

// CheckObjectKey is CheckKey for object stores, where a key may end with
// '/': such a key names an object like any other (S3 "folders" can hold
// bytes), not a directory. Its other rules stay, so that every key it
// accepts but a trailing '/' can still be copied to a directory. "/" alone
// is refused.
func CheckObjectKey(key string) error {
	name := strings.TrimSuffix(key, "/")
	if why := keyProblem(name); why != "" {
		if name == "" && key != "" {
			why = "no name before the trailing /"
		}
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why)
	}
	return nil
}

// keyProblem says what is wrong with key, or "" when nothing is.
func keyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case key[0] == '/':
		return "absolute (starts with /)"
	case strings.IndexByte(key, 0) >= 0:
		return "contains a NUL byte"
	case key[len(key)-1] == '/':
		return "ends with /"
	}
	// One pass over the components (every copied file's key is checked
	// by each store call that names it).
	start := 0
	for i := 0; i <= len(key); i++ {
		if i < len(key) && key[i] != '/' {
			continue
		}
		switch c := key[start:i]; c {
		case "":
			return "has an empty path component (//)"
		case ".", "..":
			return fmt.Sprintf("has a %q path component", c)
		}
		start = i + 1
	}
	return ""
}
