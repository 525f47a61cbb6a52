package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"ferry/store"
)

// props are the properties of a blob that an Entry is made of, as a HEAD
// (GetProperties), a GET (DownloadStream) and a listing report them.
type props struct {
	size                                int64
	mtime                               time.Time
	etag                                string
	md5                                 []byte
	contentType, cacheControl, encoding *string
	disposition, language               *string
	meta                                map[string]*string
	hasHeaders                          bool // the std headers and metadata were reported
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func etagOf(e *azcore.ETag) string {
	if e == nil {
		return ""
	}
	return strings.Trim(string(*e), `"`)
}

// entry describes the blob key from p.
func (p props) entry(key string) store.Entry {
	e := store.Entry{Key: key, Size: p.size, MTime: p.mtime, ETag: p.etag, Kind: store.File}
	if !p.hasHeaders {
		return e
	}
	e.Meta = map[string]string{}
	for name, v := range map[string]*string{store.MetaContentType: p.contentType, store.MetaCacheControl: p.cacheControl,
		store.MetaContentEncoding: p.encoding, store.MetaContentDisposition: p.disposition, store.MetaContentLanguage: p.language} {
		if s := str(v); s != "" {
			e.Meta[name] = s
		}
	}
	for k, v := range p.meta {
		switch lk := strings.ToLower(k); lk {
		case crcMeta:
			if c, err := strconv.ParseUint(str(v), 16, 64); err == nil {
				e.CRC64, e.HasCRC = c, true
			}
		case mtimeMeta:
			if ns, err := strconv.ParseInt(str(v), 10, 64); err == nil {
				e.MTime = time.Unix(0, ns)
			}
		default:
			if v != nil && !strings.HasPrefix(lk, "ferry_") {
				e.Meta[store.MetaUserPrefix+lk] = *v
			}
		}
	}
	return e
}

// Stat returns the entry of key, with its metadata; a missing key is an
// error wrapping store.ErrNotExist.
func (a *Azure) Stat(ctx context.Context, key string) (store.Entry, error) {
	if err := a.readableKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("stat: %w", err)
	}
	p, err := a.props(ctx, key)
	if err != nil {
		return store.Entry{}, fmt.Errorf("stat %q: %w", key, err)
	}
	return p.entry(key), nil
}

// props asks Azure for the properties of key.
func (a *Azure) props(ctx context.Context, key string) (props, error) {
	var r blob.GetPropertiesResponse
	err := a.do(ctx, key, func(ctx context.Context) (err error) {
		r, err = a.cc.NewBlobClient(a.fullKey(key)).GetProperties(ctx, nil)
		return err
	})
	if err != nil {
		return props{}, err
	}
	p := props{mtime: deref(r.LastModified), etag: etagOf(r.ETag), md5: r.ContentMD5, contentType: r.ContentType,
		cacheControl: r.CacheControl, encoding: r.ContentEncoding, disposition: r.ContentDisposition,
		language: r.ContentLanguage, meta: r.Metadata, hasHeaders: true}
	if r.ContentLength != nil {
		p.size = *r.ContentLength
	}
	return p, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// Open returns n bytes of key from off (n < 0: to the end). The reader
// resumes after a cut or stalled body where it stopped, asking for the
// same version of the blob (If-Match its ETag): if the blob changed
// meanwhile, reading fails instead of mixing versions. A read of the
// whole blob is checked against the blob's Content-MD5, when it has one.
func (a *Azure) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if err := a.readableKey(key); err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	if off < 0 {
		return nil, fmt.Errorf("open %q: negative offset %d", key, off)
	}
	r := &reader{a: a, key: key}
	r.Resumer = store.Resumer{Ctx: ctx, Key: key, Off: off, End: -1, Retry: a.retry, Classify: classifyTransport,
		Start: func() error { return a.do(ctx, key, r.get) }}
	if n >= 0 {
		r.End = off + n
	}
	if n == 0 {
		p, err := a.props(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("open %q: %w", key, err)
		}
		r.entry = p.entry(key)
		return r, nil
	}
	if err := r.Start(); err != nil {
		return nil, fmt.Errorf("open %q: %w", key, err)
	}
	return r, nil
}

// OpenStat opens the whole of key with one GET and returns it with the
// entry that GET's response describes. The reader is pinned to that
// version (by ETag), so the opened blob's Stat is that same entry: a blob
// that changes meanwhile fails the read instead of mixing versions.
func (a *Azure) OpenStat(ctx context.Context, key string) (store.Opened, store.Entry, error) {
	rc, err := a.Open(ctx, key, 0, -1)
	if err != nil {
		return nil, store.Entry{}, err
	}
	r := rc.(*reader)
	return store.Pinned{ReadCloser: r, At: &r.entry}, r.entry, nil
}

// reader reads a range of a blob, resuming after failures.
type reader struct {
	store.Resumer
	a     *Azure
	key   string
	entry store.Entry
	etag  string    // pinned by the first response
	want  []byte    // the blob's Content-MD5, when the whole blob is read
	sum   hash.Hash // MD5 of what was read, when want is set
}

