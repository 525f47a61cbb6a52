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

// Part tasks (task.Part): a large file's prepare task, range tasks and
// final task, each the file as its task's single entry, run here in turn
// by whichever workers lease them. What each saves with its task
// (SaveUpload, fenced by its lease) the next ones get with their leases:
//
//	prepare  Stat the source (its version is pinned: size, mtime, ETag),
//	         begin the destination's assembly; save both (prepared)
//	range    check the source is still that version, write bytes
//	         [Off, Off+Len) as whole parts, each read back or checked by
//	         the server; save the parts (rangeDone), after each one
//	final    gather every range's parts; the source still that version;
//	         the CRC64 of the whole file combined from the parts' must be
//	         the source's when it has one; finish the assembly (complete
//	         the upload, publish the file) and check what landed
//
// A range task that is leased again (its worker died) resumes after the
// parts it saved; the other ranges are not touched.

// prepared is what a prepare task saves. UploadID is the assembly's ID,
// where the master's clean looks for uploads to abort.
type prepared struct {
	UploadID string
	Assembly store.Assembly
	Source   pinned
}

// pinned is the version of the source a file's part tasks copy.
type pinned struct {
	Size   int64
	MTime  int64 // unix ns
	ETag   string
	CRC64  uint64
	HasCRC bool
	Meta   map[string]string `json:",omitempty"`
	Mode   uint32            `json:",omitempty"`
}

// same reports whether two pins are one version of the source.
func (p pinned) same(o pinned) bool {
	return p.Size == o.Size && p.MTime == o.MTime && p.ETag == o.ETag && p.HasCRC == o.HasCRC && p.CRC64 == o.CRC64
}

func pinOf(e store.Entry) pinned {
	return pinned{Size: e.Size, MTime: e.MTime.UnixNano(), ETag: e.ETag, CRC64: e.CRC64, HasCRC: e.HasCRC, Meta: e.Meta, Mode: e.Mode}
}

// rangeDone is what a range task saves: the parts it wrote.
type rangeDone struct {
	Parts []store.Part
}

// copyPart runs the part task t holds for e and returns its record.
func (x *transfer) copyPart(ctx context.Context, st *jobStores, t *running, e store.Entry) tracker.Record {
	*x = transfer{w: x.w, retries: x.retries, notes: x.notes, spare: x.spare, ctx: ctx, st: st, t: t, e: e}
	p := t.lease.Part
	asm := st.dstF.Assembler
	if asm == nil {
		return failRecord(e, task.WriteError, fmt.Errorf("%s destinations cannot be written in parts (splitFileThreshold)", t.lease.Spec.Dest.Type))
	}
	var rec tracker.Record
	var err error
	switch {
	case p.IsPrepare():
		rec, err = x.prepare(asm, p)
	case p.IsRange():
		rec, err = x.writeRange(asm, p)
	default:
		rec, err = x.finishParts(asm, p)
	}
	if err != nil {
		x.t.bytes.Add(-x.inFlight)
		f := asFailure(err)
		return failRecord(e, f.kind, f.err)
	}
	return rec
}

// saved returns what task id of the group saved.
func (x *transfer) saved(id uint64, v any) (bool, error) {
	for _, u := range x.t.lease.Uploads {
		if u.Task == id && u.Key == x.e.Key {
			if err := json.Unmarshal(u.State, v); err != nil {
				return false, fail(task.WriteError, fmt.Errorf("part task %d's saved state: %w", id, err))
			}
			return true, nil
		}
	}
	return false, nil
}

func (x *transfer) save(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	err = x.w.client.SaveUpload(x.ctx, x.w.cfg.ID, x.t.lease.Ref(), task.UploadState{Key: x.e.Key, State: b})
	if errors.Is(err, ErrStale) {
		x.t.cancel() // the task is someone else's now
	}
	if err != nil {
		return fail(task.WriteError, fmt.Errorf("saving with the task: %w", err))
	}
	return nil
}

