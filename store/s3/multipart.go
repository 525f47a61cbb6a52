package s3

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"ferry/store"
)

// Multipart uploads and the CRC of the whole object.
//
// The whole object's CRC64 must be in its metadata for later skip checks
// and verification, but S3 takes metadata only when an upload is created,
// before a byte of it has been read. So:
//
//   - each part's CRC64 is computed from the bytes sent (which the server
//     checked by Content-MD5) and kept in store.MultipartState with its
//     ETag, so a resumed upload knows the CRCs of the parts sent before the
//     crash without reading them again;
//   - the whole object's CRC64 is combined from the parts' CRCs in part
//     order (store.CombineCRC64), so parts can be sent in any order and in
//     parallel;
//   - when the caller knows the CRC up front (e.HasCRC: an object source
//     with ferry's metadata, or an OSS source; or combined from the part
//     digests opt.Digests gives, for a local file), it is written when the
//     upload is created, and the combined CRC must equal it before the
//     upload is completed (else the upload is aborted: the source changed);
//   - when the server reports the CRC of the completed object itself (OSS's
//     x-oss-hash-crc64ecma), it must equal the combined CRC, and nothing
//     more is stored;
//   - otherwise, once complete, the object is copied onto itself on the
//     server with its metadata replaced, the CRC added, conditioned on the
//     ETag just completed so a concurrent writer's object is never
//     relabelled. That copy costs server time, not transfer (a multipart
//     copy above 5 GiB), and makes a second version in a versioned bucket.
//     If it fails, the object stays, complete and verified, without the
//     CRC in its metadata: verification then reads it.
//
// A sidecar object was the other choice: no copy, but keys in the
// destination that the source does not have, which `verify` reports and
// users see.

// chooseSize returns the part size of a new upload of size bytes: want
// (or Config.PartSize), at least MinPartSize, and large enough for size to
// fit in MaxParts parts.
func (s *S3) chooseSize(size, want int64) int64 {
	if want <= 0 {
		want = s.cfg.PartSize
	}
	want = max(want, MinPartSize)
	if least := (size + MaxParts - 1) / MaxParts; want < least {
		want = (least + 1<<20 - 1) &^ (1<<20 - 1) // whole MiB
	}
	return want
}

// PutMultipart implements store.MultipartPutter: see the comment above
// for the CRC, and Put for what is verified of each part. Parts already
// in state are checked against the server (ListObjectParts: same number,
// size and ETag) and not sent again. When the upload in state is gone
// because it was completed before a crash (its object is there with the
// ETag its parts make), that object is taken as the result. A failure
// leaves the upload and state as they are, for a later call to resume (or
// for AbortUpload).
func (s *S3) PutMultipart(ctx context.Context, key string, src func(off, n int64) (io.ReadCloser, error),
	size int64, e store.Entry, opt store.MultipartOptions, state *store.MultipartState) (store.Entry, error) {
	if err := s.checkKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("put multipart: %w", err)
	}
	if size < 0 {
		return store.Entry{}, fmt.Errorf("put multipart %q: negative size %d", key, size)
	}
	if state == nil {
		state = &store.MultipartState{}
	}
	if size == 0 { // S3 wants at least one part; an empty object is one PUT
		return s.Put(ctx, key, strings.NewReader(""), e, store.PutOptions{})
	}
	notify := func() error {
		if opt.OnPart == nil {
			return nil
		}
		return opt.OnPart(state.Clone())
	}
	if state.UploadID != "" {
		ent, done, err := s.resume(ctx, key, size, e, state)
		if err != nil || done {
			return ent, err
		}
	}
	var digests []store.PartDigest
	if state.UploadID == "" {
		partSize := s.chooseSize(size, opt.PartSize)
		if opt.Digests != nil {
			ds, err := opt.Digests(ctx, partSize)
			if err != nil {
				return store.Entry{}, fmt.Errorf("put multipart %q: %w", key, err)
			}
			if ds != nil {
				crc, err := digestsCRC(ds, size, partSize)
				switch {
				case err != nil:
					return store.Entry{}, fmt.Errorf("put multipart %q: the source's part digests: %w", key, err)
				case e.HasCRC && crc != e.CRC64:
					return store.Entry{}, store.Permanent(fmt.Errorf("put multipart %q: the source's CRC64 is %016x, not %016x (did it change?)", key, crc, e.CRC64))
				}
				digests, e.CRC64, e.HasCRC = ds, crc, true
			}
		}
		id, err := s.create(ctx, key, s.metaOf(key, e, e.CRC64, e.HasCRC, ""))
		if err != nil {
			return store.Entry{}, fmt.Errorf("put multipart %q: %w", key, err)
		}
		*state = store.MultipartState{UploadID: id, PartSize: partSize}
		if err := notify(); err != nil {
			// Not saved (the lease was lost, say): nothing would resume
			// this upload, and the key's other uploads may be the new
			// lease holder's, so they are left alone.
			s.abortQuietly(ctx, key, id)
			return store.Entry{}, err
		}
		// Saved with the task, so this attempt holds the key: the others
		// are earlier attempts nothing will finish.
		s.abortOthers(ctx, key, id)
	}

	id := state.UploadID
	have := map[int]bool{}
	for _, p := range state.Parts {
		have[p.Number] = true
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, opt.Threads))
	for n := 1; n <= numParts(size, state.PartSize); n++ {
		if have[n] {
			continue
		}
		off := int64(n-1) * state.PartSize
		ln := min(state.PartSize, size-off)
		g.Go(func() error {
			var b buffer
			defer b.release()
			if err := s.readPart(gctx, src, off, ln, &b); err != nil {
				return fmt.Errorf("part %d: reading the source at %d: %w", n, off, err)
			}
			var want *store.PartDigest
			if digests != nil {
				want = &digests[n-1]
			}
			p, err := s.uploadPart(gctx, key, id, n, &b, want)
			if err != nil {
				return fmt.Errorf("part %d: %w", n, err)
			}
			mu.Lock()
			defer mu.Unlock()
			state.Parts = append(state.Parts, p)
			slices.SortFunc(state.Parts, func(a, b store.Part) int { return a.Number - b.Number })
			return notify()
		})
	}
	if err := g.Wait(); err != nil {
		return store.Entry{}, fmt.Errorf("put multipart %q: %w", key, err)
	}
	ent, err := s.finish(ctx, key, size, e, state)
	if err != nil {
		return store.Entry{}, fmt.Errorf("put multipart %q: %w", key, err)
	}
	return ent, nil
}

