package zk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/go-zookeeper/zk"

	"ferry/store"
)

// read reads the znode key at p: its entry (data CRC64, ACL, counter), and
// its stat. The data (in a batch of the copying threads' reads) and the
// ACL (sent with the batch) come from two requests, in flight together; an
// ACL changed in between is the next round's change.
func (s *Store) read(ctx context.Context, key, p string) (store.Entry, *zk.Stat, error) {
	e, _, st, err := s.readData(ctx, key, p)
	return e, st, err
}

// readData is read that also returns the data.
func (s *Store) readData(ctx context.Context, key, p string) (store.Entry, []byte, *zk.Stat, error) {
	data, st, acl, aclErr, err := s.getBatchedWithACL(ctx, p)
	if err != nil {
		return store.Entry{}, nil, nil, s.describe(err, p)
	}
	if st.EphemeralOwner != 0 {
		return entryOf(key, st, nil, nil), nil, st, nil
	}
	if aclErr != nil {
		return store.Entry{}, nil, nil, s.describe(aclErr, p)
	}
	return entryOf(key, st, data, acl), data, st, nil
}

// readShallow is read for a shallow listing (store.Shallow): the data and
// stat alone, one request; the entry's Meta has no MetaACL, so that
// Differs compares nothing of it. A znode whose data may be read may have
// its ACL read too (READ allows both), so it is no less readable.
func (s *Store) readShallow(ctx context.Context, key, p string) (store.Entry, *zk.Stat, error) {
	data, st, err := s.get(ctx, p)
	if err != nil {
		return store.Entry{}, nil, s.describe(err, p)
	}
	e := entryOf(key, st, data, nil)
	delete(e.Meta, MetaACL)
	return e, st, nil
}

// Stat describes the znode key: an error wrapping store.ErrNotExist when
// there is none, store.ErrPermission when this session may not read it.
func (s *Store) Stat(ctx context.Context, key string) (store.Entry, error) {
	p, err := s.path(key)
	if err != nil {
		return store.Entry{}, err
	}
	e, _, err := s.read(ctx, key, p)
	return e, err
}

// Open returns n bytes of the znode's data from off (n < 0: to the end).
func (s *Store) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	data, st, err := s.get(ctx, p)
	if err != nil {
		return nil, s.describe(err, p)
	}
	if st.EphemeralOwner != 0 {
		return nil, errEphemeral(p, st)
	}
	off = min(max(off, 0), int64(len(data)))
	data = data[off:]
	if n >= 0 && n < int64(len(data)) {
		data = data[:n]
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// OpenStat reads the znode's data, ACL and stat at once: what is read is
// the znode as of one moment, so it cannot change while read.
func (s *Store) OpenStat(ctx context.Context, key string) (store.Opened, store.Entry, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, store.Entry{}, err
	}
	e, data, st, err := s.readData(ctx, key, p)
	if err != nil {
		return nil, e, err
	}
	if e.Kind != store.File {
		return nil, e, errEphemeral(p, st)
	}
	return &opened{Reader: bytes.NewReader(data), e: e}, e, nil
}

// opened is a znode's data as read by OpenStat.
type opened struct {
	*bytes.Reader
	e store.Entry
}

func (o *opened) Close() error               { return nil }
func (o *opened) Stat() (store.Entry, error) { return o.e, nil }

// errEphemeral refuses to copy an ephemeral znode met outside a listing
// (the listing reports them as skipped).
func errEphemeral(p string, st *zk.Stat) error {
	return fmt.Errorf("znode %s is ephemeral (owner session 0x%x): not copied", p, st.EphemeralOwner)
}

// isNoNode reports whether err says a znode does not exist.
func isNoNode(err error) bool {
	return errors.Is(err, zk.ErrNoNode) || errors.Is(err, store.ErrNotExist)
}
