package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"ferry/store"
)

// Put writes key from r as a block blob. Content up to
// Config.PutThreshold is sent in one request (Put Blob); larger content is
// staged as blocks of Config.BlockSize, one at a time, and committed at
// the end (Put Block List), so memory holds one block whatever the size,
// and a blob of many GiB needs no more. Either way the blob appears whole
// or not at all: a Put that fails before the commit leaves the old blob
// (its staged blocks are discarded by Azure after a week).
//
// What is verified: each request's body is sent with its MD5 (Put Blob's,
// each block's), which Azure checks on arrival, refusing (and the request
// is sent again) a body that arrived different. The MD5 of the whole
// content becomes the blob's Content-MD5, its CRC64 the ferry_crc64
// metadata, both known before the commit. The returned Entry carries the
// CRC64 of the bytes read from r, which are the bytes Azure acknowledged.
func (a *Azure) Put(ctx context.Context, key string, r io.Reader, e store.Entry, o store.PutOptions) (store.Entry, error) {
	if err := a.checkKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return store.Entry{}, err
	}
	buf, eof, err := fill(r, a.cfg.PutThreshold+1)
	if err != nil {
		return store.Entry{}, fmt.Errorf("put %q: reading the source: %w", key, err)
	}
	if !eof || int64(len(buf)) > a.cfg.PutThreshold {
		return a.putBlocks(ctx, key, buf, r, e)
	}
	sum := md5.Sum(buf)
	crc := store.UpdateCRC64(0, buf)
	hdr, meta := a.metaOf(key, e, crc, sum[:])
	bb := a.cc.NewBlockBlobClient(a.fullKey(key))
	var resp blockblob.UploadResponse
	err = a.do(ctx, key, func(ctx context.Context) (err error) {
		resp, err = bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(buf)), &blockblob.UploadOptions{
			HTTPHeaders: hdr, Metadata: meta, TransactionalValidation: blob.TransferValidationTypeMD5(sum[:])})
		return err
	})
	if err != nil {
		return store.Entry{}, fmt.Errorf("put %q: %w", key, err)
	}
	return landed(key, int64(len(buf)), crc, e, hdr, meta, resp.ETag, resp.LastModified), nil
}

// putBlocks stages first (what Put read) and then the rest of r as blocks,
// and commits them.
func (a *Azure) putBlocks(ctx context.Context, key string, first []byte, r io.Reader, e store.Entry) (store.Entry, error) {
	bb := a.cc.NewBlockBlobClient(a.fullKey(key))
	// Block IDs are unique to this Put (a random token), so that another
	// writer's uncommitted blocks of the same blob never mix with these.
	var token [12]byte
	rand.Read(token[:])
	src := io.MultiReader(bytes.NewReader(first), r)
	var ids []string
	var size int64
	var crc uint64
	whole := md5.New()
	for n := 0; ; n++ {
		block, eof, err := fill(src, a.cfg.BlockSize)
		if err != nil {
			return store.Entry{}, fmt.Errorf("put %q: reading the source: %w", key, err)
		}
		if len(block) == 0 && n > 0 {
			break
		}
		if n >= MaxBlocks {
			return store.Entry{}, fmt.Errorf("put %q: more than %d blocks of %d bytes: raise multipartUploadPartSize", key, MaxBlocks, a.cfg.BlockSize)
		}
		id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "ferry-%x-%06d", token, n))
		sum := md5.Sum(block)
		err = a.do(ctx, key, func(ctx context.Context) error {
			_, err := bb.StageBlock(ctx, id, streaming.NopCloser(bytes.NewReader(block)),
				&blockblob.StageBlockOptions{TransactionalValidation: blob.TransferValidationTypeMD5(sum[:])})
			return err
		})
		if err != nil {
			return store.Entry{}, fmt.Errorf("put %q: block %d: %w", key, n, err)
		}
		ids = append(ids, id)
		size += int64(len(block))
		crc = store.UpdateCRC64(crc, block)
		whole.Write(block)
		if eof {
			break
		}
	}
	hdr, meta := a.metaOf(key, e, crc, sumOf(whole))
	var resp blockblob.CommitBlockListResponse
	err := a.do(ctx, key, func(ctx context.Context) (err error) {
		resp, err = bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{HTTPHeaders: hdr, Metadata: meta})
		return err
	})
	if err != nil {
		return store.Entry{}, fmt.Errorf("put %q: committing %d blocks: %w", key, len(ids), err)
	}
	return landed(key, size, crc, e, hdr, meta, resp.ETag, resp.LastModified), nil
}

func sumOf(h hash.Hash) []byte { return h.Sum(nil) }

// fill reads up to n bytes of r; eof says r ended.
func fill(r io.Reader, n int64) ([]byte, bool, error) {
	var b bytes.Buffer
	_, err := io.CopyN(&b, r, n)
	switch {
	case err == io.EOF:
		return b.Bytes(), true, nil
	case err != nil:
		return nil, false, err
	}
	return b.Bytes(), false, nil
}

// metaOf returns the blob's HTTP headers and metadata for key: e.Meta, a
// guessed content type, the MD5 and ferry's own metadata.
func (a *Azure) metaOf(key string, e store.Entry, crc uint64, sum []byte) (*blob.HTTPHeaders, map[string]*string) {
	std := map[string]string{}
	meta := map[string]*string{}
	for k, v := range e.Meta {
		if name, ok := strings.CutPrefix(k, store.MetaUserPrefix); ok {
			if name = metaName(name); name != "" && !strings.HasPrefix(name, "ferry_") {
				meta[name] = ptr(v)
			}
			continue
		}
		std[k] = v
	}
	ct := std[store.MetaContentType]
	if ct == "" {
		ct = store.GuessContentType(key)
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	opt := func(s string) *string {
		if s == "" {
			return nil
		}
		return &s
	}
	hdr := &blob.HTTPHeaders{BlobContentType: &ct, BlobContentMD5: sum,
		BlobCacheControl: opt(std[store.MetaCacheControl]), BlobContentDisposition: opt(std[store.MetaContentDisposition]),
		BlobContentEncoding: opt(std[store.MetaContentEncoding]), BlobContentLanguage: opt(std[store.MetaContentLanguage])}
	meta[crcMeta] = ptr(fmt.Sprintf("%016x", crc))
	if !e.MTime.IsZero() {
		meta[mtimeMeta] = ptr(strconv.FormatInt(e.MTime.UnixNano(), 10))
	}
	return hdr, meta
}

// metaName turns a user metadata name into one Azure takes (a C#
// identifier: letters, digits and '_', not starting with a digit), in
// lower case: other characters become '_'.
func metaName(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' {
		b = append([]byte{'_'}, b...)
	}
	return string(b)
}

// landed returns the Entry Put reports.
func landed(key string, size int64, crc uint64, e store.Entry, hdr *blob.HTTPHeaders, meta map[string]*string,
	etag *azcore.ETag, mtime *time.Time) store.Entry {
	p := props{size: size, etag: etagOf(etag), mtime: deref(mtime), md5: hdr.BlobContentMD5, contentType: hdr.BlobContentType,
		cacheControl: hdr.BlobCacheControl, encoding: hdr.BlobContentEncoding, disposition: hdr.BlobContentDisposition,
		language: hdr.BlobContentLanguage, meta: meta, hasHeaders: true}
	ent := p.entry(key)
	ent.CRC64, ent.HasCRC = crc, true
	if !e.MTime.IsZero() {
		ent.MTime = e.MTime
	}
	if ent.MTime.IsZero() {
		ent.MTime = time.Now()
	}
	return ent
}