func numParts(size, partSize int64) int { return int((size + partSize - 1) / partSize) }

// digestsCRC checks that ds are the digests of the parts of partSize bytes
// of size bytes, and returns the CRC64 of the whole.
func digestsCRC(ds []store.PartDigest, size, partSize int64) (uint64, error) {
	if len(ds) != numParts(size, partSize) {
		return 0, fmt.Errorf("%d parts, want %d", len(ds), numParts(size, partSize))
	}
	var crc uint64
	for i, d := range ds {
		if want := min(partSize, size-int64(i)*partSize); d.Size != want {
			return 0, fmt.Errorf("part %d has %d bytes, want %d", i+1, d.Size, want)
		}
		crc = store.CombineCRC64(crc, d.CRC64, d.Size)
	}
	return crc, nil
}

// resume checks the parts of state against the server, keeping those the
// server has. When the upload is gone, it returns the object if that
// upload made it (done), else clears state for a new upload.
func (s *S3) resume(ctx context.Context, key string, size int64, e store.Entry, state *store.MultipartState) (store.Entry, bool, error) {
	if state.PartSize <= 0 {
		s.abortQuietly(ctx, key, state.UploadID)
		*state = store.MultipartState{}
		return store.Entry{}, false, nil
	}
	server := map[int]minio.ObjectPart{}
	marker := 0
	for {
		var res minio.ListObjectPartsResult
		err := s.do(ctx, key, func(ctx context.Context) (err error) {
			res, err = s.core.ListObjectParts(ctx, s.cfg.Bucket, s.fullKey(key), state.UploadID, marker, 1000)
			return err
		})
		if errors.Is(err, store.ErrNotExist) {
			if ent, ok := s.completedEarlier(ctx, key, size, e, state); ok {
				return ent, true, nil
			}
			*state = store.MultipartState{}
			return store.Entry{}, false, nil
		}
		if err != nil {
			return store.Entry{}, false, fmt.Errorf("put multipart %q: listing the parts of upload %s: %w", key, state.UploadID, err)
		}
		for _, p := range res.ObjectParts {
			server[p.PartNumber] = p
		}
		if !res.IsTruncated || res.NextPartNumberMarker <= marker {
			break
		}
		marker = res.NextPartNumberMarker
	}
	n := numParts(size, state.PartSize)
	kept := state.Parts[:0]
	for _, p := range state.Parts {
		sp, ok := server[p.Number]
		want := min(state.PartSize, size-int64(p.Number-1)*state.PartSize)
		if ok && p.Number <= n && p.Size == want && sp.Size == want && sameETag(sp.ETag, p.ETag) {
			kept = append(kept, p)
		}
	}
	state.Parts = kept
	return store.Entry{}, false, nil
}

