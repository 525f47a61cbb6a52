package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"ferry/store"
)

// bufPool holds the copy buffers of Put, shared by all stores: with many
// copy threads, a buffer per call would be most of the garbage. 256 KiB:
// a chunk written and read back at once stays in the CPU's caches, which on
// the bench machine made large copies 15-25% faster than with 1 MiB chunks.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// Temporary file names: ".ferry-" [tag "-"] 16 lowercase hex digits ".tmp",
// where tag is Put's store.PutOptions.TempTag (letters,
// digits and '-', at most maxTagLen). They are short, so a destination name
// of 255 bytes still has a sibling temporary file.
const (
	tempPrefix = ".ferry-"
	tempSuffix = ".tmp"
	tempDigits = 16
	maxTagLen  = 64
)

// tempName returns a new temporary file name carrying tag.
func tempName(tag string) string {
	if tag != "" {
		tag += "-"
	}
	return fmt.Sprintf("%s%s%016x%s", tempPrefix, tag, rand.Uint64(), tempSuffix)
}

// parseTempName reports whether name has the exact pattern of Put's
// temporary files, and returns its tag ("" for none).
func parseTempName(name string) (tag string, ok bool) {
	if !strings.HasPrefix(name, tempPrefix) || !strings.HasSuffix(name, tempSuffix) ||
		len(name) < len(tempPrefix)+tempDigits+len(tempSuffix) {
		return "", false
	}
	mid := name[len(tempPrefix) : len(name)-len(tempSuffix)]
	for _, c := range []byte(mid[len(mid)-tempDigits:]) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	tag = mid[:len(mid)-tempDigits]
	if tag == "" {
		return "", true
	}
	if !strings.HasSuffix(tag, "-") {
		return "", false
	}
	tag = tag[:len(tag)-1]
	return tag, validTag(tag)
}

// isTempName reports whether name is one of Put's temporary files.
func isTempName(name string) bool {
	_, ok := parseTempName(name)
	return ok
}

// validTag reports whether tag can name temporary files.
func validTag(tag string) bool {
	if tag == "" || len(tag) > maxTagLen {
		return false
	}
	for _, c := range []byte(tag) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && c != '-' {
			return false
		}
	}
	return true
}

// Put writes key from r atomically: the bytes go to a temporary file in the
// destination directory (created with its parents, mode 0755, when missing),
// an unnamed one where the file system allows (anon.go), which is linked or
// renamed over key only once it is complete. Readers see the old
// content or the new, never a part; after an error nothing is left behind.
//
// The returned Entry carries the size and mtime of the file and the CRC64 of
// its content read back after writing, so the caller can compare it with the
// checksum it computed from the source. Of e, only MTime and Mode are used:
// when set, they become the file's mtime and permission bits.
//
// With o.TempTag set, the temporary file's name carries the tag, so that
// CleanTemps can remove it if the process dies first.
//
// Put does not fsync: call Sync before relying on durability.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, e store.Entry, o store.PutOptions) (store.Entry, error) {
	if err := store.CheckKey(key); err != nil {
		return store.Entry{}, fmt.Errorf("put: %w", err)
	}
	if isTempName(filepath.Base(key)) {
		return store.Entry{}, fmt.Errorf("put: %w %q: name reserved for temporary files", store.ErrInvalidKey, key)
	}
	if err := ctx.Err(); err != nil {
		return store.Entry{}, err
	}
	tag := o.TempTag
	if tag != "" && !validTag(tag) {
		return store.Entry{}, fmt.Errorf("put %q: invalid temporary file tag %q (want 1-%d letters, digits or '-')", key, tag, maxTagLen)
	}
	dst := l.keyPath(key)
	defer dst.free()
	mode := uint32(0o644)
	if e.Mode != 0 {
		mode = e.Mode & 0o777
	}
	// An unnamed file (anon.go) where the file system has them, in the
	// directory made first if missing; else a named temporary file, tmp.
	fd, err := l.createAnon(dst, mode)
	if errors.Is(err, unix.ENOENT) && os.MkdirAll(dst.dir(), 0o755) == nil {
		fd, _ = l.createAnon(dst, mode)
	}
	tmp := ""
	named := fd < 0
	if named {
		var err error
		if fd, tmp, err = l.createTemp(key, dst.dir(), tag, mode); err != nil {
			return store.Entry{}, err
		}
	}
	tmpName := func() string {
		if named {
			return tmp
		}
		return dst.dir() + "/(unnamed temporary file)"
	}
	closed, done := false, false
	defer func() {
		if !closed {
			unix.Close(fd)
		}
		if !done && named {
			unix.Unlink(tmp)
		}
	}()
	fail := func(err error) (store.Entry, error) { return store.Entry{}, fmt.Errorf("put %q: %w", key, err) }

	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	written, sum, err := copyVerified(ctx, fd, tmpName, r, *bp)
	if err != nil {
		return fail(err)
	}
	want := e.Mode & 0o777 // the permission bits asked for; 0: none
	// The file as it landed: its size, the permission bits it got and its
	// device, from an fstat; or, for an unnamed file that Put dates, in a
	// directory where a file created with the same mode was looked at
	// since the last Sync, from that (dirfacts.go).
	dir := dst.b[:dst.dirLen()]
	fact, known := dirFact{}, false
	if !named && !e.MTime.IsZero() {
		fact, known = l.facts.get(dir)
		known = known && fact.req == mode
	}
	var st unix.Stat_t
	if !known {
		l.fstats.Add(1)
		if err := ignoringEINTR(func() error { return unix.Fstat(fd, &st) }); err != nil {
			return fail(&fs.PathError{Op: "fstat", Path: tmpName(), Err: err})
		}
		if st.Size != written {
			return fail(fmt.Errorf("wrote %d bytes but %d landed", written, st.Size))
		}
		fact = dirFact{req: mode, got: st.Mode & 0o777, dev: uint64(st.Dev)}
		if !named {
			l.facts.learn(dir, fact)
		}
	}
	// The umask may have taken bits away from the mode the file was
	// created with; only then does it need a chmod.
	if want != 0 && fact.got != want {
		if err := ignoringEINTR(func() error { return unix.Fchmod(fd, want) }); err != nil {
			return fail(&fs.PathError{Op: "chmod", Path: tmpName(), Err: err})
		}
	}
	mtime := time.Unix(st.Mtim.Unix()) // e.MTime when known
	if !e.MTime.IsZero() {
		if err := setMTime(fd, e.MTime); err != nil {
			return fail(&fs.PathError{Op: "utimensat", Path: tmpName(), Err: err})
		}
		mtime = e.MTime
	}
	if named {
		closed = true
		if err := unix.Close(fd); err != nil {
			return fail(&fs.PathError{Op: "close", Path: tmp, Err: err})
		}
		err = ignoringEINTR(func() error { return unix.Rename(tmp, dst.String()) })
	} else {
		err = l.publishAnon(fd, dst, tag)
	}
	if err != nil {
		if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
			return store.Entry{}, fmt.Errorf("put %q: %s is a directory", key, dst)
		}
		return store.Entry{}, opError("put", key, &os.LinkError{Op: "rename", Old: tmpName(), New: dst.String(), Err: err})
	}
	done = true
	if !closed {
		closed = true
		if err := unix.Close(fd); err != nil {
			unix.Unlink(dst.String()) // in place, but not known good
			return fail(&fs.PathError{Op: "close", Path: dst.String(), Err: err})
		}
	}
	if fact.dev != l.rootDev {
		l.noteDevice(fact.dev, dst.dir())
	}
	return store.Entry{Key: key, Kind: store.File, Size: written, MTime: mtime, CRC64: sum, HasCRC: true}, nil
}

