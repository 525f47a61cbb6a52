// Package keylist feeds a scan from a list of keys instead of a listing of
// the source, so that a huge bucket is never listed: a key list
// (job.cfg srcListFile, one key a line) or an S3 Inventory report (its
// manifest.json and the CSV files it names). Wrap puts a source store
// behind a store whose List reads the list, sorted; every other call goes
// to the source itself.
//
// A key list has one key a line, relative to srcPrefix, escaped as
// audit.log and error.list write keys (\\ \t \n \r and \xHH for control
// bytes and bytes that are not UTF-8), so an error.list is a key list. A
// key may be followed by a tab and its size in bytes, and then by a tab
// and its mtime (RFC 3339): a key without them is listed with size 0 and
// no mtime, and the worker learns them when it copies (the job's byte
// counts then leave them out, and its file is never split into parts).
// Blank lines are skipped. A key listed twice is listed once (the first
// line wins).
//
// An inventory is named by its manifest.json (a srcListFile ending in
// ".json"); see inventory.go.
//
// The list is read once, on the first List, into a sorted copy in a
// temporary directory (an external merge sort in runs of bounded size), so
// memory stays bounded whatever the size and order of the list; Close
// removes it. A store that is never listed (a worker's) never reads the
// list.
package keylist

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"

	"ferry/store"
)

// Config says where a list is and how its keys map to the source's.
type Config struct {
	// File is the key list, or an inventory's manifest.json.
	File string
	// Bucket and Prefix are the source's bucket and key prefix (srcBucket,
	// srcPrefix): an inventory lists whole keys of a bucket, of which the
	// source takes those under Prefix, relative to it. A key list's keys
	// are relative to the prefix already.
	Bucket, Prefix string
}

// IsInventory reports whether file names an inventory's manifest rather
// than a key list.
func IsInventory(file string) bool { return strings.HasSuffix(strings.ToLower(file), ".json") }

// Store is a source listed from a list.
type Store struct {
	store.Store
	cfg Config

	once sync.Once
	dir  string
	idx  *index
	err  error
}

var (
	_ store.Store    = (*Store)(nil)
	_ store.Featurer = (*Store)(nil)
	_ io.Closer      = (*Store)(nil)
)

// Wrap returns src listed from the list cfg names.
func Wrap(src store.Store, cfg Config) *Store { return &Store{Store: src, cfg: cfg} }

// Features are the source's own: only List differs.
func (s *Store) Features() store.Features { return store.FeaturesOf(s.Store) }

// List calls fn for each listed key under prefix after startAfter, in byte
// order, with the size, mtime and ETag the list gives.
func (s *Store) List(ctx context.Context, prefix, startAfter string, fn func(store.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	x, err := s.index()
	if err != nil {
		return err
	}
	return x.scan(max(prefix, startAfter), func(r record) (bool, error) {
		if r.key <= startAfter {
			return true, nil
		}
		if !strings.HasPrefix(r.key, prefix) {
			return false, nil
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		return true, fn(r.entry())
	})
}

// index returns the sorted list, building it on first use.
func (s *Store) index() (*index, error) {
	s.once.Do(func() {
		s.dir, s.err = os.MkdirTemp("", "ferry-keylist-")
		if s.err != nil {
			return
		}
		var read func(emit func(record) error) error
		if IsInventory(s.cfg.File) {
			read = func(emit func(record) error) error { return readInventory(s.cfg, emit) }
		} else {
			read = func(emit func(record) error) error { return readKeyList(s.cfg.File, emit) }
		}
		s.idx, s.err = build(s.dir, read)
	})
	return s.idx, s.err
}

// Close removes the sorted copy and closes the source.
func (s *Store) Close() error {
	s.once.Do(func() { s.err = errors.New("source list: the store is closed") })
	var err error
	if s.idx != nil {
		err = s.idx.Close()
	}
	if s.dir != "" {
		if rerr := os.RemoveAll(s.dir); err == nil {
			err = rerr
		}
	}
	if cerr := store.Close(s.Store); err == nil {
		err = cerr
	}
	return err
}
