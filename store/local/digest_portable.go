package local

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sync/errgroup"

	"ferry/store"
)

// digestChunk is how much of a part digestRangePortable reads at a time.
const digestChunk = 1 << 20

// partDigestsPortable is PartDigests with the os package: each part read
// with pread, a MiB at a time.
func (l *Local) partDigestsPortable(ctx context.Context, key string, partSize int64) ([]store.PartDigest, int64, error) {
	o, e, err := l.OpenStat(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	defer o.Close()
	f := o.(*osFile).f
	ds := make([]store.PartDigest, (e.Size+partSize-1)/partSize)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(digestStreams)
	for i := range ds {
		off := int64(i) * partSize
		g.Go(func() (err error) {
			ds[i], err = digestRangePortable(gctx, f, off, min(partSize, e.Size-off))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, fmt.Errorf("part digests %q: %w", key, err)
	}
	return ds, e.Size, nil
}

// digestRangePortable returns the digest of the n bytes of f from off.
func digestRangePortable(ctx context.Context, f *os.File, off, n int64) (store.PartDigest, error) {
	if err := takeDigestSlot(ctx); err != nil {
		return store.PartDigest{}, err
	}
	defer func() { <-digestSlots }()
	h, release := partHash(n)
	defer release()
	d := store.PartDigest{Size: n}
	buf := make([]byte, min(n, digestChunk))
	for end := off + n; off < end; {
		if err := ctx.Err(); err != nil {
			return d, err
		}
		p := buf[:min(int64(len(buf)), end-off)]
		m, err := f.ReadAt(p, off)
		if m < len(p) {
			if err == nil || err == io.EOF {
				return d, fmt.Errorf("file shrank while read (ends at %d)", off+int64(m))
			}
			return d, err
		}
		h.Write(p)
		d.CRC64 = store.UpdateCRC64(d.CRC64, p)
		off += int64(m)
	}
	copy(d.MD5[:], h.Sum(nil))
	return d, nil
}