// setMTime sets the mtime of the open file fd to t, to the nanosecond,
// leaving its atime alone: utimensat(fd, NULL, ...), which x/sys/unix has no
// wrapper for.
func setMTime(fd int, t time.Time) error {
	ts := [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Sec: t.Unix(), Nsec: int64(t.Nanosecond())}}
	return ignoringEINTR(func() error {
		_, _, errno := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
		if errno != 0 {
			return errno
		}
		return nil
	})
}

// createTemp creates a new temporary file in dir with the permission bits
// mode (less the umask), making dir first if it is missing, and returns its
// descriptor and name. It tries the create first: when dir exists, as it
// usually does, that costs one system call.
func (l *Local) createTemp(key, dir, tag string, mode uint32) (int, string, error) {
	for try := 0; ; try++ {
		name := dir + "/" + tempName(tag)
		var fd int
		err := ignoringEINTR(func() (err error) {
			fd, err = unix.Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, mode)
			return err
		})
		switch {
		case err == nil:
			return fd, name, nil
		case try >= 100:
			return -1, "", opError("put", key, &fs.PathError{Op: "open", Path: name, Err: err})
		case errors.Is(err, fs.ErrExist):
			continue
		case errors.Is(err, fs.ErrNotExist): // dir missing, or removed by a concurrent Delete
			err = os.MkdirAll(dir, 0o755)
		default:
			err = &fs.PathError{Op: "open", Path: name, Err: err}
		}
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EEXIST) {
			return -1, "", fmt.Errorf("put %q: %s", key, l.notDirectory(dir))
		}
		if err != nil {
			return -1, "", opError("put", key, err)
		}
	}
}

// fdWriter writes to a descriptor, all of each buffer or an error.
type fdWriter struct {
	fd   int
	name func() string // for errors
}

func (w fdWriter) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(w.fd, p[done:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return done, &fs.PathError{Op: "write", Path: w.name(), Err: err}
		}
		if n == 0 {
			return done, &fs.PathError{Op: "write", Path: w.name(), Err: io.ErrShortWrite}
		}
		done += n
	}
	return done, nil
}

