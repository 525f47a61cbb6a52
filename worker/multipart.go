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

// countingReader reports bytes read to the task's and worker's counters,
// and marks its own errors as the source's (a failure): they come back
// from PutMultipart mixed with the destination's, where a missing upload
// (NoSuchUpload) is the destination's ErrNotExist, not a missing source.
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
		err = fail(task.ReadError, err)
	}
	return n, err
}

// savedState returns the upload of the file to resume, as saved with the
// task by an earlier attempt: none when there is none, or when its parts
// are of another version of the file.
func (x *transfer) savedState() store.MultipartState {
	e, before, log := x.e, x.before, x.w.log
	var state store.MultipartState
	for _, u := range x.t.lease.Uploads {
		if u.Key != e.Key {
			continue
		}
		var saved savedUpload
		switch err := json.Unmarshal(u.State, &saved); {
		case err != nil:
			log.Warn("saved upload state unreadable; starting afresh", "key", e.Key, "err", err)
		case saved.UploadID == "":
			// Saved before an upload was created (below); the store aborts
			// any that was when it creates the new one.
		case saved.SourceSize != before.Size || saved.SourceMTime != before.MTime.UnixNano():
			// Its parts are of another version of the file: resumed, the
			// object would mix the two. Start afresh (the store aborts
			// the key's other uploads when it creates the new one).
			log.Info("source changed since its upload began; starting afresh", "key", e.Key,
				"size", before.Size, "was", saved.SourceSize)
		default:
			state = saved.MultipartState
		}
	}
	return state
}

// How long saveUpload tries while the master does not answer, and its
// first and longest pause between two tries.
const (
	saveUploadFor      = 2 * time.Minute
	saveUploadFirst    = 250 * time.Millisecond
	saveUploadMaxPause = 5 * time.Second
)

// saveUpload keeps state with the task, fenced by its lease. A master
// that does not answer (it restarts, the network is cut) is asked again,
// with pauses that double, for up to saveUploadFor: the lease still holds
// while it restarts, and failing would fail the file. The task's context
// ends the tries when the lease is lost or runs out; a stale lease ends
// them at once.
func (x *transfer) saveUpload(state store.MultipartState) error {
	t := x.t
	b, err := json.Marshal(savedUpload{MultipartState: state, SourceSize: x.before.Size, SourceMTime: x.before.MTime.UnixNano()})
	if err != nil {
		return err
	}
	ref := task.LeaseRef{Job: t.lease.Job, TaskID: t.lease.TaskID, LeaseID: t.lease.LeaseID}
	up := task.UploadState{Key: x.e.Key, State: b}
	giveUp := time.Now().Add(saveUploadFor)
	for pause := saveUploadFirst; ; pause = min(2*pause, saveUploadMaxPause) {
		err = x.w.client.SaveUpload(x.ctx, x.w.cfg.ID, ref, up)
		if err == nil || errors.Is(err, ErrStale) || time.Now().Add(pause).After(giveUp) {
			return err
		}
		x.w.log.Warn("saving an upload with its task failed; trying again", "job", t.lease.Job, "task", t.lease.TaskID,
			"key", x.e.Key, "err", err, "next_try", pause)
		if !sleep(x.ctx, pause) {
			return err
		}
	}
}

// putMultipart is put for a large file and a destination that takes it in
// parts, several at a time, resuming the upload an earlier attempt saved.
// What verify judges of it is the source's size and CRC64 as stated when
// opened: the parts were read, and checked, by the store.
func (x *transfer) putMultipart() error {
	ctx, w, t, e, before := x.ctx, x.w, x.t, x.e, x.before
	if x.opened != nil { // the source goes part by part
		x.opened.Close()
		x.opened = nil
	}
	state := x.savedState()
	x.resumed = len(state.Parts)
	var read atomic.Int64
	open := func(off, n int64) (io.ReadCloser, error) {
		r, err := x.st.src.Open(ctx, e.Key, off, n)
		if err != nil {
			return nil, fail(sourceKind(err), err)
		}
		if err := w.limits.waitRequest(ctx, t.lease.Job); err != nil {
			r.Close()
			return nil, err
		}
		lr := &limitedReader{ctx: ctx, r: r, l: w.limits, job: t.lease.Job}
		return &countingReader{ReadCloser: readCloser{lr, r}, progress: &read, total: &w.copied}, nil
	}
	opt := store.MultipartOptions{
		PartSize: t.lease.Spec.Multipart.PartSize,
		Threads:  t.lease.Spec.Multipart.Threads,
		OnPart:   x.saveUpload,
	}
	// A local source's digests cost a read of (often cached) local bytes.
	// Known before the upload, they spare the destination a server-side
	// copy of the whole object to record its CRC64, every part is checked
	// against them, and the parts' MD5s are hashed side by side. A source
	// that cannot be read, or has changed size, gets no digests here: the
	// upload's own reads and the checks after it say what happened.
	if digests := x.st.srcF.PartDigests; digests != nil && x.resumed == 0 {
		opt.Digests = func(ctx context.Context, partSize int64) ([]store.PartDigest, error) {
			ds, n, err := digests(ctx, e.Key, partSize)
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
		if err := x.saveUpload(store.MultipartState{}); err != nil {
			if errors.Is(err, ErrStale) {
				t.cancel() // the task is someone else's now
			}
			return fail(task.WriteError, fmt.Errorf("saving the upload with its task: %w", err))
		}
	}
	stop := showProgress(&t.bytes, &read)
	landed, err := x.st.dstF.PutMultipart(ctx, e.Key, open, before.Size,
		store.Entry{Key: e.Key, Size: before.Size, MTime: before.MTime, Meta: before.Meta, CRC64: before.CRC64, HasCRC: before.HasCRC},
		opt, &state)
	stop()
	if err != nil {
		if errors.Is(err, ErrStale) {
			t.cancel() // the task is someone else's now
		}
		if f := (*failure)(nil); errors.As(err, &f) { // the source's
			return fail(f.kind, err)
		}
		// A part that no longer matches the source's digest fails the
		// upload; the file's size or mtime says whether it changed.
		if now, serr := x.st.src.Stat(ctx, e.Key); serr == nil && (now.Size != before.Size || !sameTime(now.MTime, before.MTime)) {
			return fail(task.SourceChanged, fmt.Errorf("changed while uploaded (size/mtime %d/%s before, %d/%s after): %w", before.Size,
				before.MTime.Format(time.RFC3339Nano), now.Size, now.MTime.Format(time.RFC3339Nano), err))
		}
		return fail(task.WriteError, err)
	}
	t.bytes.Add(before.Size)
	x.inFlight = before.Size
	x.landed, x.parts = landed, len(state.Parts)
	x.read, x.crc, x.hasCRC, x.crcOf = before.Size, before.CRC64, before.HasCRC, "source"
	return nil
}

// showProgress adds to progress, every half second, what has been read so
// far; the function it returns stops it and takes back what it added.
func showProgress(progress, read *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var shown int64
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				progress.Add(-shown)
				return
			case <-tick.C:
				n := read.Load()
				progress.Add(n - shown)
				shown = n
			}
		}
	}()
	return func() { close(done); <-finished }
}

// readCloser reads from one reader and closes another.
type readCloser struct {
	io.Reader
	io.Closer
}