// completedEarlier reports whether key holds the object the parts of state
// make (a crash between completing the upload and saving that it was), and
// finishes its metadata if so.
func (s *S3) completedEarlier(ctx context.Context, key string, size int64, e store.Entry, state *store.MultipartState) (store.Entry, bool) {
	if numParts(size, state.PartSize) != len(state.Parts) {
		return store.Entry{}, false
	}
	st, err := s.Stat(ctx, key)
	if err != nil || st.Size != size {
		return store.Entry{}, false
	}
	// Just completed, it has the ETag its parts make; once its CRC was
	// added by a copy, a new ETag and that CRC.
	crc := combined(state.Parts)
	switch {
	case st.HasCRC:
		if st.CRC64 != crc {
			return store.Entry{}, false
		}
	case sameETag(st.ETag, multipartETag(state.Parts)):
	default:
		// Not every server gives a completed upload S3's ETag (the MD5 of
		// the parts' MD5s, "-", their count; gofakes3 gives the MD5 of
		// the whole): read the object to know whether it is this upload's.
		if got, err := s.crcOf(ctx, key, size); err != nil || got != crc {
			return store.Entry{}, false
		}
	}
	if !st.HasCRC {
		s.addCRC(ctx, key, size, st.ETag, e, crc)
	}
	st.CRC64, st.HasCRC = crc, true
	return st, true
}

// crcOf reads key whole and returns the CRC64 of its content, which must
// be size bytes.
func (s *S3) crcOf(ctx context.Context, key string, size int64) (uint64, error) {
	r, err := s.Open(ctx, key, 0, -1)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	h := store.NewCRC64()
	n, err := io.Copy(h, r)
	if err != nil {
		return 0, err
	}
	if n != size {
		return 0, fmt.Errorf("read %d bytes of %q, want %d", n, key, size)
	}
	return h.Sum64(), nil
}

