package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"ferry/store"
	"ferry/task"
	"ferry/verify"
)

// repairs reports whether verify --repair repairs spec's job through its
// stores: ZooKeeper trees, whose znodes are small and written one
// transaction each. (Table jobs repair rows: verifyTable.) Other jobs
// repair by running again.
func repairs(spec task.Spec) bool {
	return spec.IsTable() || spec.Src.Type == "zk" && spec.Dest.Type == "zk"
}

// repaired counts what repairStore did; failed keys it could not repair,
// first saying why the first of them could not.
type repaired struct {
	written, deleted, failed int
	first                    error
}

func (r *repaired) fail(err error) {
	if r.failed == 0 {
		r.first = err
	}
	r.failed++
}

// repairStore rewrites, from src, each key verify found missing at dst or
// different there (data, and what the store's Differs compares: a
// znode's ACL and sequential counter), in key order so that a parent
// comes before its children; with mirror it deletes each extra key and
// what lies below it. A key the source no longer has is left to the
// verify that follows; a key that cannot be repaired (its destination ACL
// refuses ferry, say) is counted and the others repaired. It stops when
// ctx ends.
func repairStore(ctx context.Context, src, dst store.Store, diffs []verify.Diff, mirror bool) (repaired, error) {
	var r repaired
	srcF, dstF := store.FeaturesOf(src), store.FeaturesOf(dst)
	diffs = slices.Clone(diffs)
	slices.SortStableFunc(diffs, func(a, b verify.Diff) int { return strings.Compare(a.Key, b.Key) })
	for _, d := range diffs {
		if err := ctx.Err(); err != nil {
			return r, err
		}
		switch d.Kind {
		case task.Missing, task.Different:
			err := rewrite(ctx, src, srcF, dst, d.Key)
			switch {
			case errors.Is(err, store.ErrNotExist):
				continue
			case err != nil:
				r.fail(fmt.Errorf("rewrite %s: %w", d.Key, err))
				continue
			}
			r.written++
		case task.Extra:
			if !mirror {
				continue
			}
			del := dstF.DeleteTree
			if del == nil {
				del = dstF.Delete
			}
			if del == nil {
				return r, fmt.Errorf("delete %s: the destination cannot delete", d.Key)
			}
			err := del(ctx, d.Key)
			switch {
			case errors.Is(err, store.ErrNotExist): // gone with an extra parent
				continue
			case err != nil:
				r.fail(fmt.Errorf("delete %s: %w", d.Key, err))
				continue
			}
			r.deleted++
		}
	}
	return r, nil
}

// rewrite copies key from src to dst with what its entry carries beyond
// the data (Meta), and checks that the destination took every byte.
func rewrite(ctx context.Context, src store.Store, srcF store.Features, dst store.Store, key string) error {
	var (
		rc  io.ReadCloser
		e   store.Entry
		err error
	)
	if srcF.OpenStat != nil {
		rc, e, err = srcF.OpenStat(ctx, key)
	} else if e, err = src.Stat(ctx, key); err == nil {
		rc, err = src.Open(ctx, key, 0, -1)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	landed, err := dst.Put(ctx, key, rc, store.Entry{Key: key, Size: e.Size, Meta: e.Meta}, store.PutOptions{})
	if err != nil {
		return err
	}
	if landed.Size != e.Size {
		return fmt.Errorf("the source has %d bytes, the destination took %d", e.Size, landed.Size)
	}
	return nil
}
