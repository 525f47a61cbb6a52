package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"ferry/store"
	"ferry/task"
	"ferry/tracker"
)

// Large files go to object stores as multipart uploads, several parts at
// once. After each finished part the upload's state is saved with the task
// in the master (SaveUpload, fenced by the lease), so a task re-leased
// after a crash resumes the upload and sends only the missing parts.

// savedUpload is what SaveUpload keeps of an unfinished upload: the
// store's state, and the size and mtime of the source file whose parts it
// holds, so that a later attempt resumes it only for the same version.
// (The master's clean reads it as a store.MultipartState.)
type savedUpload struct {
	store.MultipartState
	SourceSize  int64
	SourceMTime int64 // unix ns
}

// countingReader reports bytes read to the task's and worker's counters.
type countingReader struct {
	io.ReadCloser
	n               int64
	progress, total *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	c.progress.Add(int64(n))
	c.total.Add(int64(n))
	if err != nil && err != io.EOF {
		err = &sourceError{err}
	}
	return n, err
}

// sourceError marks a failure of the source in a multipart upload, whose
// errors come back mixed with the destination's from PutMultipart: a
// missing upload (NoSuchUpload) is the destination's ErrNotExist, not a
// missing source.
type sourceError struct{ err error }

func (e *sourceError) Error() string { return e.err.Error() }
func (e *sourceError) Unwrap() error { return e.err }

