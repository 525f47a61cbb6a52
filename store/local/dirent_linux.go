package local

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Directory entries straight from getdents64 into a buffer the walker
// reuses, and lstat of a name through another: a listed file costs one
// allocation, its key. os.File.ReadDir made a DirEntry and a name for each
// entry, and unix.Fstatat a NUL-terminated copy of the name, which was
// three quarters of the scan's allocations.

// direntBufSize is the walker's getdents64 buffer: about 300 entries a call.
const direntBufSize = 16 << 10

// Offsets in struct linux_dirent64: u64 d_ino, s64 d_off, u16 d_reclen,
// u8 d_type, then the NUL-terminated name.
const (
	direntIno    = 0
	direntReclen = 16
	direntType   = 18
	direntName   = 19
)

// readDir calls fn with the name and type (typeUnknown where the file
// system does not say) of each entry of the directory open as fd, but "."
// and "..". name is valid only during the call.
func readDir(fd int, buf []byte, fn func(name []byte, typ fs.FileMode)) error {
	for {
		var n int
		err := ignoringEINTR(func() (err error) { n, err = unix.Getdents(fd, buf); return err })
		if err != nil {
			return err
		}
		if n <= 0 {
			return nil
		}
		if err := parseDirents(buf[:n], fn); err != nil {
			return err
		}
	}
}

// parseDirents calls fn for each entry in b, what getdents64 returned.
func parseDirents(b []byte, fn func(name []byte, typ fs.FileMode)) error {
	for len(b) > 0 {
		if len(b) < direntName {
			return fmt.Errorf("getdents64: %d bytes left, shorter than an entry", len(b))
		}
		reclen := int(binary.NativeEndian.Uint16(b[direntReclen:]))
		if reclen <= direntName || reclen > len(b) {
			return fmt.Errorf("getdents64: entry of %d bytes with %d left", reclen, len(b))
		}
		rec := b[:reclen]
		b = b[reclen:]
		if binary.NativeEndian.Uint64(rec[direntIno:]) == 0 {
			continue // a deleted entry (as os.ReadDir skips it)
		}
		name := rec[direntName:]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if len(name) == 0 || name[0] == '.' && (len(name) == 1 || len(name) == 2 && name[1] == '.') {
			continue
		}
		fn(name, direntMode(rec[direntType]))
	}
	return nil
}

// lstatAt is fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW), with the name's
// NUL-terminated copy made in *cname.
func lstatAt(dirfd int, name string, st *unix.Stat_t, cname *[]byte) error {
	c := append(append((*cname)[:0], name...), 0)
	*cname = c
	for {
		_, _, e := unix.Syscall6(unix.SYS_NEWFSTATAT, uintptr(dirfd), uintptr(unsafe.Pointer(&c[0])),
			uintptr(unsafe.Pointer(st)), unix.AT_SYMLINK_NOFOLLOW, 0, 0)
		runtime.KeepAlive(c)
		if e != unix.EINTR {
			return errnoOf(e)
		}
	}
}

// direntMode is the fs.FileMode type of a d_type (unix.DT_*).
func direntMode(typ uint8) fs.FileMode {
	switch typ {
	case unix.DT_REG:
		return 0
	case unix.DT_DIR:
		return fs.ModeDir
	case unix.DT_LNK:
		return fs.ModeSymlink
	case unix.DT_FIFO:
		return fs.ModeNamedPipe
	case unix.DT_SOCK:
		return fs.ModeSocket
	case unix.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.DT_BLK:
		return fs.ModeDevice
	}
	return typeUnknown
}
