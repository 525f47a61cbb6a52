package s3

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"io"
	"sync"

	"ferry/internal/md5lanes"
	"ferry/store"
)

// chunkSize is the unit of the memory Put and part uploads hold: a buffer
// grows by chunks, so a small object costs one chunk, not PutThreshold.
const chunkSize = 1 << 20

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// buffer holds bytes to send, so that each attempt sends the same bytes
// and their MD5 (for Content-MD5) is known before the first.
type buffer struct {
	chunks []*[]byte
	n      int64
}

// fill reads from r until it has limit bytes or r ends, and reports
// whether r ended.
func (b *buffer) fill(r io.Reader, limit int64) (eof bool, err error) {
	for b.n < limit {
		i, used := int(b.n/chunkSize), int(b.n%chunkSize)
		if i == len(b.chunks) {
			b.chunks = append(b.chunks, chunkPool.Get().(*[]byte))
		}
		c := (*b.chunks[i])[used:min(chunkSize, used+int(limit-b.n))]
		k, err := r.Read(c)
		b.n += int64(k)
		switch {
		case err == io.EOF:
			return true, nil
		case err != nil:
			return false, err
		}
	}
	return false, nil
}

// ReadAt reads from the buffered bytes.
func (b *buffer) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) && off < b.n {
		c := (*b.chunks[off/chunkSize])[off%chunkSize : min(chunkSize, off%chunkSize+b.n-off)]
		k := copy(p[n:], c)
		n += k
		off += int64(k)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// reader returns a new reader of the buffered bytes (one per attempt).
func (b *buffer) reader() *io.SectionReader { return io.NewSectionReader(b, 0, b.n) }

// sums returns the MD5 (raw) and CRC64 of the buffered bytes, hashed in
// place (an io.Copy cost a 32 KiB buffer per object). Buffers of a chunk
// or more (parts, large single PUTs) are hashed in md5lanes, beside any
// other hashed at the same time; small ones by crypto/md5, which costs no
// hand-off.
func (b *buffer) sums() (md5sum []byte, crc uint64) {
	var m hash.Hash
	if b.n >= chunkSize {
		h := md5lanes.New()
		defer h.Close()
		m = h
	} else {
		m = md5.New()
	}
	for i, c := range b.chunks {
		p := (*c)[:min(chunkSize, b.n-int64(i)*chunkSize)]
		m.Write(p)
		crc = store.UpdateCRC64(crc, p)
	}
	return m.Sum(nil), crc
}

// crc64 returns the CRC64 of the buffered bytes.
func (b *buffer) crc64() (crc uint64) {
	for i, c := range b.chunks {
		crc = store.UpdateCRC64(crc, (*c)[:min(chunkSize, b.n-int64(i)*chunkSize)])
	}
	return crc
}

// release gives the chunks back; the buffer is empty again.
func (b *buffer) release() {
	for _, c := range b.chunks {
		chunkPool.Put(c)
	}
	b.chunks, b.n = nil, 0
}

// digests of a sent body, in the forms S3 uses.
type digests struct {
	md5hex, md5b64 string
	crc            uint64
}

func digestsOf(md5sum []byte, crc uint64) digests {
	return digests{hex.EncodeToString(md5sum), base64.StdEncoding.EncodeToString(md5sum), crc}
}

// isMD5 reports whether an ETag (without quotes) is a plain MD5: true of
// single PUTs and parts on S3 and OSS, false with some encryption modes
// and on providers with their own ETags (Qiniu), where only the server's
// Content-MD5 check stands.
func isMD5(etag string) bool {
	if len(etag) != 32 {
		return false
	}
	_, err := hex.DecodeString(etag)
	return err == nil
}
