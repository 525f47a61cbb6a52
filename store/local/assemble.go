package local

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"ferry/store"
)

var _ store.Assembler = (*Local)(nil)

// A file assembled from ranges (store.Assembler) is written into a
// temporary file beside its target, named as Put's (".ferry-<tag>-<16
// hex>.tmp", so listings leave it out), its hex digits a hash of the key:
// the same for every writer, on every host that shares the directory, and
// for a prepare task run again. Each range is written, read back and
// compared chunk by chunk as Put's bytes are, then made durable (fsync)
// before WriteRange returns; FinishAssembly checks the size, sets the
// mtime and mode, makes the file durable and renames it into place.

// assemblyName returns the temporary file's key for key and tag.
func assemblyName(key, tag string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	name := fmt.Sprintf("%s%s-%016x%s", tempPrefix, tag, h.Sum64(), tempSuffix)
	if dir := path.Dir(key); dir != "." {
		return dir + "/" + name
	}
	return name
}

// BeginAssembly implements store.Assembler: the temporary file, created
// anew (a prepare task run again starts it over) with size bytes.
func (l *Local) BeginAssembly(ctx context.Context, key, tag string, size int64, e store.Entry, partSize int64) (store.Assembly, error) {
	if err := store.CheckKey(key); err != nil {
		return store.Assembly{}, fmt.Errorf("begin assembly: %w", err)
	}
	if !validTag(tag) {
		return store.Assembly{}, fmt.Errorf("begin assembly %q: invalid temporary file tag %q", key, tag)
	}
	if err := l.checkNameLengths(key); err != nil {
		return store.Assembly{}, fmt.Errorf("begin assembly: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return store.Assembly{}, err
	}
	id := assemblyName(key, tag)
	p := l.path(id)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return store.Assembly{}, opError("begin assembly", key, err)
	}
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return store.Assembly{}, opError("begin assembly", key, err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		return store.Assembly{}, opError("begin assembly", key, err)
	}
	if partSize <= 0 {
		partSize = 8 << 20
	}
	return store.Assembly{ID: id, PartSize: partSize}, nil
}

// WriteRange implements store.Assembler. Parts are written one after the
// other (the range is one worker's; a disk takes no more from threads),
// each read back and made durable before onPart hears of it.
func (l *Local) WriteRange(ctx context.Context, key string, a store.Assembly, off, n int64, src func(off, n int64) (io.ReadCloser, error),
	_ int, done []store.Part, onPart func([]store.Part) error) ([]store.Part, error) {
	if a.PartSize <= 0 || off%a.PartSize != 0 {
		return nil, fmt.Errorf("write range %q at %d: not at a part boundary of %d", key, off, a.PartSize)
	}
	f, err := os.OpenFile(l.path(a.ID), os.O_RDWR, 0)
	if err != nil {
		return nil, opError("write range", key, err)
	}
	defer f.Close()
	have := map[int]bool{}
	parts := append([]store.Part(nil), done...)
	for _, p := range parts {
		have[p.Number] = true
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	back := make([]byte, len(buf))
	for p := off; p < off+n; p += a.PartSize {
		num := int(p/a.PartSize) + 1
		if have[num] {
			continue
		}
		ln := min(a.PartSize, off+n-p)
		crc, err := writePart(ctx, f, src, p, ln, buf, back)
		if err != nil {
			return nil, fmt.Errorf("write range %q: part %d at %d: %w", key, num, p, err)
		}
		if err := f.Sync(); err != nil {
			return nil, opError("write range", key, err)
		}
		parts = append(parts, store.Part{Number: num, CRC64: crc, Size: ln})
		if onPart != nil {
			if err := onPart(append([]store.Part(nil), parts...)); err != nil {
				return nil, err
			}
		}
	}
	return parts, nil
}

// writePart copies n bytes at off from src into f, reading each chunk
// back, and returns the CRC64 of what landed; bytes that read back
// otherwise than written fail it.
func writePart(ctx context.Context, f *os.File, src func(off, n int64) (io.ReadCloser, error), off, n int64, buf, back []byte) (uint64, error) {
	r, err := src(off, n)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	var crc uint64
	for done := int64(0); done < n; {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		k, err := io.ReadFull(r, buf[:min(int64(len(buf)), n-done)])
		if err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				err = fmt.Errorf("the source ended after %d of %d bytes (did it change?)", done+int64(k), n)
			}
			return 0, err
		}
		if _, err := f.WriteAt(buf[:k], off+done); err != nil {
			return 0, classify(err)
		}
		if err := readBack(f, back[:k], off+done); err != nil {
			return 0, err
		}
		want, got := store.UpdateCRC64(0, buf[:k]), store.UpdateCRC64(0, back[:k])
		if want != got {
			return 0, fmt.Errorf("bytes at %d read back with CRC64 %016x, written with %016x", off+done, got, want)
		}
		crc = store.CombineCRC64(crc, got, int64(k))
		done += int64(k)
	}
	return crc, nil
}