// notDirectory says which ancestor of dir, below the root, is in the way of
// making dir because it exists and is not a directory.
func (l *Local) notDirectory(dir string) string {
	for d := dir; len(d) > len(l.root); d = filepath.Dir(d) {
		if fi, err := os.Lstat(d); err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(l.root, d)
			return fmt.Sprintf("%q (%s) exists and is not a directory", rel, d)
		}
	}
	return fmt.Sprintf("cannot make directory %s: a path component is not a directory", dir)
}

// copyVerified copies r to the file fd (named name) through buf, checking
// ctx between chunks, and reads each chunk back from the file right after
// writing it: the CRC64 it returns is of what landed, which catches short
// writes and corruption between the caller's checksum and the file system.
// Read back at once, a chunk is still in the CPU's caches: reading the whole
// file back after writing it cost a third of the CPU of copying large files.
// Errors say whether reading the source or writing the file failed.
func copyVerified(ctx context.Context, fd int, name func() string, r io.Reader, buf []byte) (written int64, crc uint64, err error) {
	w := fdWriter{fd, name}
	for {
		if err := ctx.Err(); err != nil {
			return written, 0, err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return written, 0, fmt.Errorf("writing: %w", err)
			}
			if err := readBack(fd, buf[:n], written); err != nil {
				return written, 0, fmt.Errorf("reading back %s: %w", name(), err)
			}
			crc = store.UpdateCRC64(crc, buf[:n])
			written += int64(n)
		}
		if rerr == io.EOF {
			return written, crc, nil
		}
		if rerr != nil {
			return written, 0, fmt.Errorf("reading source: %w", rerr)
		}
	}
}

// readBack fills p from the file fd at off; the file ending sooner is an
// error.
func readBack(fd int, p []byte, off int64) error {
	for len(p) > 0 {
		var n int
		err := ignoringEINTR(func() (err error) { n, err = unix.Pread(fd, p, off); return err })
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("the file ends at %d, before what was written there", off)
		}
		p, off = p[n:], off+int64(n)
	}
	return nil
}

// noteDevice remembers a directory on each device other than the root's that
// Put wrote to (a mount point below the root), so Sync flushes it too: dir,
// the directory of a path written.
func (l *Local) noteDevice(dev uint64, dir string) {
	if dev == l.rootDev {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.devs[dev]; ok {
		return
	}
	if fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		l.devs[dev] = fd
	}
}

// Sync makes every Put that returned before Sync was called durable: the
// data, the metadata and the rename into place all reach stable storage. It
// is one syncfs(2) of the file system holding the root (and of each other file
// system below the root that Put wrote to), which replaces an fsync per file:
// a worker calls it once per task, before reporting the task done. A write-back
// error on those file systems since the last Sync is returned (Linux 5.8+).
func (l *Local) Sync(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.recheckDevices()
	fd, err := unix.Open(l.root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("sync %s: %w", l.root, err)
	}
	defer unix.Close(fd)
	if err := ignoringEINTR(func() error { return unix.Syncfs(fd) }); err != nil {
		return fmt.Errorf("sync %s: syncfs: %w", l.root, err)
	}
	l.mu.Lock() // held so that Close cannot close these descriptors meanwhile
	defer l.mu.Unlock()
	for _, fd := range l.devs {
		if err := ignoringEINTR(func() error { return unix.Syncfs(fd) }); err != nil {
			return fmt.Errorf("sync %s: syncfs of a file system mounted below it: %w", l.root, err)
		}
	}
	return nil
}

// CleanTemps removes the temporary files named with tag (see
// store.PutOptions) in the directory dirKey ("" is the root): what an
// earlier attempt of the same task left when its process died. Other tasks'
// temporary files, and all other files, are left alone. A missing directory
// has nothing to clean.
func (l *Local) CleanTemps(ctx context.Context, dirKey, tag string) error {
	if !validTag(tag) {
		return fmt.Errorf("clean temporary files: invalid tag %q", tag)
	}
	dir := l.root
	if dirKey != "" {
		if err := store.CheckKey(dirKey); err != nil {
			return fmt.Errorf("clean temporary files: %w", err)
		}
		dir = l.path(dirKey)
	}
	des, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clean temporary files in %q: %w", dirKey, wrapSentinel(err))
	}
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return err
		}
		if t, ok := parseTempName(de.Name()); !ok || t != tag || !de.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, de.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("clean temporary files in %q: %w", dirKey, err)
		}
	}
	return nil
}

// Delete removes key, then each parent directory that this leaves empty, up
// to but not including the root. A missing key, or one naming a directory,
// is an error wrapping store.ErrNotExist. It does not fsync.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := store.CheckKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := l.path(key)
	fi, err := os.Lstat(p)
	if err != nil {
		return opError("delete", key, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("delete %q: %w: %s is a directory", key, store.ErrNotExist, p)
	}
	if err := os.Remove(p); err != nil {
		return opError("delete", key, err)
	}
	for d := filepath.Dir(p); len(d) > len(l.root); d = filepath.Dir(d) {
		if unix.Rmdir(d) != nil { // not empty (ENOTEMPTY), or in use: stop
			break
		}
	}
	return nil
}
