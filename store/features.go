package store

import (
	"context"
	"io"
)

// Features are a store's optional powers, gathered once when the store is
// opened instead of asserted at every use. Each field is one power, nil when
// the store lacks it; the interfaces each comes from (StatOpener, Syncer,
// ...) say what it promises.
//
// A store that wraps another (a throttle, a fault injector, a test double)
// says which powers it has by implementing Featurer: typically the inner
// store's features, with the powers it intercepts replaced by its own and
// those it cannot honour masked. A wrapper that does not is judged by its
// own method set, as Fill does.
type Features struct {
	// OpenStat opens a key and describes it (StatOpener).
	OpenStat func(ctx context.Context, key string) (Opened, Entry, error)
	// Sync makes every Put before it durable (Syncer).
	Sync func(ctx context.Context) error
	// Delete removes a key (Deleter).
	Delete func(ctx context.Context, key string) error
	// DeleteTree removes a key and everything below it (TreeDeleter).
	DeleteTree func(ctx context.Context, key string) error
	// Differs compares what entries carry beyond content (Differ).
	Differs func(s, d Entry) string
	// CleanTemps removes a crashed attempt's temporary files (TempCleaner).
	CleanTemps func(ctx context.Context, dirKey, tag string) error
	// PartDigests reads a key's part digests without a request
	// (PartDigester).
	PartDigests func(ctx context.Context, key string, partSize int64) ([]PartDigest, int64, error)
	// PutDigested sends a body whose digest was read before, without
	// holding it (DigestPutter).
	PutDigested func(ctx context.Context, key string, src func() (io.ReadCloser, error), d PartDigest, e Entry) (Entry, error)
	// PutMultipart and AbortUpload come together (MultipartPutter).
	PutMultipart func(ctx context.Context, key string, src func(off, n int64) (io.ReadCloser, error),
		size int64, e Entry, opt MultipartOptions, state *MultipartState) (Entry, error)
	AbortUpload func(ctx context.Context, key, uploadID string) error
	// ListUploads lists unfinished multipart uploads (UploadLister).
	ListUploads func(ctx context.Context, prefix string, fn func(Upload) error) error
	// CopySource and ServerCopy come together (ServerCopier).
	CopySource func(key string) CopySource
	ServerCopy func(ctx context.Context, key string, src CopySource, size int64, e Entry, threshold int64, opt MultipartOptions) (Entry, error)
	// Assembler writes a file in ranges from several writers (Assembler).
	Assembler Assembler
}

// Featurer is implemented by stores that state their features themselves,
// wrappers above all (see Features).
type Featurer interface {
	Features() Features
}

// FeaturesOf returns the features of s: its own statement when it is a
// Featurer, else those its method set has (Fill).
func FeaturesOf(s Store) Features {
	if f, ok := s.(Featurer); ok {
		return f.Features()
	}
	var f Features
	f.Fill(s)
	return f
}

// Fill sets f to the powers s has by its method set, one type assertion per
// optional interface, and returns f.
func (f *Features) Fill(s Store) *Features {
	*f = Features{}
	if x, ok := s.(StatOpener); ok {
		f.OpenStat = x.OpenStat
	}
	if x, ok := s.(Syncer); ok {
		f.Sync = x.Sync
	}
	if x, ok := s.(Deleter); ok {
		f.Delete = x.Delete
	}
	if x, ok := s.(TreeDeleter); ok {
		f.DeleteTree = x.DeleteTree
	}
	if x, ok := s.(Differ); ok {
		f.Differs = x.Differs
	}
	if x, ok := s.(TempCleaner); ok {
		f.CleanTemps = x.CleanTemps
	}
	if x, ok := s.(PartDigester); ok {
		f.PartDigests = x.PartDigests
	}
	if x, ok := s.(DigestPutter); ok {
		f.PutDigested = x.PutDigested
	}
	if x, ok := s.(MultipartPutter); ok {
		f.PutMultipart, f.AbortUpload = x.PutMultipart, x.AbortUpload
	}
	if x, ok := s.(UploadLister); ok {
		f.ListUploads = x.ListUploads
	}
	if x, ok := s.(ServerCopier); ok {
		f.CopySource, f.ServerCopy = x.CopySource, x.ServerCopy
	}
	if x, ok := s.(Assembler); ok {
		f.Assembler = x
	}
	return f
}

// Mask returns f without the powers o lacks: what a wrapper with f's
// methods can offer over a store with features o.
func (f Features) Mask(o Features) Features {
	if o.OpenStat == nil {
		f.OpenStat = nil
	}
	if o.Sync == nil {
		f.Sync = nil
	}
	if o.Delete == nil {
		f.Delete = nil
	}
	if o.DeleteTree == nil {
		f.DeleteTree = nil
	}
	if o.Differs == nil {
		f.Differs = nil
	}
	if o.CleanTemps == nil {
		f.CleanTemps = nil
	}
	if o.PartDigests == nil {
		f.PartDigests = nil
	}
	if o.PutDigested == nil {
		f.PutDigested = nil
	}
	if o.PutMultipart == nil || o.AbortUpload == nil {
		f.PutMultipart, f.AbortUpload = nil, nil
	}
	if o.ListUploads == nil {
		f.ListUploads = nil
	}
	if o.CopySource == nil || o.ServerCopy == nil {
		f.CopySource, f.ServerCopy = nil, nil
	}
	if o.Assembler == nil {
		f.Assembler = nil
	}
	return f
}

// Multipart reports whether the store can upload in parts.
func (f *Features) Multipart() bool { return f.PutMultipart != nil }

// String names the powers f has, as "OpenStat Sync Delete", for logs and
// tests; "" for none.
func (f Features) String() string {
	var b []byte
	add := func(has bool, name string) {
		if has {
			if len(b) > 0 {
				b = append(b, ' ')
			}
			b = append(b, name...)
		}
	}
	add(f.OpenStat != nil, "OpenStat")
	add(f.Sync != nil, "Sync")
	add(f.Delete != nil, "Delete")
	add(f.DeleteTree != nil, "DeleteTree")
	add(f.Differs != nil, "Differs")
	add(f.CleanTemps != nil, "CleanTemps")
	add(f.PartDigests != nil, "PartDigests")
	add(f.PutDigested != nil, "PutDigested")
	add(f.PutMultipart != nil, "PutMultipart")
	add(f.AbortUpload != nil, "AbortUpload")
	add(f.ListUploads != nil, "ListUploads")
	add(f.ServerCopy != nil, "ServerCopy")
	add(f.Assembler != nil, "Assembler")
	return string(b)
}
