package observe

import (
	"context"
	"io"
	"time"

	"ferry/store"
)

// Wrap returns s with every call counted and timed in st under the store
// type typ (task.Spec's Src.Type or Dest.Type). It keeps s's features (each
// one timed) and closes s when closed. A List is timed whole, callbacks
// included; an Open until it returns the reader.
func Wrap(s store.Store, typ string, st *Stats) store.Store {
	w := &observed{s: s, t: st.tableFor(typ)}
	w.f = w.wrapFeatures(store.FeaturesOf(s))
	return w
}

type observed struct {
	s store.Store
	t *table
	f store.Features
}

var (
	_ store.Store    = (*observed)(nil)
	_ store.Featurer = (*observed)(nil)
	_ io.Closer      = (*observed)(nil)
)

func (o *observed) done(op int, start time.Time, err error) { o.t.observe(op, err, time.Since(start)) }

func (o *observed) List(ctx context.Context, prefix, startAfter string, fn func(store.Entry) error) error {
	start := time.Now()
	err := o.s.List(ctx, prefix, startAfter, fn)
	o.done(OpList, start, err)
	return err
}

func (o *observed) Stat(ctx context.Context, key string) (store.Entry, error) {
	start := time.Now()
	e, err := o.s.Stat(ctx, key)
	o.done(OpStat, start, err)
	return e, err
}

func (o *observed) Open(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	start := time.Now()
	r, err := o.s.Open(ctx, key, off, n)
	o.done(OpOpen, start, err)
	return r, err
}

func (o *observed) Put(ctx context.Context, key string, r io.Reader, e store.Entry, opt store.PutOptions) (store.Entry, error) {
	start := time.Now()
	landed, err := o.s.Put(ctx, key, r, e, opt)
	o.done(OpPut, start, err)
	return landed, err
}

// Features returns the inner store's features, each one timed.
func (o *observed) Features() store.Features { return o.f }

// Close closes the inner store.
func (o *observed) Close() error { return store.Close(o.s) }

func (o *observed) wrapFeatures(f store.Features) store.Features {
	if g := f.OpenStat; g != nil {
		f.OpenStat = func(ctx context.Context, key string) (store.Opened, store.Entry, error) {
			start := time.Now()
			r, e, err := g(ctx, key)
			o.done(OpOpenStat, start, err)
			return r, e, err
		}
	}
	if g := f.Sync; g != nil {
		f.Sync = func(ctx context.Context) error {
			start := time.Now()
			err := g(ctx)
			o.done(OpSync, start, err)
			return err
		}
	}
	if g := f.Delete; g != nil {
		f.Delete = func(ctx context.Context, key string) error {
			start := time.Now()
			err := g(ctx, key)
			o.done(OpDelete, start, err)
			return err
		}
	}
	if g := f.DeleteTree; g != nil {
		f.DeleteTree = func(ctx context.Context, key string) error {
			start := time.Now()
			err := g(ctx, key)
			o.done(OpDelete, start, err)
			return err
		}
	}
	if g := f.CleanTemps; g != nil {
		f.CleanTemps = func(ctx context.Context, dirKey, tag string) error {
			start := time.Now()
			err := g(ctx, dirKey, tag)
			o.done(OpCleanTemps, start, err)
			return err
		}
	}
	if g := f.PartDigests; g != nil {
		f.PartDigests = func(ctx context.Context, key string, partSize int64) ([]store.PartDigest, int64, error) {
			start := time.Now()
			d, n, err := g(ctx, key, partSize)
			o.done(OpPartDigests, start, err)
			return d, n, err
		}
	}
	if g := f.PutDigested; g != nil {
		f.PutDigested = func(ctx context.Context, key string, src func() (io.ReadCloser, error), d store.PartDigest,
			e store.Entry) (store.Entry, error) {
			start := time.Now()
			landed, err := g(ctx, key, src, d, e)
			o.done(OpPut, start, err)
			return landed, err
		}
	}
	if g := f.PutMultipart; g != nil {
		f.PutMultipart = func(ctx context.Context, key string, src func(off, n int64) (io.ReadCloser, error),
			size int64, e store.Entry, opt store.MultipartOptions, state *store.MultipartState) (store.Entry, error) {
			start := time.Now()
			landed, err := g(ctx, key, src, size, e, opt, state)
			o.done(OpPutMultipart, start, err)
			return landed, err
		}
	}
	if g := f.AbortUpload; g != nil {
		f.AbortUpload = func(ctx context.Context, key, uploadID string) error {
			start := time.Now()
			err := g(ctx, key, uploadID)
			o.done(OpAbortUpload, start, err)
			return err
		}
	}
	if g := f.ListUploads; g != nil {
		f.ListUploads = func(ctx context.Context, prefix string, fn func(store.Upload) error) error {
			start := time.Now()
			err := g(ctx, prefix, fn)
			o.done(OpListUploads, start, err)
			return err
		}
	}
	return f
}