func (w *Worker) copyMultipart(ctx context.Context, src store.Store, dst store.MultipartPutter, t *running, e, before store.Entry) tracker.Record {
	spec := t.lease.Spec
	ref := task.LeaseRef{Job: t.lease.Job, TaskID: t.lease.TaskID, LeaseID: t.lease.LeaseID}
	var state store.MultipartState
	for _, u := range t.lease.Uploads {
		if u.Key != e.Key {
			continue
		}
		var saved savedUpload
		switch err := json.Unmarshal(u.State, &saved); {
		case err != nil:
			w.log.Warn("saved upload state unreadable; starting afresh", "key", e.Key, "err", err)
		case saved.UploadID == "":
			// Saved before an upload was created (below); the store aborts
			// any that was when it creates the new one.
		case saved.SourceSize != before.Size || saved.SourceMTime != before.MTime.UnixNano():
			// Its parts are of another version of the file: resumed, the
			// object would mix the two. Start afresh (the store aborts
			// the key's other uploads when it creates the new one).
			w.log.Info("source changed since its upload began; starting afresh", "key", e.Key,
				"size", before.Size, "was", saved.SourceSize)
		default:
			state = saved.MultipartState
		}
	}
	resumed := len(state.Parts)
	var read atomic.Int64
	open := func(off, n int64) (io.ReadCloser, error) {
		r, err := src.Open(ctx, e.Key, off, n)
		if err != nil {
			return nil, &sourceError{err}
		}
		if err := w.limits.waitRequest(ctx, t.lease.Job); err != nil {
			r.Close()
			return nil, err
		}
		lr := &limitedReader{ctx: ctx, r: r, l: w.limits, job: t.lease.Job}
		return &countingReader{ReadCloser: readCloser{lr, r}, progress: &read, total: &w.copied}, nil
	}
	opt := store.MultipartOptions{
		PartSize: spec.Multipart.PartSize,
		Threads:  spec.Multipart.Threads,
		OnPart: func(st store.MultipartState) error {
			b, err := json.Marshal(savedUpload{MultipartState: st, SourceSize: before.Size, SourceMTime: before.MTime.UnixNano()})
			if err != nil {
				return err
			}
			return w.client.SaveUpload(ctx, w.cfg.ID, ref, task.UploadState{Key: e.Key, State: b})
		},
	}
	// Progress: report what has been read so far for this file.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		var shown int64
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				t.bytes.Add(-shown)
				return
			case <-tick.C:
				n := read.Load()
				t.bytes.Add(n - shown)
				shown = n
			}
		}
	}()
	// A local source's digests cost a read of (often cached) local bytes.
	// Known before the upload, they spare the destination a server-side
	// copy of the whole object to record its CRC64, every part is checked
	// against them, and the parts' MD5s are hashed side by side. A source
	// that cannot be read, or has changed size, gets no digests here: the
	// upload's own reads and the checks after it say what happened.
	if d, ok := src.(store.PartDigester); ok && resumed == 0 {
		opt.Digests = func(ctx context.Context, partSize int64) ([]store.PartDigest, error) {
			ds, n, err := d.PartDigests(ctx, e.Key, partSize)
			if err != nil || n != before.Size {
				w.log.Debug("no part digests; parts hashed as sent", "key", e.Key, "size", n, "want", before.Size, "err", err)
				return nil, nil
			}
			return ds, nil
		}
	}
	if state.UploadID == "" {
		// Say with the task that an upload of the key is about to be
		// created: should this worker die, or lose the server's reply,
		// before it saves the upload's ID, cleaning the job still finds
		// that upload and aborts it.
		b, err := json.Marshal(savedUpload{SourceSize: before.Size, SourceMTime: before.MTime.UnixNano()})
		if err == nil {
			err = w.client.SaveUpload(ctx, w.cfg.ID, ref, task.UploadState{Key: e.Key, State: b})
		}
		if err != nil {
			if errors.Is(err, ErrStale) {
				t.cancel() // the task is someone else's now
			}
			return failRecord(e, WriteError, fmt.Errorf("saving the upload with its task: %w", err))
		}
	}
	put, err := dst.PutMultipart(ctx, e.Key, open, before.Size,
		store.Entry{Key: e.Key, Size: before.Size, MTime: before.MTime, Meta: before.Meta, CRC64: before.CRC64, HasCRC: before.HasCRC},
		opt, &state)
	if err != nil {
		if errors.Is(err, ErrStale) {
			t.cancel() // the task is someone else's now
		}
		var se *sourceError
		switch {
		case errors.As(err, &se) && errors.Is(se, store.ErrNotExist):
			return failRecord(e, SourceMissing, err)
		case errors.As(err, &se):
			return failRecord(e, ReadError, err)
		}
		// A part that no longer matches the source's digest fails the
		// upload; the file's size or mtime says whether it changed.
		if now, serr := src.Stat(ctx, e.Key); serr == nil && (now.Size != before.Size || !sameTime(now.MTime, before.MTime)) {
			return failRecord(e, SourceChanged, fmt.Errorf("changed while uploaded (size/mtime %d/%s before, %d/%s after): %w", before.Size,
				before.MTime.Format(time.RFC3339Nano), now.Size, now.MTime.Format(time.RFC3339Nano), err))
		}
		return failRecord(e, WriteError, err)
	}
	after, err := src.Stat(ctx, e.Key)
	switch {
	case err != nil:
		return failRecord(e, SourceChanged, fmt.Errorf("source vanished while read: %w", err))
	case after.Size != before.Size || !sameTime(after.MTime, before.MTime):
		return failRecord(e, SourceChanged, fmt.Errorf("size/mtime %d/%s before, %d/%s after", before.Size,
			before.MTime.Format(time.RFC3339Nano), after.Size, after.MTime.Format(time.RFC3339Nano)))
	case put.Size != before.Size:
		return failRecord(e, SizeNotMatch, fmt.Errorf("source has %d bytes, destination %d", before.Size, put.Size))
	case before.HasCRC && put.HasCRC && before.CRC64 != put.CRC64:
		return failRecord(e, ChecksumMismatch, fmt.Errorf("crc64 source %016x, destination %016x", before.CRC64, put.CRC64))
	}
	t.bytes.Add(before.Size)
	detail := fmt.Sprintf("multipart parts=%d", len(state.Parts))
	if resumed > 0 {
		detail += fmt.Sprintf(" resumed=%d", resumed)
	}
	return noted(tracker.Record{Time: time.Now(), Result: tracker.OK, Size: put.Size, CRC64: put.CRC64, HasCRC: put.HasCRC, Key: e.Key, Detail: detail}, t, before.MTime, put)
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}
