package s3

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
)

// The first GET of a whole object, the one request a small object's copy
// makes, goes out without minio-go's request machinery: built here, signed
// here with Signature V4 (the signing key derived once a day instead of
// once a request) and sent through the same transport. In minio-go that
// request cost a small object's download a fifth of its client CPU beyond
// the HTTP exchange itself (request building, bucket-name checks, the
// signing key, the response's metadata parsed twice). Ranges, resumes,
// requests pinned to an ETag and every answer but 200 go through minio-go
// as before, so its error handling stays the only one: a fast GET that
// does not get a 200 is made again there.

// emptySHA256 is the SHA-256 of an empty payload, a GET's.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// fastGet is how the store sends a whole-object GET itself: where objects
// are (scheme, host and the path before the key, as minio-go addresses
// this bucket), the region and keys to sign with, and the signing key of
// the day.
type fastGet struct {
	scheme, host string
	base         string // escaped path before the key: "/bucket/" (path style) or "/"
	region       string
	access       string
	secret       string
	key          atomic.Pointer[dayKey]
}

// dayKey is Signature V4's signing key for one day (UTC, yyyymmdd), with
// that day's credential scope and HMACs keyed with it.
type dayKey struct {
	day   string
	key   []byte
	scope string    // day/region/s3/aws4_request
	macs  sync.Pool // of hash.Hash: HMAC-SHA256 with key
}

// fastGetter returns the store's fastGet, set up on the first call: nil
// when there is none (anonymous access, or minio-go could not say where the
// bucket is).
func (s *S3) fastGetter(ctx context.Context) *fastGet {
	s.fastOnce.Do(func() {
		if s.cfg.AccessKey == "" || s.cfg.SecretKey == "" {
			return
		}
		region := s.cfg.Region
		if region == "" {
			r, err := s.client.GetBucketLocation(ctx, s.cfg.Bucket) // cached since New's probe
			if err != nil {
				return
			}
			region = r
		}
		// Where minio-go sends a request for an object: its own URL for a
		// key, cut before the key.
		const probe = "ferry-probe"
		u, err := s.client.PresignedGetObject(ctx, s.cfg.Bucket, probe, time.Minute, nil)
		if err != nil {
			return
		}
		base, ok := strings.CutSuffix(u.EscapedPath(), probe)
		if !ok || !strings.HasSuffix(base, "/") {
			return
		}
		s.fast = &fastGet{scheme: u.Scheme, host: u.Host, base: base, region: region,
			access: s.cfg.AccessKey, secret: s.cfg.SecretKey}
	})
	return s.fast
}

// get sends a GET of the whole object at full (the key in the bucket) and
// returns the response of a 200; any other answer, or a failure to get
// one, is errFastMiss (after the body is closed), for minio-go to ask again.
func (g *fastGet) get(ctx context.Context, rt http.RoundTripper, full string) (*http.Response, error) {
	path := g.base + escapePath(full)
	resp, err := g.send(ctx, rt, &url.URL{Scheme: g.scheme, Host: g.host, Path: g.base + full, RawPath: path}, path, "")
	if err != nil {
		return nil, errFastMiss
	}
	// The bytes as stored: a body the transport decompressed (it does
	// not: minio-go's transport disables compression) would be copied
	// decompressed.
	if resp.StatusCode != http.StatusOK || resp.ContentLength < 0 || resp.Uncompressed {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // an error's XML: keep the connection
		resp.Body.Close()
		return nil, errFastMiss
	}
	return resp, nil
}

// send sends a GET of u, signed for the escaped path and the canonical
// query (both as u has them), through rt.
func (g *fastGet) send(ctx context.Context, rt http.RoundTripper, u *url.URL, path, query string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "", nil)
	if err != nil {
		return nil, err
	}
	req.URL, req.Host = u, g.host
	g.sign(req, path, query, time.Now().UTC())
	return rt.RoundTrip(req)
}

// errFastMiss is a fast GET that did not get a 200.
var errFastMiss = errors.New("fast GET missed")

