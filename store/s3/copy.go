package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"ferry/store"
)

var _ store.ServerCopier = (*S3)(nil)

// CopySource implements store.ServerCopier: key as a copy names it, on
// this store's server under its access key.
func (s *S3) CopySource(key string) store.CopySource {
	return store.CopySource{Server: s.server, AccessKey: s.cfg.AccessKey, Bucket: s.cfg.Bucket, Key: s.fullKey(key)}
}

// ServerCopy implements store.ServerCopier. Below threshold (and S3's 5 GiB
// limit of one copy) it is one CopyObject; else a multipart upload whose
// parts are UploadPartCopy requests, opt.Threads at a time. Either is
// pinned to src.ETag (x-amz-copy-source-if-match), so a source that
// changes meanwhile fails the copy instead of mixing versions, and
// carries the metadata Put would write, the source's CRC64 included when
// known (e.HasCRC). What landed is then checked with a HEAD: its size, its
// ETag against the source's (a one-request copy of an object whose ETag is
// an MD5 keeps it), and its CRC64 against the source's (on OSS the
// server's own x-oss-hash-crc64ecma: a check of the bytes; elsewhere that
// the metadata holds it).
func (s *S3) ServerCopy(ctx context.Context, key string, src store.CopySource, size int64, e store.Entry, threshold int64,
	opt store.MultipartOptions) (store.Entry, error) {
	if err := s.checkKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("server copy: %w", err)
	}
	if !store.SameServer(src, s.CopySource(key)) {
		return store.Entry{}, fmt.Errorf("server copy %q: %w: the source is on another server or read with other credentials", key, store.ErrCopyRefused)
	}
	m := s.metaOf(key, e, e.CRC64, e.HasCRC, "")
	whole := size < max(threshold, 1) && size <= maxCopySize
	var etag string
	var err error
	if whole {
		etag, err = s.copyObject(ctx, key, src, m)
	} else {
		etag, err = s.copyParts(ctx, key, src, size, m, opt)
	}
	if err != nil {
		return store.Entry{}, fmt.Errorf("server copy %q: %w", key, err)
	}
	st, err := s.Stat(ctx, key)
	switch {
	case err != nil:
		return store.Entry{}, fmt.Errorf("server copy %q: looking at the copy: %w", key, err)
	case st.Size != size:
		return store.Entry{}, store.Permanent(fmt.Errorf("server copy %q: the copy has %d bytes, the source %d", key, st.Size, size))
	case whole && isMD5(src.ETag) && isMD5(etag) && !sameETag(src.ETag, etag):
		return store.Entry{}, store.Permanent(fmt.Errorf("server copy %q: the copy's ETag %s is not the source's %s", key, etag, src.ETag))
	case e.HasCRC && (!st.HasCRC || st.CRC64 != e.CRC64):
		return store.Entry{}, store.Permanent(fmt.Errorf("server copy %q: the copy's CRC64 is %016x (known %v), the source's %016x", key, st.CRC64, st.HasCRC, e.CRC64))
	}
	return st, nil
}

// copyRefused returns op's error as the refusal of a copy when it is one:
// no permission to copy, or no support for it. Anything else is left to
// classify.
func copyRefused(err error) error {
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return err
	}
	switch er.Code {
	case "AccessDenied", "NotImplemented", "XNotImplemented", "InvalidRequest", "MethodNotAllowed":
	default:
		switch er.StatusCode {
		case http.StatusForbidden, http.StatusNotImplemented, http.StatusMethodNotAllowed:
		default:
			return err
		}
	}
	return store.Permanent(fmt.Errorf("%w: %s (%s, HTTP %d)", store.ErrCopyRefused, er.Message, er.Code, er.StatusCode))
}

// copyObject copies src to key in one request and returns the new ETag.
func (s *S3) copyObject(ctx context.Context, key string, src store.CopySource, m objMeta) (string, error) {
	var info minio.ObjectInfo
	err := s.do(ctx, key, func(ctx context.Context) (err error) {
		info, err = s.core.CopyObject(ctx, src.Bucket, src.Key, s.cfg.Bucket, s.fullKey(key), m.headers(),
			minio.CopySrcOptions{Bucket: src.Bucket, Object: src.Key, MatchETag: src.ETag}, minio.PutObjectOptions{})
		return copyRefused(err)
	})
	return strings.Trim(info.ETag, `"`), err
}

// copyParts copies src to key as a multipart upload of UploadPartCopy
// parts and returns the new ETag. A failure aborts the upload.
func (s *S3) copyParts(ctx context.Context, key string, src store.CopySource, size int64, m objMeta, opt store.MultipartOptions) (string, error) {
	partSize := s.chooseSize(size, opt.PartSize)
	var id string
	err := s.do(ctx, key, func(ctx context.Context) (err error) {
		id, err = s.core.NewMultipartUpload(ctx, s.cfg.Bucket, s.fullKey(key), m.putOptions())
		return copyRefused(err)
	})
	if err != nil {
		return "", fmt.Errorf("creating a multipart upload: %w", err)
	}
	parts, err := s.copyRange(ctx, key, id, src, 0, size, partSize, opt.Threads)
	if err == nil {
		var info minio.UploadInfo
		err = s.do(ctx, key, func(ctx context.Context) (err error) {
			info, err = s.core.CompleteMultipartUpload(ctx, s.cfg.Bucket, s.fullKey(key), id, parts, minio.PutObjectOptions{})
			return err
		})
		if err == nil {
			return strings.Trim(info.ETag, `"`), nil
		}
	}
	s.abortQuietly(ctx, key, id)
	return "", err
}

// copyRange copies bytes [off, end) of src into upload id of key, as the
// parts of partSize bytes that cover them (numbered from 1 at byte 0),
// threads at a time, and returns them in order.
func (s *S3) copyRange(ctx context.Context, key, id string, src store.CopySource, off, end, partSize int64, threads int) ([]minio.CompletePart, error) {
	var mu sync.Mutex
	var parts []minio.CompletePart
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, threads))
	for p := off; p < end; p += partSize {
		n := int(p/partSize) + 1
		ln := min(partSize, end-p)
		g.Go(func() error {
			var cp minio.CompletePart
			err := s.do(gctx, key, func(ctx context.Context) (err error) {
				hdr := map[string]string{}
				if src.ETag != "" {
					hdr["x-amz-copy-source-if-match"] = src.ETag
				}
				cp, err = s.core.CopyObjectPart(ctx, src.Bucket, src.Key, s.cfg.Bucket, s.fullKey(key), id, n, p, ln, hdr)
				return copyRefused(err)
			})
			if err != nil {
				return fmt.Errorf("part %d: %w", n, err)
			}
			mu.Lock()
			parts = append(parts, cp)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	slices.SortFunc(parts, func(a, b minio.CompletePart) int { return a.PartNumber - b.PartNumber })
	return parts, nil
}
