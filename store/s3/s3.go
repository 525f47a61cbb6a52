// Package s3 is the Store backend for S3-protocol object stores: AWS S3 and
// the providers ossimport names as srcType/destType s3, oss, cos, bos, ks3
// and qiniu, through their S3-compatible endpoints, with minio-go.
//
// Keys are relative to Config.Prefix inside the bucket (a byte prefix, as
// ossimport's srcPrefix/destPrefix). Between object stores a key is just a
// key: "a//b", "./x", "../y", "/lead" or "dir/" are names of objects like
// any other, copied exactly (to a directory they fail, named, with
// store.ErrInvalidKey: the local store refuses them). What no object can
// be named is refused before any request, for reads and writes alike
// (checkKey): an empty key, a NUL byte, bytes that are not UTF-8, a key of
// blanks only, and a key (with the prefix) longer than S3's 1,024 bytes.
// An empty object whose key ends with '/' is a directory marker, which
// List reports as store.Special.
//
// What is written with each object, as user metadata:
//
//	x-amz-meta-ferry-crc64  CRC64-ECMA of the content, 16 hex digits
//	x-amz-meta-ferry-mtime  source mtime, unix nanoseconds (when known)
//	x-amz-meta-ferry-md5    MD5 of the content, hex (single PUTs)
//
// plus Content-Type (from the source's metadata, else guessed from the
// extension), Cache-Control, Content-Disposition, Content-Encoding,
// Content-Language, Expires and the source's own user metadata (Entry.Meta).
// Stat reports them back: the CRC (HasCRC) from OSS's own
// x-oss-hash-crc64ecma when present, else from ferry's metadata; the mtime
// from ferry's metadata, else Last-Modified. List reports what a listing
// holds: size, Last-Modified and ETag, no CRC.
//
// Every request is retried by store.RetryPolicy (429, 5xx, SlowDown, cut
// connections, corrupted bodies), never the permanent failures (403, 404);
// minio-go's own retries are off so the attempts can be counted. Readers
// from Open resume after a cut connection, or a body that stalled for
// Config.Timeouts.Idle, where they stopped, pinned to the object's ETag.
//
// See put.go for what Put verifies, multipart.go for multipart uploads, and
// get.go for the whole-object GET sent without minio-go.
package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"ferry/store"
)

var (
	_ store.Store           = (*S3)(nil)
	_ store.Deleter         = (*S3)(nil)
	_ store.MultipartPutter = (*S3)(nil)
	_ store.UploadLister    = (*S3)(nil)
)

func init() {
	// minio-go's retries are off (MaxRetries 1: RetryPolicy retries and
	// counts), but its retry loop still sleeps 0-400 ms after the only
	// attempt when it failed in a retryable way. Only this package uses
	// minio-go in ferry, so its delay unit is set to nothing.
	minio.DefaultRetryUnit, minio.DefaultRetryCap = 0, 0
}

// Config says where a store is and how to reach it.
type Config struct {
	// Endpoint is host[:port], optionally with a scheme: "http://" means
	// no TLS; no scheme means https. It must not hold the bucket.
	Endpoint  string
	Bucket    string
	Prefix    string // root of the store in the bucket: keys are relative to it
	AccessKey string
	SecretKey string
	Region    string // empty: asked of the server
	PathStyle bool   // path-style requests instead of virtual-host style
	// Provider is ossimport's srcType/destType (s3, oss, cos, bos, ks3,
	// qiniu): it only makes error messages more helpful.
	Provider string
	// Role is "src" or "dest": error messages name the job.cfg keys to
	// check (srcAccessKey, destBucket, ...). Empty means "src".
	Role string
	// Transport carries the requests (tests); nil means a default one,
	// with the deadlines of Timeouts.
	Transport http.RoundTripper
	// Timeouts are the network deadlines (zero fields: the defaults).
	// Connect, TLS and Header apply to the default Transport; Idle, the
	// longest a read of an object's body may wait for a byte, to any.
	Timeouts store.Timeouts
	// MaxRetries is the number of retries after a failed attempt; 0 means
	// store.DefaultRetry's, negative means none.
	MaxRetries int
	// RetryBase is the delay before the first retry; 0 means
	// store.DefaultRetry's.
	RetryBase time.Duration
	// PutThreshold is the largest content Put sends in a single PUT; a
	// larger one becomes a multipart upload of PartSize parts. 0 means
	// DefaultPutThreshold. Put holds up to this much in memory.
	PutThreshold int64
	// PartSize is the default part size of multipart uploads; 0 means
	// DefaultPartSize.
	PartSize int64
	// NoList says the store is never listed (a source read from a key
	// list or an inventory): New checks the keys and the bucket with a
	// HEAD of the bucket rather than a listing request, which such a job
	// may not be allowed, and must not cost.
	NoList bool
}