// get starts a GET from r.Off.
func (r *reader) get(ctx context.Context) error {
	opts := &blob.DownloadStreamOptions{}
	if r.End >= 0 || r.Off > 0 {
		count := int64(0) // 0: to the end
		if r.End >= 0 {
			count = r.End - r.Off
		}
		opts.Range = blob.HTTPRange{Offset: r.Off, Count: count}
	}
	if r.etag != "" {
		et := azcore.ETag(`"` + r.etag + `"`)
		opts.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &et}}
	}
	ctx, wrap, cancel := store.IdleRequest(ctx, r.a.cfg.Timeouts.Idle)
	resp, err := r.a.cc.NewBlobClient(r.a.fullKey(r.key)).DownloadStream(ctx, opts)
	if err != nil {
		cancel()
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.ErrorCode == "InvalidRange" {
			r.End = r.Off // past the end: nothing to read
			if r.etag == "" {
				p, perr := r.a.props(ctx, r.key)
				if perr != nil {
					return perr
				}
				r.etag, r.entry = p.etag, p.entry(r.key)
			}
			return nil
		}
		return err
	}
	if r.etag == "" {
		p := props{mtime: deref(resp.LastModified), etag: etagOf(resp.ETag), contentType: resp.ContentType,
			cacheControl: resp.CacheControl, encoding: resp.ContentEncoding, disposition: resp.ContentDisposition,
			language: resp.ContentLanguage, meta: resp.Metadata, hasHeaders: true, size: deref(resp.ContentLength)}
		if cr := str(resp.ContentRange); cr != "" { // the size of the blob, not of the range
			if i := strings.LastIndexByte(cr, '/'); i >= 0 {
				if size, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
					p.size = size
				}
			}
		}
		r.etag, r.entry = p.etag, p.entry(r.key)
		// Reads stop at the size of this version of the blob, whatever a
		// server answers to a range past its end.
		if r.End < 0 || r.End > p.size {
			r.End = max(p.size, r.Off)
		}
		whole := r.Off == 0 && (r.End < 0 || r.End >= p.size)
		md5sum := resp.ContentMD5
		if opts.Range.Offset != 0 || opts.Range.Count != 0 {
			md5sum = resp.BlobContentMD5 // a range's ContentMD5 is the range's
		}
		if whole && len(md5sum) == md5.Size {
			r.want, r.sum = md5sum, md5.New()
		}
	}
	r.Body = wrap(&md5Body{ReadCloser: resp.Body, r: r})
	return nil
}

// md5Body hashes what a reader reads of the whole blob and, at its end,
// compares it with the blob's Content-MD5.
type md5Body struct {
	io.ReadCloser
	r *reader
}

func (b *md5Body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	r := b.r
	if r.sum == nil {
		return n, err
	}
	r.sum.Write(p[:n])
	if err == io.EOF && r.Off+int64(n) >= r.entry.Size {
		if got := r.sum.Sum(nil); !bytes.Equal(got, r.want) {
			r.sum = nil
			// Permanent: the bytes are read; reading on could not fix
			// them. The copy fails, and a later attempt reads again.
			return n, store.Permanent(fmt.Errorf("the bytes read have MD5 %s, not the blob's Content-MD5 %s",
				hex.EncodeToString(got), hex.EncodeToString(r.want)))
		}
	}
	return n, err
}

// List calls fn for each blob whose name (relative to Config.Prefix)
// starts with prefix and sorts after startAfter, in byte order, a page at
// a time. A listing cut by a retryable failure resumes after the last name
// listed (Azure's startFrom, where the server takes it; names up to that
// one are skipped here in any case).
func (a *Azure) List(ctx context.Context, prefix, startAfter string, fn func(store.Entry) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	full := a.fullKey(prefix)
	sent := store.ValidPrefix(full)
	after := ""
	if startAfter != "" {
		after = a.fullKey(startAfter)
	}
	last := "" // the last name seen, listed or skipped
	return a.retry.ResumeListing(ctx, prefix, func(progressed *bool) error {
		skip := max(after, last)
		prev := ""
		return a.listFrom(ctx, sent, skip, func(name string, p props) error {
			if prev != "" && name <= prev {
				return store.Permanent(fmt.Errorf("the listing of %s is not in byte order: %q came after %q", a.where, name, prev))
			}
			prev = name
			if name <= skip {
				return nil // before where this listing resumes (a server that ignores startFrom)
			}
			*progressed, last = true, name
			switch {
			case name <= after:
				return nil
			case !strings.HasPrefix(name, full):
				if name > full {
					return store.ErrListingEnd
				}
				return nil
			}
			key := name[len(a.cfg.Prefix):]
			if err := fn(p.entry(key)); err != nil {
				return store.CallbackError(err)
			}
			return nil
		})
	})
}

// listFrom lists the names that start with prefix from the first one after
// from (all when ""), calling each with the name and its properties.
func (a *Azure) listFrom(ctx context.Context, prefix, from string, each func(string, props) error) error {
	opts := &container.ListBlobsFlatOptions{Prefix: &prefix, MaxResults: ptr(int32(listPage)),
		Include: container.ListBlobsInclude{Metadata: false}}
	if f := store.ValidPrefix(from); f != "" {
		opts.StartFrom = &f
	}
	pager := a.cc.NewListBlobsFlatPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return a.classify("", err)
		}
		for _, it := range page.Segment.BlobItems {
			if it == nil || it.Name == nil || it.Properties == nil {
				continue
			}
			pr := it.Properties
			p := props{size: deref(pr.ContentLength), mtime: deref(pr.LastModified), etag: etagOf(pr.ETag), md5: pr.ContentMD5}
			if err := each(*it.Name, p); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes key; a missing key is an error wrapping store.ErrNotExist.
func (a *Azure) Delete(ctx context.Context, key string) error {
	if err := a.readableKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	err := a.do(ctx, key, func(ctx context.Context) error {
		_, err := a.cc.NewBlobClient(a.fullKey(key)).Delete(ctx, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	return nil
}
