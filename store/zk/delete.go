package zk

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-zookeeper/zk"

	"ferry/store"
)

// Delete removes the znode key when it has no children; a znode with
// children is refused (zk.ErrNotEmpty): a copy found bad is taken away
// without what lies below it. A missing znode is store.ErrNotExist.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if key == RootKey {
		return fmt.Errorf("znode %s: the root of the subtree is not deleted", p)
	}
	err = s.do(ctx, func() error { return s.conn.Delete(p, -1) })
	if errors.Is(err, zk.ErrNotEmpty) {
		return fmt.Errorf("znode %s: has children; not deleted: %w", p, err)
	}
	return s.describe(err, p)
}

// DeleteTree removes the znode key and everything below it, children
// first: what a mirror does with a znode the source no longer has (its
// subtree is gone from the source too). A missing znode is
// store.ErrNotExist.
func (s *Store) DeleteTree(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if key == RootKey {
		return fmt.Errorf("znode %s: the root of the subtree is not deleted", p)
	}
	err = s.deleteTree(ctx, p)
	if errors.Is(err, zk.ErrNoNode) && p != "" {
		return fmt.Errorf("znode %s: %w", p, store.ErrNotExist)
	}
	return s.describe(err, p)
}

func (s *Store) deleteTree(ctx context.Context, p string) error {
	for {
		err := s.do(ctx, func() error { return s.conn.Delete(p, -1) })
		if !errors.Is(err, zk.ErrNotEmpty) {
			return err
		}
		kids, err := s.children(ctx, p)
		if err != nil {
			return err
		}
		for _, k := range kids {
			if err := s.deleteTree(ctx, p+"/"+k); err != nil && !errors.Is(err, zk.ErrNoNode) {
				return err
			}
		}
	}
}
