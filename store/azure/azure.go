// Package azure is the Store backend for Azure Blob Storage (srcType and
// destType azure), with Microsoft's azblob SDK. ossimport's keys keep
// their meaning: the storage account's name is *AccessKey, its key
// *SecretKey, the container *Bucket, and *Domain the EndpointSuffix of
// the account's connection string (core.windows.net, core.chinacloudapi.cn;
// see serviceURL for the other forms ferry takes).
//
// Keys are blob names relative to Config.Prefix in the container (a byte
// prefix, as ossimport's srcPrefix). Between object stores a key is just
// a key ("a//b", "../x" are copied exactly); blob names are UTF-8, and
// names Azure would change (a trailing '.', a '\\', control characters)
// are refused with store.ErrInvalidKey. List streams the container's flat listing, which Azure gives in
// byte order, a page of up to 5000 names at a time; a listing that comes
// back out of order fails rather than mislead the merges that rely on it.
//
// What is written with each blob, as metadata (Azure's names are C#
// identifiers, so ferry's use '_'):
//
//	ferry_crc64  CRC64-ECMA of the content, 16 hex digits
//	ferry_mtime  source mtime, unix nanoseconds (when known)
//
// plus the blob's Content-MD5 (the MD5 of what was sent, which the service
// checked on arrival), Content-Type (the source's, else guessed from the
// extension), Cache-Control, Content-Disposition, Content-Encoding,
// Content-Language and the source's user metadata (names that Azure does
// not take, such as those with '-', have it replaced by '_'). Stat
// reports them back: the CRC (HasCRC) from ferry's metadata; the mtime
// from ferry's metadata, else Last-Modified; the user metadata as
// store.MetaUserPrefix + name.
//
// Reading: Open and OpenStat read ranges pinned to the blob's ETag
// (If-Match), so a blob that is replaced while it is read fails the read
// ("changed while it was read") instead of mixing versions; a body that is
// cut or stalls resumes where it stopped (store.Resumer). A whole blob
// whose Content-MD5 is known is checked against the MD5 of the bytes read.
//
// Every request is retried by store.RetryPolicy when Azure answers that it
// is busy or failed (500, 503 ServerBusy, 408, 429) or the connection is
// cut, never for refusals (403 AuthenticationFailed, 404); the SDK's own
// retries are off so the attempts can be counted.
package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"ferry/store"
)

var (
	_ store.Store      = (*Azure)(nil)
	_ store.Deleter    = (*Azure)(nil)
	_ store.StatOpener = (*Azure)(nil)
)

// Config says where a store is and how to reach it.
type Config struct {
	// Domain is job.cfg's *Domain: an EndpointSuffix, a connection
	// string's endpoint settings, or a blob service URL (see serviceURL).
	Domain    string
	Account   string // *AccessKey: the storage account's name
	Key       string // *SecretKey: the account key (base64)
	Container string // *Bucket
	Prefix    string // root of the store in the container
	// Role is "src" or "dest": messages name the job.cfg keys to check.
	// Empty means "src".
	Role string
	// Transport carries the requests (tests); nil means a default one with
	// the deadlines of Timeouts.
	Transport http.RoundTripper
	// Timeouts are the network deadlines (zero fields: the defaults).
	Timeouts store.Timeouts
	// RetryBase is the delay before the first retry; 0 means
	// store.DefaultRetry's. MaxRetries < 0 means no retries.
	RetryBase  time.Duration
	MaxRetries int
	// PutThreshold is the largest content Put sends in one request; larger
	// content goes as blocks of BlockSize, committed at the end. 0 means
	// DefaultPutThreshold and DefaultBlockSize.
	PutThreshold, BlockSize int64
}

// Defaults and limits of Azure.
const (
	DefaultPutThreshold = 32 << 20
	DefaultBlockSize    = 8 << 20
	MaxBlockSize        = 4000 << 20 // Azure's largest block
	MaxBlocks           = 50000      // Azure's most blocks in a blob
	maxKeyLen           = 1024       // Azure's longest blob name, in characters
	listPage            = 5000       // names asked per listing request
	crcMeta             = "ferry_crc64"
	mtimeMeta           = "ferry_mtime"
)

// Azure is a Store over one container and prefix. It is safe for
// concurrent use.
type Azure struct {
	cfg   Config
	cc    *container.Client
	retry store.RetryPolicy
	where string // "container C at URL", for messages
}

