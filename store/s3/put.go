package s3

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"ferry/store"
)

// Put writes key from r. Content up to Config.PutThreshold is held in
// memory and sent in one PUT; larger content is sent as a multipart upload
// of Config.PartSize parts, one at a time (use PutMultipart to send parts
// in parallel and to resume). Either way the object appears whole or not
// at all.
//
// What is verified, for each PUT of a whole object or of a part:
//   - the MD5 of the exact bytes sent is computed before sending them and
//     sent as Content-MD5: the server refuses (BadDigest, retried) a body
//     that arrived different, so a body corrupted on the way never lands;
//   - the ETag the server returns is compared with that MD5, when it is a
//     plain MD5 (S3 and OSS; not with SSE-KMS, nor Qiniu's own ETags);
//   - for a multipart upload, the ETag of the whole object is compared with
//     the MD5 of the parts' MD5s, as S3 computes it;
//   - when the response carries OSS's x-oss-hash-crc64ecma, it must equal
//     the CRC64 of the bytes sent.
//
// The returned Entry carries the CRC64 of the bytes read from r, which are
// the bytes the server acknowledged (above): the caller compares it with
// the CRC it computed from the source. Nothing is read back. A single PUT
// whose ETag is an MD5 (checked equal to the bytes') returns its Entry
// Confirmed; a multipart one does not.
//
// Of e, MTime is stored as x-amz-meta-ferry-mtime and Meta as the object's
// metadata (its content-type defaulting to one guessed from the key's
// extension). Objects are written whole, with no temporary names: o has
// nothing for them.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, e store.Entry, o store.PutOptions) (store.Entry, error) {
	if err := s.checkKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return store.Entry{}, err
	}
	var b buffer
	defer b.release()
	eof, err := b.fill(r, s.cfg.PutThreshold+1)
	if err != nil {
		return store.Entry{}, fmt.Errorf("put %q: reading the source: %w", key, err)
	}
	if !eof || b.n > s.cfg.PutThreshold {
		return s.putStream(ctx, key, &b, r, e)
	}
	md5sum, crc := b.sums()
	d := digestsOf(md5sum, crc)
	m := s.metaOf(key, e, d.crc, true, d.md5hex)
	hctx, hdr := withHeaders(ctx)
	var info minio.UploadInfo
	opts := m.putOptions()
	err = s.do(hctx, key, func(ctx context.Context) (err error) {
		info, err = s.core.PutObject(ctx, s.cfg.Bucket, s.fullKey(key), b.reader(), b.n, d.md5b64, "", opts)
		if err != nil {
			return err
		}
		if etag := strings.Trim(info.ETag, `"`); isMD5(etag) && !strings.EqualFold(etag, d.md5hex) {
			return store.Transient(fmt.Errorf("the stored object's ETag %s is not the MD5 %s of the bytes sent", etag, d.md5hex))
		}
		return checkOSSCRC(hdr, d.crc)
	})
	if err != nil {
		return store.Entry{}, fmt.Errorf("put %q: %w", key, err)
	}
	return confirmed(s.landed(key, b.n, info, crc, e, m)), nil
}

// confirmed marks the entry of a single PUT Confirmed when its ETag is a
// plain MD5: the caller checked that it is the MD5 of the bytes sent,
// which the server checked the body against (Content-MD5), so it says
// what the server stored.
func confirmed(e store.Entry) store.Entry {
	e.Confirmed = isMD5(e.ETag)
	return e
}

// landed returns the Entry Put reports.
func (s *S3) landed(key string, size int64, info minio.UploadInfo, crc uint64, e store.Entry, m objMeta) store.Entry {
	mtime := e.MTime
	if mtime.IsZero() {
		mtime = info.LastModified
	}
	if mtime.IsZero() {
		mtime = time.Now()
	}
	return store.Entry{Key: key, Size: size, MTime: mtime, ETag: strings.Trim(info.ETag, `"`),
		CRC64: crc, HasCRC: true, Kind: store.File, Meta: m.entryMeta()}
}

// checkOSSCRC compares the CRC64 OSS computed of what it stored, when it
// said, with crc.
func checkOSSCRC(hdr *headers, crc uint64) error {
	v := hdr.get("X-Oss-Hash-Crc64ecma")
	if v == "" {
		return nil
	}
	got, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return fmt.Errorf("x-oss-hash-crc64ecma %q: %w", v, err)
	}
	if got != crc {
		return store.Transient(fmt.Errorf("the server's CRC64 %016x of the stored object is not the CRC64 %016x of the bytes sent", got, crc))
	}
	return nil
}

// objMeta is the metadata written with an object.
type objMeta struct {
	std  map[string]string // store.MetaHeaders names -> value
	user map[string]string // user metadata, names without x-amz-meta-
}