// create starts a multipart upload with metadata m.
func (s *S3) create(ctx context.Context, key string, m objMeta) (string, error) {
	var id string
	err := s.do(ctx, key, func(ctx context.Context) (err error) {
		id, err = s.core.NewMultipartUpload(ctx, s.cfg.Bucket, s.fullKey(key), m.putOptions())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("creating a multipart upload: %w", err)
	}
	return id, nil
}

// abortOthers aborts the unfinished uploads of key other than id. They are
// earlier attempts at the same object that nothing will finish: one whose
// creation was retried because its reply was lost (the server made it, the
// client never learnt its ID), or one a crashed worker made before its
// state was saved with the task. Left alone they would cost storage until
// a lifecycle rule removed them. Only key itself is touched, not keys it
// is a prefix of; failures are ignored (the upload at hand does not need
// this).
func (s *S3) abortOthers(ctx context.Context, key, id string) {
	var others []string
	s.ListUploads(ctx, key, func(u store.Upload) error {
		if u.Key == key && u.UploadID != id {
			others = append(others, u.UploadID)
		}
		return nil
	})
	for _, o := range others {
		s.abortQuietly(ctx, key, o)
	}
}

// readPart reads n bytes from off of src into b, trying again when the
// source fails in a retryable way.
func (s *S3) readPart(ctx context.Context, src func(off, n int64) (io.ReadCloser, error), off, n int64, b *buffer) error {
	return s.retry.Do(ctx, func(int) error {
		b.release()
		rc, err := src(off, n)
		if err != nil {
			return err
		}
		defer rc.Close()
		if _, err := b.fill(rc, n); err != nil {
			return err
		}
		if b.n < n {
			return store.Permanent(fmt.Errorf("the source ended after %d of %d bytes (did it change?)", b.n, n))
		}
		return nil
	})
}

// uploadPart sends b as part n of upload id, with Content-MD5, and checks
// the returned ETag. With want (the source's digest of the part, read
// before), b must have its CRC64, and its MD5 is want's.
func (s *S3) uploadPart(ctx context.Context, key, id string, n int, b *buffer, want *store.PartDigest) (store.Part, error) {
	var d digests
	if want != nil {
		if crc := b.crc64(); b.n != want.Size || crc != want.CRC64 {
			return store.Part{}, store.Permanent(fmt.Errorf("read %d bytes with CRC64 %016x, but %d bytes with %016x before (did the source change?)",
				b.n, crc, want.Size, want.CRC64))
		}
		d = digestsOf(want.MD5[:], want.CRC64)
	} else {
		d = digestsOf(b.sums())
	}
	var op minio.ObjectPart
	err := s.do(ctx, key, func(ctx context.Context) (err error) {
		op, err = s.core.PutObjectPart(ctx, s.cfg.Bucket, s.fullKey(key), id, n, b.reader(), b.n,
			minio.PutObjectPartOptions{Md5Base64: d.md5b64, DisableContentSha256: true}) // see putOptions
		if err != nil {
			return err
		}
		if etag := strings.Trim(op.ETag, `"`); isMD5(etag) && !strings.EqualFold(etag, d.md5hex) {
			return store.Transient(fmt.Errorf("part %d: ETag %s is not the MD5 %s of the bytes sent", n, etag, d.md5hex))
		}
		return nil
	})
	if err != nil {
		return store.Part{}, err
	}
	return store.Part{Number: n, ETag: strings.Trim(op.ETag, `"`), CRC64: d.crc, Size: b.n}, nil
}

// finish completes the upload of state, whose parts make size bytes, and
// sees that the object's CRC64 is known to the server (see the comment at
// the top).
func (s *S3) finish(ctx context.Context, key string, size int64, e store.Entry, state *store.MultipartState) (store.Entry, error) {
	var total int64
	for i, p := range state.Parts {
		if p.Number != i+1 {
			return store.Entry{}, fmt.Errorf("part %d is missing", i+1)
		}
		total += p.Size
	}
	if total != size {
		return store.Entry{}, fmt.Errorf("the parts hold %d bytes, want %d", total, size)
	}
	crc := combined(state.Parts)
	if e.HasCRC && crc != e.CRC64 {
		s.abortQuietly(ctx, key, state.UploadID)
		*state = store.MultipartState{}
		return store.Entry{}, store.Permanent(fmt.Errorf("the CRC64 %016x of the bytes read is not the source's %016x: the source changed or was misread; upload aborted", crc, e.CRC64))
	}
	parts := make([]minio.CompletePart, len(state.Parts))
	for i, p := range state.Parts {
		parts[i] = minio.CompletePart{PartNumber: p.Number, ETag: p.ETag}
	}
	hctx, hdr := withHeaders(ctx)
	var info minio.UploadInfo
	err := s.do(hctx, key, func(ctx context.Context) (err error) {
		info, err = s.core.CompleteMultipartUpload(ctx, s.cfg.Bucket, s.fullKey(key), state.UploadID, parts, minio.PutObjectOptions{})
		return err
	})
	if errors.Is(err, store.ErrNotExist) && store.Attempts(err) > 1 {
		// An earlier attempt completed it, and its answer was lost.
		if ent, ok := s.completedEarlier(ctx, key, size, e, state); ok {
			return ent, nil
		}
	}
	if err != nil {
		return store.Entry{}, fmt.Errorf("completing upload %s: %w", state.UploadID, err)
	}
	etag := strings.Trim(info.ETag, `"`)
	if want := multipartETag(state.Parts); want != "" && strings.Contains(etag, "-") && !sameETag(etag, want) {
		return store.Entry{}, fmt.Errorf("the completed object's ETag %s is not %s, the one its parts make", etag, want)
	}
	if err := checkOSSCRC(hdr, crc); err != nil {
		return store.Entry{}, store.Permanent(err)
	}
	if !e.HasCRC && hdr.get("X-Oss-Hash-Crc64ecma") == "" {
		if ne := s.addCRC(ctx, key, size, etag, e, crc); ne != "" {
			etag = ne
		}
	}
	info.ETag = etag
	return s.landed(key, size, info, crc, e, s.metaOf(key, e, crc, true, "")), nil
}

// addCRC copies key onto itself, if it still has etag, with its metadata
// replaced by e's plus the CRC, and returns the new ETag ("" if it failed:
// the object is whole and verified, only its metadata lacks the CRC).
func (s *S3) addCRC(ctx context.Context, key string, size int64, etag string, e store.Entry, crc uint64) string {
	m := s.metaOf(key, e, crc, true, "")
	full := s.fullKey(key)
	var newETag string
	err := s.do(ctx, key, func(ctx context.Context) error {
		if size > maxCopySize {
			var err error
			newETag, err = s.copyLarge(ctx, full, size, etag, m)
			return err
		}
		info, err := s.core.CopyObject(ctx, s.cfg.Bucket, full, s.cfg.Bucket, full, m.headers(),
			minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: full, MatchETag: etag}, minio.PutObjectOptions{})
		newETag = info.ETag
		return err
	})
	if err != nil {
		return ""
	}
	return strings.Trim(newETag, `"`)
}

