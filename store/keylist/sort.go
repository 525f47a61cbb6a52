package keylist

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"time"

	"ferry/internal/sortedfile"
	"ferry/store"
)

// record is one key of a list and what the list says of it.
type record struct {
	key   string
	size  int64
	mtime int64 // unix ns; 0 unknown
	etag  string
}

func (r record) entry() store.Entry {
	e := store.Entry{Key: r.key, Size: r.size, ETag: r.etag, Kind: store.File}
	if r.mtime != 0 {
		e.MTime = time.Unix(0, r.mtime)
	}
	return e
}

// value encodes what the sorted copy keeps beside the key: varint size,
// varint mtime, then the etag.
func (r record) value() []byte {
	b := binary.AppendVarint(nil, r.size)
	b = binary.AppendVarint(b, r.mtime)
	return append(b, r.etag...)
}

func recordOf(sr sortedfile.Record) (record, error) {
	r := record{key: sr.Key}
	br := bytes.NewReader(sr.Val)
	var err error
	if r.size, err = binary.ReadVarint(br); err != nil {
		return r, errors.New("sorted list: corrupt record")
	}
	if r.mtime, err = binary.ReadVarint(br); err != nil {
		return r, errors.New("sorted list: corrupt record")
	}
	r.etag = string(sr.Val[len(sr.Val)-br.Len():])
	return r, nil
}

// runBytes bounds the memory of one sorted run (a variable for tests).
var runBytes = 32 << 20

// indexEvery is how many records apart the in-memory index marks are.
const indexEvery = 1024

// index is a sorted copy of a list.
type index struct{ *sortedfile.File }

// build reads a list with read (which calls emit for each record, in the
// list's order) into a sorted copy in dir, a key listed twice kept once
// (its first record).
func build(dir string, read func(emit func(record) error) error) (*index, error) {
	b := sortedfile.NewBuilder(dir, runBytes)
	if err := read(func(r record) error { return b.Add(r.key, r.value()) }); err != nil {
		return nil, err
	}
	f, err := b.Finish(filepath.Join(dir, "sorted"), indexEvery, nil)
	if err != nil {
		return nil, err
	}
	return &index{f}, nil
}

// scan calls fn with the records whose key is >= from, in order, until fn
// returns false or an error.
func (x *index) scan(from string, fn func(record) (bool, error)) error {
	return x.Scan(from, func(sr sortedfile.Record) (bool, error) {
		r, err := recordOf(sr)
		if err != nil {
			return false, err
		}
		return fn(r)
	})
}
