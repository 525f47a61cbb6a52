package local

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// dirent encodes one linux_dirent64 record, padded to 8 bytes as the kernel
// does.
func dirent(ino uint64, typ uint8, name string) []byte {
	n := (direntName + len(name) + 1 + 7) &^ 7
	b := make([]byte, n)
	binary.NativeEndian.PutUint64(b[direntIno:], ino)
	binary.NativeEndian.PutUint16(b[direntReclen:], uint16(n))
	b[direntType] = typ
	copy(b[direntName:], name)
	return b
}

func TestParseDirents(t *testing.T) {
	var buf []byte
	for _, d := range []struct {
		ino  uint64
		typ  uint8
		name string
	}{
		{1, unix.DT_DIR, "."}, {2, unix.DT_DIR, ".."}, {3, unix.DT_REG, "a"}, {0, unix.DT_REG, "deleted"},
		{4, unix.DT_DIR, "sub"}, {5, unix.DT_LNK, ".hidden"}, {6, unix.DT_UNKNOWN, "..."},
		{7, unix.DT_REG, strings.Repeat("n", 255)},
	} {
		buf = append(buf, dirent(d.ino, d.typ, d.name)...)
	}
	var got []string
	collect := func(name []byte, typ fs.FileMode) { got = append(got, fmt.Sprintf("%s:%v", name, typ)) }
	if err := parseDirents(buf, collect); err != nil {
		t.Fatal(err)
	}
	want := []string{"a:----------", "sub:d---------", ".hidden:L---------", "...:" + typeUnknown.String(), strings.Repeat("n", 255) + ":----------"}
	if !slices.Equal(got, want) {
		t.Errorf("parsed %q, want %q", got, want)
	}

	// A record that runs past the end, or claims no length, is an error,
	// not a loop or a read out of bounds.
	for name, bad := range map[string][]byte{
		"truncated record": buf[:len(buf)-3],
		"zero length":      append(dirent(9, unix.DT_REG, "x")[:direntReclen], 0, 0, 8, 'x', 0),
		"header cut":       buf[:10],
	} {
		got = nil
		if err := parseDirents(bad, collect); err == nil {
			t.Errorf("%s: no error (parsed %q)", name, got)
		}
	}
}