// metaOf returns the metadata to write for key: e.Meta, a guessed
// content-type, and ferry's own (CRC64 when hasCRC, mtime, MD5 when known).
func (s *S3) metaOf(key string, e store.Entry, crc uint64, hasCRC bool, md5hex string) objMeta {
	m := objMeta{std: map[string]string{}, user: map[string]string{}}
	for k, v := range e.Meta {
		switch name, ok := strings.CutPrefix(k, store.MetaUserPrefix); {
		case ok && !strings.HasPrefix(name, "ferry-"):
			m.user[name] = v
		case !ok:
			m.std[k] = v
		}
	}
	if m.std[store.MetaContentType] == "" {
		m.std[store.MetaContentType] = store.GuessContentType(key)
	}
	if m.std[store.MetaContentType] == "" {
		m.std[store.MetaContentType] = "application/octet-stream"
	}
	if hasCRC {
		m.user["ferry-crc64"] = fmt.Sprintf("%016x", crc)
	}
	if !e.MTime.IsZero() {
		m.user["ferry-mtime"] = strconv.FormatInt(e.MTime.UnixNano(), 10)
	}
	if md5hex != "" {
		m.user["ferry-md5"] = md5hex
	}
	return m
}

// putOptions returns m as minio-go's options of a PUT or a new upload.
func (m objMeta) putOptions() minio.PutObjectOptions {
	o := minio.PutObjectOptions{
		UserMetadata:       m.user,
		ContentType:        m.std[store.MetaContentType],
		CacheControl:       m.std[store.MetaCacheControl],
		ContentDisposition: m.std[store.MetaContentDisposition],
		ContentEncoding:    m.std[store.MetaContentEncoding],
		ContentLanguage:    m.std[store.MetaContentLanguage],
	}
	// The body is signed as UNSIGNED-PAYLOAD: Content-MD5 already makes
	// the server check it, and over plain HTTP minio-go would otherwise
	// hash it with SHA-256 too and sign it chunk by chunk (aws-chunked),
	// which costs CPU and which several S3-compatible servers mishandle.
	o.DisableContentSha256 = true
	if t, err := http.ParseTime(m.std[store.MetaExpires]); err == nil {
		o.Expires = t
	}
	return o
}

// headers returns m as the headers of a copy that replaces the metadata.
func (m objMeta) headers() map[string]string {
	h := map[string]string{"x-amz-metadata-directive": "REPLACE"}
	for k, v := range m.std {
		if v != "" {
			h[k] = v
		}
	}
	for k, v := range m.user {
		h["x-amz-meta-"+k] = v
	}
	return h
}

// entryMeta returns m as Entry.Meta.
func (m objMeta) entryMeta() map[string]string {
	out := map[string]string{}
	for k, v := range m.std {
		if v != "" {
			out[k] = v
		}
	}
	for k, v := range m.user {
		if !strings.HasPrefix(k, "ferry-") {
			out[store.MetaUserPrefix+strings.ToLower(k)] = v
		}
	}
	return out
}

// putStream sends content larger than PutThreshold as a multipart upload:
// first what b holds, then the rest of r, in PartSize parts sent one at a
// time. Its CRC64 is known only at the end, so it is stored by a copy of
// the object onto itself (see finish). A failure aborts the upload; success
// aborts the key's other uploads.
func (s *S3) putStream(ctx context.Context, key string, b *buffer, r io.Reader, e store.Entry) (store.Entry, error) {
	src := io.MultiReader(b.reader(), r)
	u, err := s.create(ctx, key, s.metaOf(key, e, 0, false, ""))
	if err != nil {
		return store.Entry{}, fmt.Errorf("put %q: %w", key, err)
	}
	state := &store.MultipartState{UploadID: u, PartSize: s.cfg.PartSize}
	var size int64
	var part buffer
	defer part.release()
	for n := 1; ; n++ {
		part.release()
		eof, err := part.fill(src, s.cfg.PartSize)
		if err == nil && part.n == 0 && n > 1 {
			break
		}
		if err == nil && n > MaxParts {
			err = fmt.Errorf("more than %d parts of %d bytes: use PutMultipart with a larger part size", MaxParts, s.cfg.PartSize)
		}
		var p store.Part
		if err == nil {
			p, err = s.uploadPart(ctx, key, u, n, &part, nil)
		} else {
			err = fmt.Errorf("reading the source: %w", err)
		}
		if err != nil {
			s.abortQuietly(ctx, key, u)
			return store.Entry{}, fmt.Errorf("put %q: %w", key, err)
		}
		state.Parts = append(state.Parts, p)
		size += part.n
		if eof {
			break
		}
	}
	ent, err := s.finish(ctx, key, size, e, state)
	if err != nil {
		s.abortQuietly(ctx, key, u)
		return store.Entry{}, fmt.Errorf("put %q: %w", key, err)
	}
	// Nothing saves a streamed upload, so the key's other uploads are
	// orphans of earlier attempts, or a stale attempt still running that
	// would overwrite this object: aborted now, not at the start, when
	// this one could still fail and the other be the attempt that counts.
	s.abortOthers(ctx, key, u)
	return ent, nil
}