// Defaults of Config.
const (
	DefaultPutThreshold = 32 << 20
	DefaultPartSize     = 8 << 20
	MinPartSize         = 5 << 20       // S3's least part size (but the last)
	MaxParts            = 10000         // S3's most parts in an upload
	maxCopySize         = 5 << 30       // largest single server-side copy
	copyPartSize        = 1 << 30       // part of a multipart server-side copy
	listPage            = 1000          // keys asked per listing request
	maxKeyLen           = 1024          // S3's longest key, in bytes
	defaultRole         = "src"         // Config.Role when empty
	crcMetaKey          = "Ferry-Crc64" // minio-go's canonical user metadata names
	mtimeMetaKey        = "Ferry-Mtime"
	md5MetaKey          = "Ferry-Md5"
)

// S3 is a Store over one bucket and prefix. It is safe for concurrent use.
type S3 struct {
	cfg    Config
	client *minio.Client
	core   minio.Core
	tr     *transport
	retry  store.RetryPolicy
	where  string // "bucket B at endpoint E", for messages
	server string // host[:port], lower case: who a server-side copy can copy from

	fastState // a whole object's first GET, sent without minio-go (get.go)
}

// New returns the store cfg names, after checking with one listing request
// that the endpoint answers, the keys are accepted and the bucket exists.
// The classic mistakes come back as one-line errors naming the endpoint,
// the bucket and the job.cfg keys to check, never the secret.
func New(ctx context.Context, cfg Config) (*S3, error) {
	if cfg.Role == "" {
		cfg.Role = defaultRole
	}
	if cfg.PutThreshold <= 0 {
		cfg.PutThreshold = DefaultPutThreshold
	}
	if cfg.PartSize <= 0 {
		cfg.PartSize = DefaultPartSize
	}
	cfg.Timeouts = cfg.Timeouts.OrDefault()
	host, secure, err := parseEndpoint(cfg)
	if err != nil {
		return nil, err
	}
	s := &S3{cfg: cfg, retry: store.DefaultRetry, server: strings.ToLower(host),
		where: fmt.Sprintf("bucket %q at %s", cfg.Bucket, host)}
	switch {
	case cfg.MaxRetries < 0:
		s.retry.Attempts = 1
	case cfg.MaxRetries > 0:
		s.retry.Attempts = cfg.MaxRetries + 1
	}
	if cfg.RetryBase > 0 {
		s.retry.Base = cfg.RetryBase
	}
	base := cfg.Transport
	if base == nil {
		t, err := minio.DefaultTransport(secure)
		if err != nil {
			return nil, err
		}
		// Keep a connection for every copying thread (workerTaskThreadNum,
		// up to 1024, times parts in flight): minio-go keeps 16 per host,
		// so with ferry's default 60 threads most requests dialed a new
		// connection (9% of a small-file upload's CPU, and TIME_WAITs).
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 4096, 4096
		cfg.Timeouts.Apply(t)
		base = t
	}
	s.tr = &transport{base: base}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	s.client, err = minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Transport:    s.tr,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   1, // store.RetryPolicy retries, and counts
	})
	if err != nil {
		return nil, fmt.Errorf("%s store: %s: %w", cfg.Role, s.where, err)
	}
	s.core = minio.Core{Client: s.client}
	if err := s.probe(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// parseEndpoint returns the host[:port] and TLS setting of cfg.Endpoint,
// refusing the classic mistakes that can be seen without a request.
func parseEndpoint(cfg Config) (host string, secure bool, err error) {
	role := cfg.Role
	ep := strings.TrimSpace(cfg.Endpoint)
	if ep == "" {
		return "", false, fmt.Errorf("%s store: %sDomain (the endpoint) is empty", role, role)
	}
	if cfg.Bucket == "" {
		return "", false, fmt.Errorf("%s store: %sBucket is empty", role, role)
	}
	secure = true
	if strings.Contains(ep, "://") {
		u, err := url.Parse(ep)
		if err != nil {
			return "", false, fmt.Errorf("%s store: endpoint %q: %v", role, ep, err)
		}
		switch u.Scheme {
		case "http":
			secure = false
		case "https":
		default:
			return "", false, fmt.Errorf("%s store: endpoint %q: scheme must be http or https", role, ep)
		}
		if strings.Trim(u.Path, "/") != "" {
			return "", false, fmt.Errorf("%s store: endpoint %q has a path; give %sDomain as host[:port] and the bucket in %sBucket", role, ep, role, role)
		}
		ep = u.Host
	}
	ep = strings.TrimSuffix(ep, "/")
	h := ep
	if hh, _, err := net.SplitHostPort(ep); err == nil {
		h = hh
	}
	if rest, ok := strings.CutPrefix(strings.ToLower(h), strings.ToLower(cfg.Bucket)+"."); ok && net.ParseIP(h) == nil {
		return "", false, fmt.Errorf("%s store: endpoint %q already holds the bucket %q: set %sDomain to the bare endpoint %q",
			role, ep, cfg.Bucket, role, strings.TrimPrefix(ep, h[:len(h)-len(rest)]))
	}
	return ep, secure, nil
}

// probe lists one key, the cheapest request that says whether the keys and
// the bucket are right (a HEAD answers 403 or 404 without saying why).
// AccessDenied passes: a destination may be allowed to write, not list.
func (s *S3) probe(ctx context.Context) error {
	if s.cfg.NoList {
		return s.probeHead(ctx)
	}
	err := s.do(ctx, "", func(ctx context.Context) error {
		for o := range s.client.ListObjectsIter(ctx, s.cfg.Bucket, minio.ListObjectsOptions{
			Prefix: s.cfg.Prefix, Recursive: true, MaxKeys: 1, UseV1: true}) {
			return o.Err // the first result, or its error
		}
		return nil
	})
	var er minio.ErrorResponse
	if err == nil || errors.As(err, &er) && er.Code == "AccessDenied" {
		return nil
	}
	return fmt.Errorf("%s store: %w", s.cfg.Role, err)
}

// probeHead checks the bucket with a HEAD: a missing bucket is an error;
// a 403 passes (the job's credentials may read objects and nothing more),
// as do the answers a HEAD gives without saying why.
func (s *S3) probeHead(ctx context.Context) error {
	var ok bool
	err := s.do(ctx, "", func(ctx context.Context) (err error) {
		ok, err = s.client.BucketExists(ctx, s.cfg.Bucket)
		return err
	})
	switch {
	case err == nil && !ok:
		return fmt.Errorf("%s store: %w: %s does not exist: check %sBucket, and that %sDomain is the endpoint of the bucket's region",
			s.cfg.Role, store.ErrNotExist, s.where, s.cfg.Role, s.cfg.Role)
	case err == nil, errors.Is(err, store.ErrPermission):
		return nil
	}
	return fmt.Errorf("%s store: %w", s.cfg.Role, err)
}

// fullKey returns the bucket key of a store key.
func (s *S3) fullKey(key string) string { return s.cfg.Prefix + key }

// checkKey refuses, with store.ErrInvalidKey and before any request, keys
// no object of this store can have; what S3 would answer with a 400 is
// said here, naming the key. Keys that would be odd file names ("a//b",
// "../x", "/x") are fine: they are checked by the store they are copied to.
func (s *S3) checkKey(key string) error {
	full := s.fullKey(key)
	switch {
	case key == "":
		return fmt.Errorf("%w %q: empty", store.ErrInvalidKey, key)
	case strings.IndexByte(full, 0) >= 0:
		return fmt.Errorf("%w %q: contains a NUL byte", store.ErrInvalidKey, key)
	case !utf8.ValidString(full):
		return fmt.Errorf("%w %q: S3 keys must be valid UTF-8", store.ErrInvalidKey, key)
	case strings.TrimSpace(full) == "":
		return fmt.Errorf("%w %q: minio-go cannot name an object whose key is only blanks", store.ErrInvalidKey, key)
	case len(full) > maxKeyLen:
		return fmt.Errorf("%w %q: %d bytes with the prefix, longer than S3's %d", store.ErrInvalidKey, key, len(full), maxKeyLen)
	}
	return nil
}

// do runs op under the retry policy; op's errors are classified by
// s.classify. key names the object in messages ("" for the bucket).
func (s *S3) do(ctx context.Context, key string, op func(context.Context) error) error {
	return s.retry.Do(ctx, func(int) error { return s.classify(key, op(ctx)) })
}
