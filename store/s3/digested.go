package s3

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"ferry/store"
)

var _ store.DigestPutter = (*S3)(nil)

// PutDigested implements store.DigestPutter: one PUT whose body is read
// from src as it is sent, with the MD5 of d as Content-MD5, so that a
// medium file costs no memory for its body (Put holds a whole body to
// learn its MD5 before sending it). What is verified is what Put verifies
// (the server's check of Content-MD5, the ETag against the MD5, OSS's
// CRC64 when it answers one), and besides, as the body is read, that its
// bytes have d's size and CRC64: a source that changed since it was
// digested fails the body before its last byte, so the server never
// completes it. Each attempt reads the source again from a new src().
func (s *S3) PutDigested(ctx context.Context, key string, src func() (io.ReadCloser, error), d store.PartDigest, e store.Entry) (store.Entry, error) {
	if err := s.checkKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return store.Entry{}, err
	}
	if d.Size > maxPutDigested {
		return store.Entry{}, fmt.Errorf("put %q: %d bytes in one request: more than %d", key, d.Size, int64(maxPutDigested))
	}
	sums := digestsOf(d.MD5[:], d.CRC64)
	m := s.metaOf(key, e, d.CRC64, true, sums.md5hex)
	opts := m.putOptions()
	hctx, hdr := withHeaders(ctx)
	var info minio.UploadInfo
	var sent uint64
	err := s.do(hctx, key, func(ctx context.Context) error {
		rc, err := src()
		if err != nil {
			return store.Permanent(fmt.Errorf("reading the source: %w", err))
		}
		defer rc.Close()
		body := &checkedBody{r: rc, want: d}
		info, err = s.core.PutObject(ctx, s.cfg.Bucket, s.fullKey(key), body, d.Size, sums.md5b64, "", opts)
		if body.err != nil {
			// The source's own failure, or bytes unlike the digest:
			// sending again would not help.
			return store.Permanent(body.err)
		}
		if err != nil {
			return err
		}
		if !body.done() {
			return store.Permanent(fmt.Errorf("the server answered after %d of %d bytes of the body", body.n, d.Size))
		}
		if etag := strings.Trim(info.ETag, `"`); isMD5(etag) && !strings.EqualFold(etag, sums.md5hex) {
			return store.Transient(fmt.Errorf("the stored object's ETag %s is not the MD5 %s of the bytes sent", etag, sums.md5hex))
		}
		sent = body.crc
		return checkOSSCRC(hdr, body.crc)
	})
	if err != nil {
		return store.Entry{}, fmt.Errorf("put %q: %w", key, err)
	}
	return confirmed(s.landed(key, d.Size, info, sent, e, m)), nil
}

// maxPutDigested is the largest body PutDigested sends in one request:
// S3's limit of a single PUT.
const maxPutDigested = 5 << 30

// checkedBody reads a body from r and checks, on the read that brings its
// last byte, that the bytes have want's size and CRC64: when they do not,
// that read returns no bytes and an error, so the request never sends a
// whole body the server could store.
type checkedBody struct {
	r    io.Reader
	want store.PartDigest
	n    int64
	crc  uint64
	err  error
}

func (b *checkedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if rest := b.want.Size - b.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	if len(p) == 0 {
		return 0, io.EOF
	}
	k, err := b.r.Read(p)
	crc := store.UpdateCRC64(b.crc, p[:k])
	switch n := b.n + int64(k); {
	case n == b.want.Size && crc != b.want.CRC64:
		b.err = fmt.Errorf("read %d bytes with CRC64 %016x, but %016x before (did the source change?)", n, crc, b.want.CRC64)
		return 0, b.err
	case err == io.EOF && n < b.want.Size:
		b.err = fmt.Errorf("the source ended after %d of %d bytes (did it change?)", n, b.want.Size)
		return 0, b.err
	case err != nil && err != io.EOF:
		b.err = err
		return 0, err
	}
	b.n, b.crc = b.n+int64(k), crc
	if b.n == b.want.Size {
		return k, io.EOF
	}
	return k, nil
}

// done reports whether the whole body was read, and checked.
func (b *checkedBody) done() bool { return b.n == b.want.Size && b.err == nil }
