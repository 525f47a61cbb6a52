package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"ferry/store"
)

var _ store.Assembler = (*S3)(nil)

// BeginAssembly implements store.Assembler: a multipart upload created
// with the object's metadata (the CRC64 when e has it; else it is added
// once the object is complete, as PutMultipart does).
func (s *S3) BeginAssembly(ctx context.Context, key, _ string, size int64, e store.Entry, partSize int64) (store.Assembly, error) {
	if err := s.checkKey(key); err != nil {
		return store.Assembly{}, fmt.Errorf("begin assembly: %w", err)
	}
	partSize = s.chooseSize(size, partSize)
	id, err := s.create(ctx, key, s.metaOf(key, e, e.CRC64, e.HasCRC, ""))
	if err != nil {
		return store.Assembly{}, fmt.Errorf("begin assembly %q: %w", key, err)
	}
	return store.Assembly{ID: id, PartSize: partSize, CRCKnown: e.HasCRC}, nil
}

// WriteRange implements store.Assembler: the parts of the range uploaded
// threads at a time, each checked by its Content-MD5 and ETag as
// PutMultipart's.
func (s *S3) WriteRange(ctx context.Context, key string, a store.Assembly, off, n int64, src func(off, n int64) (io.ReadCloser, error),
	threads int, done []store.Part, onPart func([]store.Part) error) ([]store.Part, error) {
	if a.PartSize <= 0 || off%a.PartSize != 0 {
		return nil, fmt.Errorf("write range %q at %d: not at a part boundary of %d", key, off, a.PartSize)
	}
	have := map[int]bool{}
	parts := slices.Clone(done)
	for _, p := range parts {
		have[p.Number] = true
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, threads))
	for p := off; p < off+n; p += a.PartSize {
		num := int(p/a.PartSize) + 1
		if have[num] {
			continue
		}
		ln := min(a.PartSize, off+n-p)
		g.Go(func() error {
			var b buffer
			defer b.release()
			if err := s.readPart(gctx, src, p, ln, &b); err != nil {
				return fmt.Errorf("part %d: reading the source at %d: %w", num, p, err)
			}
			part, err := s.uploadPart(gctx, key, a.ID, num, &b, nil)
			if err != nil {
				return fmt.Errorf("part %d: %w", num, err)
			}
			mu.Lock()
			defer mu.Unlock()
			parts = append(parts, part)
			slices.SortFunc(parts, func(x, y store.Part) int { return x.Number - y.Number })
			if onPart != nil {
				return onPart(slices.Clone(parts))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("write range %q at %d: %w", key, off, err)
	}
	return parts, nil
}

// FinishAssembly implements store.Assembler: PutMultipart's completion
// (the combined CRC64 checked against e's, the object's ETag against its
// parts', the CRC64 added to its metadata when it was not known at the
// start), and, when the upload is gone because it was completed before,
// the object it made.
func (s *S3) FinishAssembly(ctx context.Context, key string, a store.Assembly, size int64, parts []store.Part, e store.Entry) (store.Entry, error) {
	state := &store.MultipartState{UploadID: a.ID, PartSize: a.PartSize, Parts: slices.Clone(parts)}
	crc, _, ok := store.CombineParts(parts)
	if !ok {
		return store.Entry{}, fmt.Errorf("finish assembly %q: parts missing or out of order", key)
	}
	if e.HasCRC && e.CRC64 != crc {
		return store.Entry{}, store.Permanent(fmt.Errorf("finish assembly %q: the parts' CRC64 %016x is not the source's %016x", key, crc, e.CRC64))
	}
	meta := e
	meta.CRC64, meta.HasCRC = crc, a.CRCKnown // in the metadata from the start, or added once complete
	ent, err := s.finish(ctx, key, size, meta, state)
	if errors.Is(err, store.ErrNotExist) { // completed by an attempt whose answer was lost
		if ent, ok := s.completedEarlier(ctx, key, size, meta, state); ok {
			return ent, nil
		}
	}
	if err != nil {
		return store.Entry{}, fmt.Errorf("finish assembly %q: %w", key, err)
	}
	return ent, nil
}

// AbortAssembly implements store.Assembler.
func (s *S3) AbortAssembly(ctx context.Context, key string, a store.Assembly) error {
	return s.AbortUpload(ctx, key, a.ID)
}
