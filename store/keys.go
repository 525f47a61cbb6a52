package store

import (
	"fmt"
	"strings"
)

// CheckKey returns nil if key can name a file below a directory (the local
// store): relative, staying below the root, naming a file. It refuses, with
// an error wrapping ErrInvalidKey that quotes the key, keys that are empty,
// absolute, contain NUL, end with '/', or have an empty, "." or ".."
// component. Keys are bytes: any other byte, including those that are not
// UTF-8, is allowed. Object stores hold more: to them "a//b", "../x" or
// "/x" are keys like any other, copied exactly between them (store/s3 says
// what it refuses).
func CheckKey(key string) error {
	if why := keyProblem(key); why != "" {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, key, why)
	}
	return nil
}

// CheckObjectKey is CheckKey but for a trailing '/': it accepts the keys
// that would be file paths but for ending with '/' (in object stores such a
// key names an object like any other; S3 "folders" can hold bytes), so that
// the local store can say why such an object cannot land. "/" alone is
// refused.
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