// source looks at the source, and checks it is still the version pin says.
func (x *transfer) source(pin *pinned) (store.Entry, error) {
	if err := x.wait(); err != nil {
		return store.Entry{}, fail(task.ReadError, err)
	}
	now, err := x.st.src.Stat(x.ctx, x.e.Key)
	if err != nil {
		return store.Entry{}, fail(sourceKind(err), err)
	}
	if pin != nil && (now.Size != pin.Size || now.MTime.UnixNano() != pin.MTime || now.ETag != pin.ETag) {
		return now, fail(task.SourceChanged, fmt.Errorf("size/mtime/etag %d/%s/%q when its parts began, %d/%s/%q now",
			pin.Size, time.Unix(0, pin.MTime).UTC().Format(time.RFC3339Nano), pin.ETag, now.Size, now.MTime.UTC().Format(time.RFC3339Nano), now.ETag))
	}
	return now, nil
}

// prepare begins the assembly, or finds the one an earlier attempt of
// this task began for the same version of the source.
func (x *transfer) prepare(asm store.Assembler, p *task.Part) (tracker.Record, error) {
	before, err := x.source(nil)
	if err != nil {
		return tracker.Record{}, err
	}
	var prep prepared
	if ok, err := x.saved(x.t.lease.TaskID, &prep); err != nil || !ok || !prep.Source.same(pinOf(before)) {
		e := store.Entry{Key: x.e.Key, Size: before.Size, Meta: before.Meta, CRC64: before.CRC64, HasCRC: before.HasCRC}
		if x.t.x.preserve {
			e.MTime, e.Mode = before.MTime, before.Mode
		}
		a, err := asm.BeginAssembly(x.ctx, x.e.Key, partTag(x.t.lease.Job, p.Group), before.Size, e, p.Unit)
		if err != nil {
			return tracker.Record{}, fail(writeKind(err), err)
		}
		if a.PartSize != p.Unit {
			asm.AbortAssembly(context.WithoutCancel(x.ctx), x.e.Key, a)
			return tracker.Record{}, fail(task.WriteError, fmt.Errorf("the destination takes parts of %d bytes, the part tasks were cut for %d", a.PartSize, p.Unit))
		}
		prep = prepared{UploadID: a.ID, Assembly: a, Source: pinOf(before)}
		if err := x.save(prep); err != nil {
			return tracker.Record{}, err
		}
	}
	rec := tracker.Record{Time: time.Now(), Result: tracker.OK, Key: x.e.Key, Size: 0,
		Detail: fmt.Sprintf("part 0/%d: prepared for %d bytes in %d parts", p.Count, before.Size, (before.Size+p.Unit-1)/max(p.Unit, 1))}
	return rec, nil
}

// partTag names a group's temporary file (letters, digits, '-').
func partTag(job string, group uint64) string { return "p" + tempTag(job, group) }

// writeRange writes the task's range, resuming after the parts an earlier
// attempt of this task saved.
func (x *transfer) writeRange(asm store.Assembler, p *task.Part) (tracker.Record, error) {
	var prep prepared
	if ok, err := x.saved(p.Group, &prep); err != nil || !ok {
		return tracker.Record{}, fail(task.WriteError, fmt.Errorf("the prepare task saved no assembly (%v)", err))
	}
	if _, err := x.source(&prep.Source); err != nil {
		return tracker.Record{}, err
	}
	var mine rangeDone
	if _, err := x.saved(x.t.lease.TaskID, &mine); err != nil {
		return tracker.Record{}, err
	}
	resumed := len(mine.Parts)
	var read atomic.Int64
	open := func(off, n int64) (io.ReadCloser, error) {
		if err := x.wait(); err != nil {
			return nil, err
		}
		r, err := x.st.src.Open(x.ctx, x.e.Key, off, n)
		if err != nil {
			return nil, fail(sourceKind(err), err)
		}
		lr := &limitedReader{ctx: x.ctx, r: r, l: x.w.limits, job: x.t.lease.Job}
		return &countingReader{ReadCloser: readCloser{lr, r}, progress: &read, total: &x.w.copied}, nil
	}
	stop := showProgress(&x.t.bytes, &read)
	parts, err := asm.WriteRange(x.ctx, x.e.Key, prep.Assembly, p.Off, p.Len, open, x.t.lease.Spec.Multipart.Threads, mine.Parts,
		func(ps []store.Part) error { return x.save(rangeDone{Parts: ps}) })
	stop()
	if err != nil {
		if f := (*failure)(nil); errors.As(err, &f) {
			return tracker.Record{}, fail(f.kind, err)
		}
		return tracker.Record{}, fail(writeKind(err), err)
	}
	// The source must still be the version pinned: else the range may
	// hold bytes of two.
	if _, err := x.source(&prep.Source); err != nil {
		return tracker.Record{}, err
	}
	var crc uint64
	var n int64
	for _, pt := range parts {
		crc = store.CombineCRC64(crc, pt.CRC64, pt.Size)
		n += pt.Size
	}
	if n != p.Len {
		return tracker.Record{}, fail(task.SizeNotMatch, fmt.Errorf("the range's parts hold %d bytes, want %d", n, p.Len))
	}
	if err := x.save(rangeDone{Parts: parts}); err != nil {
		return tracker.Record{}, err
	}
	x.t.bytes.Add(p.Len)
	d := fmt.Sprintf("part %d/%d bytes=%d-%d parts=%d", p.Index, p.Count, p.Off, p.Off+p.Len-1, len(parts))
	if resumed > 0 {
		d += fmt.Sprintf(" resumed=%d", resumed)
	}
	return tracker.Record{Time: time.Now(), Result: tracker.OK, Key: x.e.Key, Size: p.Len, CRC64: crc, HasCRC: true, Detail: d}, nil
}

