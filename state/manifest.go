package state

import (
	"encoding/binary"
	"errors"
	"time"

	"ferry/store"
)

// Manifests are stored in a compact binary form: a task can hold tens of
// thousands of entries and is written once per scan or retry. Layout per
// entry: uvarint len(key), key, varint size, varint mtime-ns, uvarint
// len(etag), etag, byte kind, uvarint len(detail), detail.

var errBadManifest = errors.New("corrupt manifest")

func encodeManifest(entries []store.Entry) []byte {
	n := 0
	for i := range entries {
		n += len(entries[i].Key) + len(entries[i].ETag) + len(entries[i].Detail) + 32
	}
	b := make([]byte, 0, n+binary.MaxVarintLen64)
	b = binary.AppendUvarint(b, uint64(len(entries)))
	for i := range entries {
		e := &entries[i]
		b = appendString(b, e.Key)
		b = binary.AppendVarint(b, e.Size)
		var mt int64
		if !e.MTime.IsZero() {
			mt = e.MTime.UnixNano()
		}
		b = binary.AppendVarint(b, mt)
		b = appendString(b, e.ETag)
		b = append(b, byte(e.Kind))
		b = appendString(b, e.Detail)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodeManifest copies everything out of b, which may be bbolt memory.
func decodeManifest(b []byte) ([]store.Entry, error) {
	d := decoder{b: b}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(b)) {
		return nil, errBadManifest
	}
	// The strings are cut from one copy of b: an allocation per manifest,
	// not one per key.
	whole := string(b)
	str := func() string {
		p := d.bytes()
		if len(p) == 0 {
			return ""
		}
		off := len(b) - len(d.b) - len(p)
		return whole[off : off+len(p)]
	}
	out := make([]store.Entry, n)
	for i := range out {
		e := &out[i]
		e.Key = str()
		e.Size = d.varint()
		if mt := d.varint(); mt != 0 {
			e.MTime = time.Unix(0, mt)
		}
		e.ETag = str()
		e.Kind = store.Kind(d.byte())
		e.Detail = str()
		if d.err != nil {
			return nil, d.err
		}
	}
	return out, nil
}

// walkManifest calls fn with the index, key and size of each entry of the
// encoded manifest b, in order, without copying: key is b's memory (bbolt's,
// valid only in its transaction). It returns the number of entries. It is
// what completing a task needs, at no allocation per entry.
func walkManifest(b []byte, fn func(i int, key []byte, size int64)) (int, error) {
	d := decoder{b: b}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(b)) {
		return 0, errBadManifest
	}
	for i := 0; i < int(n); i++ {
		key := d.bytes()
		size := d.varint()
		d.varint() // mtime
		d.bytes()  // etag
		d.byte()   // kind
		d.bytes()  // detail
		if d.err != nil {
			return 0, d.err
		}
		if fn != nil {
			fn(i, key, size)
		}
	}
	return int(n), nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errBadManifest
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errBadManifest
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.err = errBadManifest
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// bytes returns the next length-prefixed string in place.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errBadManifest
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}
