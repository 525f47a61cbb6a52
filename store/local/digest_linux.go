package local

import (
	"context"
	"fmt"
	"hash"
	"os"
	"runtime/debug"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"ferry/store"
)

// Part digests on Linux: the parts are read through read-only shared maps
// of the file, populated at once (MAP_POPULATE) rather than a fault per
// page. A file truncated under a map makes reading it fault; the fault
// becomes an error.

// partDigests is PartDigests of a positive part size.
func (l *Local) partDigests(ctx context.Context, key string, partSize int64) ([]store.PartDigest, int64, error) {
	if l.portable {
		return l.partDigestsPortable(ctx, key, partSize)
	}
	f, e, err := l.OpenStat(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	fd := f.(*file).fd
	if err := worthDigesting(fd, e.Size); err != nil {
		return nil, 0, fmt.Errorf("part digests %q: %w", key, err)
	}
	ds := make([]store.PartDigest, (e.Size+partSize-1)/partSize)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(digestStreams)
	for i := range ds {
		off := int64(i) * partSize
		g.Go(func() (err error) {
			ds[i], err = digestRange(gctx, fd, off, min(partSize, e.Size-off))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, fmt.Errorf("part digests %q: %w", key, err)
	}
	return ds, e.Size, nil
}

// digestRange returns the digest of the n bytes of fd from off.
func digestRange(ctx context.Context, fd int, off, n int64) (store.PartDigest, error) {
	if err := takeDigestSlot(ctx); err != nil {
		return store.PartDigest{}, err
	}
	defer func() { <-digestSlots }()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	h, release := partHash(n)
	defer release()
	d := store.PartDigest{Size: n}
	page := int64(os.Getpagesize())
	for end := off + n; off < end; {
		if err := ctx.Err(); err != nil {
			return d, err
		}
		start := off &^ (page - 1) // maps start on a page
		w := min(end-start, mapWindow)
		m, err := unix.Mmap(fd, start, int(w), unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
		if err != nil {
			return d, fmt.Errorf("mmap at %d: %w", start, err)
		}
		d.CRC64, err = digestMapped(h, d.CRC64, m[off-start:])
		unix.Munmap(m)
		if err != nil {
			return d, err
		}
		off = start + w
	}
	copy(d.MD5[:], h.Sum(nil))
	return d, nil
}

// digestMapped adds m to h and crc, a MiB at a time (each slice hashed by
// both while it is in the CPU's caches), turning a fault while reading m
// into an error. The caller has debug.SetPanicOnFault set.
func digestMapped(h hash.Hash, crc uint64, m []byte) (sum uint64, err error) {
	defer func() {
		if r := recover(); r != nil {
			// debug.SetPanicOnFault's panics carry the faulting address.
			if re, ok := r.(interface{ Addr() uintptr }); ok {
				err = fmt.Errorf("file shrank while read (fault at %#x)", re.Addr())
				return
			}
			panic(r)
		}
	}()
	for len(m) > 0 {
		p := m[:min(len(m), 1<<20)]
		h.Write(p)
		crc = store.UpdateCRC64(crc, p)
		m = m[len(p):]
	}
	return crc, nil
}

// worthDigesting reports why the file fd of size bytes should not be read
// before it is sent (see PartDigests), or nil.
func worthDigesting(fd int, size int64) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return err
	}
	if networkFS(fs.Type) {
		return fmt.Errorf("on a network file system (type %#x): not read twice", fs.Type)
	}
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err == nil {
		if mem := int64(si.Totalram) * int64(si.Unit); mem > 0 && size > mem/8 {
			return fmt.Errorf("%d bytes, more than an eighth of the memory (%d): would not stay cached", size, mem)
		}
	}
	return nil
}

// networkFS reports whether a statfs f_type is a file system whose reads
// cross a network.
func networkFS(t int64) bool {
	switch uint32(t) {
	case unix.NFS_SUPER_MAGIC, unix.SMB_SUPER_MAGIC, unix.SMB2_SUPER_MAGIC, unix.CIFS_SUPER_MAGIC,
		unix.FUSE_SUPER_MAGIC, unix.CEPH_SUPER_MAGIC, unix.AFS_SUPER_MAGIC, unix.AFS_FS_MAGIC,
		unix.V9FS_MAGIC, unix.CODA_SUPER_MAGIC, unix.NCP_SUPER_MAGIC, unix.OCFS2_SUPER_MAGIC,
		0x0bd00bd0, // Lustre
		0x47504653, // GPFS
		0x013111a8: // IBRIX
		return true
	}
	return false
}