// finishParts checks the whole file from its parts and finishes it.
func (x *transfer) finishParts(asm store.Assembler, p *task.Part) (tracker.Record, error) {
	var prep prepared
	if ok, err := x.saved(p.Group, &prep); err != nil || !ok {
		return tracker.Record{}, fail(task.WriteError, fmt.Errorf("the prepare task saved no assembly (%v)", err))
	}
	var all []store.Part
	for i := 1; i <= p.Count; i++ {
		var r rangeDone
		if ok, err := x.saved(p.Group+uint64(i), &r); err != nil || !ok {
			return tracker.Record{}, fail(task.WriteError, fmt.Errorf("range %d of %d saved no parts (%v)", i, p.Count, err))
		}
		all = append(all, r.Parts...)
	}
	crc, size, ok := store.CombineParts(all)
	pin := prep.Source
	switch {
	case !ok:
		return tracker.Record{}, fail(task.WriteError, errors.New("the ranges' parts are not every part in order"))
	case size != pin.Size:
		return tracker.Record{}, fail(task.SizeNotMatch, fmt.Errorf("the parts hold %d bytes, the source %d", size, pin.Size))
	case pin.HasCRC && crc != pin.CRC64:
		return tracker.Record{}, fail(task.ChecksumMismatch, fmt.Errorf("crc64 of the parts %016x, source says %016x", crc, pin.CRC64))
	}
	if _, err := x.source(&pin); err != nil {
		return tracker.Record{}, err
	}
	e := store.Entry{Key: x.e.Key, Size: size, Meta: pin.Meta, CRC64: crc, HasCRC: true}
	if x.t.x.preserve {
		e.MTime, e.Mode = time.Unix(0, pin.MTime), pin.Mode
	}
	landed, err := asm.FinishAssembly(x.ctx, x.e.Key, prep.Assembly, size, all, e)
	if err != nil {
		return tracker.Record{}, fail(writeKind(err), err)
	}
	switch {
	case landed.Size != size:
		return tracker.Record{}, fail(task.SizeNotMatch, fmt.Errorf("the parts hold %d bytes, destination has %d", size, landed.Size))
	case landed.HasCRC && landed.CRC64 != crc:
		return tracker.Record{}, fail(task.ChecksumMismatch, fmt.Errorf("crc64 of the parts %016x, destination %016x", crc, landed.CRC64))
	}
	rec := tracker.Record{Time: time.Now(), Result: tracker.OK, Key: x.e.Key, Size: size, CRC64: crc, HasCRC: true,
		Detail: fmt.Sprintf("parts=%d ranges=%d", len(all), p.Count)}
	return noted(rec, x.t, time.Unix(0, pin.MTime), landed), nil
}

// writeKind classifies a failure to write the destination.
func writeKind(err error) task.Kind {
	if errors.Is(err, store.ErrInvalidKey) {
		return task.InvalidKey
	}
	return task.WriteError
}