// New returns the store cfg names, after checking with one listing request
// that the endpoint answers, the key is accepted and the container exists.
// Mistakes come back as one-line errors naming the job.cfg keys to check,
// never the key.
func New(ctx context.Context, cfg Config) (*Azure, error) {
	if cfg.Role == "" {
		cfg.Role = "src"
	}
	role := cfg.Role
	switch {
	case cfg.Account == "":
		return nil, fmt.Errorf("%s store: %sAccessKey (the storage account name) is empty", role, role)
	case cfg.Key == "":
		return nil, fmt.Errorf("%s store: %sSecretKey (the account key) is empty", role, role)
	case cfg.Container == "":
		return nil, fmt.Errorf("%s store: %sBucket (the container) is empty", role, role)
	}
	if cfg.PutThreshold <= 0 {
		cfg.PutThreshold = DefaultPutThreshold
	}
	if cfg.BlockSize <= 0 {
		cfg.BlockSize = DefaultBlockSize
	}
	cfg.BlockSize = min(cfg.BlockSize, MaxBlockSize)
	cfg.Timeouts = cfg.Timeouts.OrDefault()
	svc, err := serviceURL(cfg.Domain, cfg.Account, role)
	if err != nil {
		return nil, fmt.Errorf("%s store: %v", role, err)
	}
	cred, err := container.NewSharedKeyCredential(cfg.Account, cfg.Key)
	if err != nil { // the key is not base64: never quote it
		return nil, fmt.Errorf("%s store: %sSecretKey is not an Azure account key (base64)", role, role)
	}
	a := &Azure{cfg: cfg, retry: store.DefaultRetry, where: fmt.Sprintf("container %q at %s", cfg.Container, svc)}
	switch {
	case cfg.MaxRetries < 0:
		a.retry.Attempts = 1
	case cfg.MaxRetries > 0:
		a.retry.Attempts = cfg.MaxRetries + 1
	}
	if cfg.RetryBase > 0 {
		a.retry.Base = cfg.RetryBase
	}
	tr := cfg.Transport
	if tr == nil {
		t := cfg.Timeouts.Transport()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 4096, 4096 // a connection per copying thread
		tr = t
	}
	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &http.Client{Transport: tr},
		Retry:     policy.RetryOptions{MaxRetries: -1}, // store.RetryPolicy retries, and counts
		Telemetry: policy.TelemetryOptions{Disabled: true},
	}}
	a.cc, err = container.NewClientWithSharedKeyCredential(svc+"/"+url.PathEscape(cfg.Container), cred, opts)
	if err != nil {
		return nil, fmt.Errorf("%s store: %s: %v", role, a.where, err)
	}
	if err := a.probe(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// probe lists one name: it says whether the endpoint, the account, its
// key and the container are right. AuthorizationPermissionMismatch passes:
// a destination may be allowed to write, not list.
func (a *Azure) probe(ctx context.Context) error {
	err := a.do(ctx, "", func(ctx context.Context) error {
		p := a.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &a.cfg.Prefix, MaxResults: ptr(int32(1))})
		_, err := p.NextPage(ctx)
		return err
	})
	var re *azcore.ResponseError
	if err == nil || errors.As(err, &re) && re.ErrorCode == "AuthorizationPermissionMismatch" {
		return nil
	}
	return fmt.Errorf("%s store: %w", a.cfg.Role, err)
}

func ptr[T any](v T) *T { return &v }

// fullKey returns the blob name of a store key.
func (a *Azure) fullKey(key string) string { return a.cfg.Prefix + key }

// checkKey refuses keys this store cannot write.
func (a *Azure) checkKey(key string) error {
	full := a.fullKey(key)
	switch {
	case key == "":
		return fmt.Errorf("%w %q: empty", store.ErrInvalidKey, key)
	case !utf8.ValidString(full):
		return fmt.Errorf("%w %q: Azure blob names must be valid UTF-8", store.ErrInvalidKey, key)
	case utf8.RuneCountInString(full) > maxKeyLen:
		return fmt.Errorf("%w %q: longer than Azure's %d characters", store.ErrInvalidKey, key, maxKeyLen)
	case strings.HasSuffix(full, "."):
		return fmt.Errorf("%w %q: Azure drops a trailing '.' from blob names", store.ErrInvalidKey, key)
	case strings.Contains(full, "\\"):
		return fmt.Errorf("%w %q: Azure turns '\\' into '/' in blob names", store.ErrInvalidKey, key)
	case strings.ContainsFunc(full, isControl):
		return fmt.Errorf("%w %q: control characters in blob names break Azure's XML listings", store.ErrInvalidKey, key)
	}
	return nil
}

// isControl reports whether r is an ASCII control character.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// readableKey refuses keys no blob can have.
func (a *Azure) readableKey(key string) error {
	if key == "" || !utf8.ValidString(key) || strings.IndexByte(key, 0) >= 0 {
		return fmt.Errorf("%w %q: not a possible Azure blob name", store.ErrInvalidKey, key)
	}
	return nil
}

// do runs op under the retry policy, classifying its errors. key names the
// blob in messages ("" for the container).
func (a *Azure) do(ctx context.Context, key string, op func(context.Context) error) error {
	return a.retry.Do(ctx, func(int) error { return a.classify(key, op(ctx)) })
}