// copyLarge copies an object above maxCopySize onto itself with metadata
// m, by a multipart upload of server-side part copies.
func (s *S3) copyLarge(ctx context.Context, full string, size int64, etag string, m objMeta) (string, error) {
	id, err := s.core.NewMultipartUpload(ctx, s.cfg.Bucket, full, m.putOptions())
	if err != nil {
		return "", err
	}
	partSize := max(int64(copyPartSize), (size+MaxParts-1)/MaxParts)
	var parts []minio.CompletePart
	for n, off := 1, int64(0); off < size; n, off = n+1, off+partSize {
		p, err := s.core.CopyObjectPart(ctx, s.cfg.Bucket, full, s.cfg.Bucket, full, id, n, off, min(partSize, size-off),
			map[string]string{"x-amz-copy-source-if-match": etag})
		if err != nil {
			s.abortQuietly(ctx, full[len(s.cfg.Prefix):], id)
			return "", err
		}
		parts = append(parts, p)
	}
	info, err := s.core.CompleteMultipartUpload(ctx, s.cfg.Bucket, full, id, parts, minio.PutObjectOptions{})
	return info.ETag, err
}

// combined returns the CRC64 of the concatenated parts.
func combined(parts []store.Part) uint64 {
	var crc uint64
	for _, p := range parts {
		crc = store.CombineCRC64(crc, p.CRC64, p.Size)
	}
	return crc
}

// multipartETag returns the ETag S3 gives the object the parts make: the
// MD5 of their MD5s, "-" and their count; "" when a part's ETag is not an
// MD5.
func multipartETag(parts []store.Part) string {
	h := md5.New()
	for _, p := range parts {
		b, err := hex.DecodeString(strings.Trim(p.ETag, `"`))
		if err != nil || len(b) != md5.Size {
			return ""
		}
		h.Write(b)
	}
	return fmt.Sprintf("%x-%d", h.Sum(nil), len(parts))
}

func sameETag(a, b string) bool { return strings.EqualFold(strings.Trim(a, `"`), strings.Trim(b, `"`)) }

// AbortUpload abandons upload id of key. An upload that is gone is an
// error wrapping store.ErrNotExist.
func (s *S3) AbortUpload(ctx context.Context, key, uploadID string) error {
	err := s.do(ctx, key, func(ctx context.Context) error {
		return s.core.AbortMultipartUpload(ctx, s.cfg.Bucket, s.fullKey(key), uploadID)
	})
	if err != nil {
		return fmt.Errorf("abort upload %s of %q: %w", uploadID, key, err)
	}
	return nil
}

// abortQuietly aborts an upload that failed, even when ctx is cancelled,
// and ignores failures (the upload is then left to cleaning).
func (s *S3) abortQuietly(ctx context.Context, key, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	s.AbortUpload(ctx, key, id)
}

// ListUploads implements store.UploadLister.
func (s *S3) ListUploads(ctx context.Context, prefix string, fn func(store.Upload) error) error {
	keyMarker, idMarker := "", ""
	for {
		var res minio.ListMultipartUploadsResult
		err := s.do(ctx, "", func(ctx context.Context) (err error) {
			res, err = s.core.ListMultipartUploads(ctx, s.cfg.Bucket, s.fullKey(prefix), keyMarker, idMarker, "", 1000)
			return err
		})
		if err != nil {
			return fmt.Errorf("list uploads %q: %w", prefix, err)
		}
		for _, u := range res.Uploads {
			key, ok := strings.CutPrefix(u.Key, s.cfg.Prefix)
			if !ok || !strings.HasPrefix(key, prefix) {
				continue
			}
			if err := fn(store.Upload{Key: key, UploadID: u.UploadID, Initiated: u.Initiated}); err != nil {
				return err
			}
		}
		if !res.IsTruncated || (res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == idMarker) {
			return nil
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}