// FinishAssembly implements store.Assembler.
func (l *Local) FinishAssembly(ctx context.Context, key string, a store.Assembly, size int64, parts []store.Part, e store.Entry) (store.Entry, error) {
	crc, total, ok := store.CombineParts(parts)
	switch {
	case !ok:
		return store.Entry{}, fmt.Errorf("finish assembly %q: parts missing or out of order", key)
	case total != size:
		return store.Entry{}, fmt.Errorf("finish assembly %q: the parts hold %d bytes, want %d", key, total, size)
	case e.HasCRC && e.CRC64 != crc:
		return store.Entry{}, fmt.Errorf("finish assembly %q: the parts' CRC64 %016x is not the source's %016x", key, crc, e.CRC64)
	}
	tmp, dst := l.path(a.ID), l.path(key)
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return l.finishedEarlier(ctx, key, size, crc)
	}
	if err != nil {
		return store.Entry{}, opError("finish assembly", key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return store.Entry{}, opError("finish assembly", key, err)
	}
	if fi.Size() != size {
		return store.Entry{}, fmt.Errorf("finish assembly %q: the temporary file has %d bytes, want %d", key, fi.Size(), size)
	}
	mode := os.FileMode(0o644)
	if e.Mode != 0 {
		mode = os.FileMode(e.Mode & 0o777)
	}
	if err := f.Chmod(mode); err != nil {
		return store.Entry{}, opError("finish assembly", key, err)
	}
	mtime := e.MTime
	if !mtime.IsZero() {
		if err := os.Chtimes(tmp, time.Time{}, mtime); err != nil {
			return store.Entry{}, opError("finish assembly", key, err)
		}
	}
	if err := f.Sync(); err != nil {
		return store.Entry{}, opError("finish assembly", key, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return store.Entry{}, opError("finish assembly", key, err)
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	if mtime.IsZero() {
		mtime = time.Now()
	}
	return store.Entry{Key: key, Size: size, MTime: mtime, CRC64: crc, HasCRC: true, Kind: store.File, Mode: uint32(mode)}, nil
}

// finishedEarlier returns the published file when an earlier attempt
// renamed it into place (its answer was lost): the target must hold the
// bytes the parts make, as read back now.
func (l *Local) finishedEarlier(ctx context.Context, key string, size int64, crc uint64) (store.Entry, error) {
	e, err := l.Stat(ctx, key)
	if err != nil {
		return store.Entry{}, fmt.Errorf("finish assembly %q: no temporary file, and %w", key, err)
	}
	r, err := l.Open(ctx, key, 0, -1)
	if err != nil {
		return store.Entry{}, err
	}
	defer r.Close()
	h := store.NewCRC64()
	if n, err := io.Copy(h, r); err != nil || n != size || h.Sum64() != crc {
		return store.Entry{}, fmt.Errorf("finish assembly %q: no temporary file, and the file there is not the parts' (%d bytes, %v)", key, n, err)
	}
	e.CRC64, e.HasCRC = crc, true
	return e, nil
}

// AbortAssembly implements store.Assembler.
func (l *Local) AbortAssembly(ctx context.Context, key string, a store.Assembly) error {
	if err := os.Remove(l.path(a.ID)); err != nil {
		return opError("abort assembly", key, err)
	}
	return nil
}