// sign adds Signature V4 headers to req, a GET with an empty payload of
// the escaped path and the canonical (sorted, escaped) query, signing
// Host, X-Amz-Content-Sha256 and X-Amz-Date (AWS's Signature Version 4
// for S3, header-based). It builds the canonical request, the string to
// sign and the header in one pooled buffer.
func (g *fastGet) sign(req *http.Request, path, query string, now time.Time) {
	bp := signBufs.Get().(*[]byte)
	defer signBufs.Put(bp)
	b := now.AppendFormat((*bp)[:0], "20060102T150405Z")
	date := string(b)
	k := g.signingKey(date[:8])
	req.Header["X-Amz-Date"] = []string{date}
	req.Header["X-Amz-Content-Sha256"] = []string{emptySHA256}
	b = append(b[:0], "GET\n"...)
	b = append(b, path...)
	b = append(b, '\n')
	b = append(b, query...)
	b = append(b, "\nhost:"...)
	b = append(b, g.host...)
	b = append(b, "\nx-amz-content-sha256:"+emptySHA256+"\nx-amz-date:"...)
	b = append(b, date...)
	b = append(b, "\n\nhost;x-amz-content-sha256;x-amz-date\n"+emptySHA256...)
	canonical := sha256.Sum256(b)
	b = append(b[:0], "AWS4-HMAC-SHA256\n"...)
	b = append(b, date...)
	b = append(b, '\n')
	b = append(b, k.scope...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, canonical[:])
	mac := k.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(b)
	var sig [sha256.Size]byte
	mac.Sum(sig[:0])
	k.macs.Put(mac)
	b = append(b[:0], "AWS4-HMAC-SHA256 Credential="...)
	b = append(b, g.access...)
	b = append(b, '/')
	b = append(b, k.scope...)
	b = append(b, ", SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="...)
	b = hex.AppendEncode(b, sig[:])
	req.Header["Authorization"] = []string{string(b)}
	*bp = b
}

// signBufs are sign's buffers.
var signBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// signingKey returns Signature V4's signing key for day, derived once.
func (g *fastGet) signingKey(day string) *dayKey {
	if k := g.key.Load(); k != nil && k.day == day {
		return k
	}
	sum := func(key []byte, data string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(data))
		return m.Sum(nil)
	}
	k := &dayKey{day: day, scope: day + "/" + g.region + "/s3/aws4_request"}
	k.key = sum(sum(sum(sum([]byte("AWS4"+g.secret), day), g.region), "s3"), "aws4_request")
	k.macs.New = func() any { return hmac.New(sha256.New, k.key) }
	g.key.Store(k)
	return k
}

// escapePath escapes an object key for a request's path as Signature V4
// wants it: every byte but A-Z, a-z, 0-9, '-', '.', '_', '~' and '/' as %XX.
func escapePath(key string) string {
	n := 0
	for i := 0; i < len(key); i++ {
		if !unreserved(key[i]) {
			n++
		}
	}
	if n == 0 {
		return key
	}
	const hexDigits = "0123456789ABCDEF"
	b := make([]byte, 0, len(key)+2*n)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if unreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hexDigits[c>>4], hexDigits[c&15])
		}
	}
	return string(b)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~' || c == '/'
}

// infoOf is what minio-go's ObjectInfo holds of a 200's headers that
// entryOf uses: size, Last-Modified and ETag.
func infoOf(resp *http.Response) minio.ObjectInfo {
	info := minio.ObjectInfo{Size: resp.ContentLength, ETag: strings.Trim(resp.Header.Get("ETag"), `"`)}
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		info.LastModified = t
	}
	return info
}

// fastState is the part of S3 the fast GET keeps (s3.go's S3 embeds it).
type fastState struct {
	fastOnce sync.Once
	fast     *fastGet
	// Whole-object GETs answered by the fast GET, and those it handed to
	// minio-go; listing pages read by the fast listing (tests).
	fastHits, fastMisses, fastPages atomic.Int64
}
