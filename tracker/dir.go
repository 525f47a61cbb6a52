package tracker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Dir is every byte of an attempt directory: its name below the job's
// directory and its files. The master stores it, in binary form, in the
// transaction that accepts the attempt.
type Dir struct {
	Name  string // succeed_tasks/<task>_<epochms>@<worker> or failed_tasks/...
	Files []File
}

// File is one file of an attempt directory.
type File struct {
	Name string
	Data []byte
}

// dirFormat is the first byte of a Dir's binary form; the rest is the name
// and then each file's name and data, every one of them a uvarint length
// followed by the bytes, the files preceded by their count.
const dirFormat = 1

var errBadDir = errors.New("corrupt attempt directory record")

// MarshalBinary encodes d.
func (d Dir) MarshalBinary() ([]byte, error) {
	n := 1 + len(d.Name) + (2+2*len(d.Files))*binary.MaxVarintLen64
	for _, f := range d.Files {
		n += len(f.Name) + len(f.Data)
	}
	b := make([]byte, 0, n)
	b = append(b, dirFormat)
	b = appendBytes(b, d.Name)
	b = binary.AppendUvarint(b, uint64(len(d.Files)))
	for _, f := range d.Files {
		b = appendBytes(b, f.Name)
		b = appendBytes(b, f.Data)
	}
	return b, nil
}

func appendBytes[S string | []byte](b []byte, s S) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// UnmarshalBinary decodes what MarshalBinary encoded. d keeps no reference
// to b.
func (d *Dir) UnmarshalBinary(b []byte) error {
	if len(b) == 0 || b[0] != dirFormat {
		return errBadDir
	}
	b = b[1:]
	next := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, true
	}
	name, ok := next()
	if !ok {
		return errBadDir
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) { // each file takes two bytes at least
		return errBadDir
	}
	b = b[k:]
	out := Dir{Name: string(name), Files: make([]File, 0, n)}
	for range n {
		fname, ok1 := next()
		data, ok2 := next()
		if !ok1 || !ok2 {
			return errBadDir
		}
		out.Files = append(out.Files, File{Name: string(fname), Data: append([]byte{}, data...)})
	}
	if len(b) != 0 {
		return errBadDir
	}
	*d = out
	return nil
}

// check refuses a Dir that would write outside its attempt directory.
func (d Dir) check() error {
	if !filepath.IsLocal(d.Name) || strings.Count(filepath.Clean(d.Name), string(filepath.Separator)) != 1 {
		return fmt.Errorf("bad attempt directory name %q", d.Name)
	}
	for _, f := range d.Files {
		if f.Name == "" || f.Name != filepath.Base(f.Name) || f.Name == "." || f.Name == ".." {
			return fmt.Errorf("attempt directory %s: bad file name %q", d.Name, f.Name)
		}
	}
	return nil
}
