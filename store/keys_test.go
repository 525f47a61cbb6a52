package store

import (
	"errors"
	"fmt"
	"hash/crc64"
	"path"
	"strings"
	"testing"
)

func TestCheckKey(t *testing.T) {
	good := []string{
		"a", "a/b", "a/b/c.txt", ".hidden", "a/.b", "..a", "a..", "a/...", "a b",
		"tab\there", "new\nline", "bad\xffbyte", "ünï/コード", "100%#?*", `q"uo'te`,
		"a\\b", strings.Repeat("x", 300),
	}
	for _, k := range good {
		if err := CheckKey(k); err != nil {
			t.Errorf("CheckKey(%q) = %v, want nil", k, err)
		}
	}
	bad := map[string]string{
		"":        "empty",
		"/a":      "absolute",
		"/":       "absolute",
		"a\x00b":  "NUL",
		"a/":      "ends with /",
		"a//b":    "empty path component",
		".":       `"."`,
		"..":      `".."`,
		"./a":     `"."`,
		"a/./b":   `"."`,
		"a/../b":  `".."`,
		"a/b/..":  `".."`,
		"../etc":  `".."`,
		"a/b/../": "ends with /",
	}
	for k, want := range bad {
		err := CheckKey(k)
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("CheckKey(%q) = %v, want ErrInvalidKey", k, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckKey(%q) = %q, want it to mention %s", k, err, want)
		}
	}
	if err := CheckKey("a/../b"); !strings.Contains(err.Error(), `"a/../b"`) {
		t.Errorf("error %q does not quote the key", err)
	}
}

func TestCheckObjectKey(t *testing.T) {
	for _, k := range []string{"a", "a/b", "dir/", "a/b/", "bad\xffbyte/"} {
		if err := CheckObjectKey(k); err != nil {
			t.Errorf("CheckObjectKey(%q) = %v, want nil", k, err)
		}
	}
	bad := map[string]string{
		"":       "empty",
		"/":      "no name before the trailing /",
		"/a/":    "absolute",
		"a//":    "ends with /",
		"a//b/":  "empty path component",
		"../":    `".."`,
		"a/./":   `"."`,
		"x\x00/": "NUL",
	}
	for k, want := range bad {
		err := CheckObjectKey(k)
		if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), fmt.Sprintf("%q", k)) {
			t.Errorf("CheckObjectKey(%q) = %v, want ErrInvalidKey quoting the key and mentioning %s", k, err, want)
		}
	}
}

// FuzzCheckKey checks the property that matters for a local root: an
// accepted key, joined below a root, neither leaves it nor names it.
func FuzzCheckKey(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../a", "a/./b", "/x", "a\x00", "a//b", "\xff/\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if CheckKey(key) != nil {
			return
		}
		if path.Clean(key) != key {
			t.Fatalf("accepted %q, which path.Clean changes to %q", key, path.Clean(key))
		}
		j := path.Join("/root", key)
		if !strings.HasPrefix(j, "/root/") {
			t.Fatalf("accepted %q, which leaves the root: %q", key, j)
		}
		if strings.IndexByte(key, 0) >= 0 || strings.HasSuffix(key, "/") {
			t.Fatalf("accepted %q", key)
		}
	})
}

func TestCRC64(t *testing.T) {
	// The CRC-64/XZ check value (same polynomial and parameters as OSS).
	h := NewCRC64()
	h.Write([]byte("123456789"))
	if got, want := h.Sum64(), uint64(0x995dc9bbdf1939fa); got != want {
		t.Fatalf("crc64(123456789) = %#x, want %#x", got, want)
	}
	if got := crc64.Checksum(nil, CRC64Table); got != 0 {
		t.Fatalf("crc64 of nothing = %#x, want 0", got)
	}
}
