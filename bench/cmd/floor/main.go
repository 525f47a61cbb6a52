//go:build linux

// Command floor measures what the system calls of copying files cost on
// this machine, without ferry around them: the sequence cp makes for a
// file with its data through user space (open, fstat, read, create, write,
// close, close), cp's in-kernel copy of a large file (copy_file_range,
// nothing checked), and the sequence ferry's guarantees take (the scan's
// lstat; open of the source, its reads, and fstat of it after them,
// compared with the listing; an unnamed file written chunk by chunk, each
// chunk read back and its CRC-64 compared with the source's; the file
// dated and linked into place; the audit's lstat; two closes). It copies
// every file below -src into -dst, with 1 and with -threads goroutines,
// and prints microseconds per file for each sequence: the floor ferry's
// own time cannot go below, whatever its engine does. With -seq, only one
// sequence runs, with -threads goroutines (bench/run.sh alternates it with
// cp -r that way, on small, large and spread).
//
//	go run ./bench/cmd/floor -src /dev/shm/ferry-bench/data/small -dst /dev/shm/floor
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"ferry/internal/crc64ecma"
)

func main() {
	src := flag.String("src", "/dev/shm/ferry-bench/data/small", "directory of files to copy")
	dst := flag.String("dst", "/dev/shm/ferry-floor", "scratch directory (removed first and after)")
	threads := flag.Int("threads", 2, "goroutines for the parallel runs")
	rounds := flag.Int("n", 3, "runs of each sequence; the median is printed")
	only := flag.String("seq", "", `run only this sequence ("cp", "ferry" or "kernel"), only with -threads goroutines`)
	flag.Parse()
	if *only != "" && *only != "cp" && *only != "ferry" && *only != "kernel" {
		fmt.Fprintf(os.Stderr, "floor: -seq %q: want cp, ferry or kernel\n", *only)
		os.Exit(2)
	}
	var files []string
	err := filepath.WalkDir(*src, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			rel, _ := filepath.Rel(*src, p)
			files = append(files, rel)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		fmt.Fprintf(os.Stderr, "floor: no files under %s (%v)\n", *src, err)
		os.Exit(2)
	}
	fmt.Printf("%d files from %s; median of %d runs\n\n| sequence | calls/file | threads | us/file |\n|---|---:|---:|---:|\n", len(files), *src, *rounds)
	var machine []string
	for _, s := range []struct {
		key   string
		name  string
		calls int
		copy  func(src, dst string, buf []byte) error
	}{
		{"cp", "cp (open, fstat, read, create, write, close x2)", 7, copyPlain},
		{"ferry", "ferry (+ scan, checks, unnamed file, read-back and CRC-64 of both sides, mtime, link, audit)", 13, copyFerry},
		{"kernel", "cp's large-file copy (open, fstat, create, copy_file_range, close x2), nothing checked", 6, copyKernel},
	} {
		counts := []int{1, *threads}
		switch *only {
		case "":
		case s.key:
			counts = []int{*threads}
		default:
			continue
		}
		for _, n := range counts {
			var times []time.Duration
			for range *rounds {
				d, err := run(*src, *dst, files, n, s.copy)
				if err != nil {
					fmt.Fprintln(os.Stderr, "floor:", err)
					os.Exit(1)
				}
				times = append(times, d)
			}
			slicesSort(times)
			med := times[len(times)/2]
			fmt.Printf("| %s | %d | %d | %.1f |\n", s.name, s.calls, n, float64(med.Nanoseconds())/1e3/float64(len(files)))
			machine = append(machine, fmt.Sprintf("FLOOR seq=%s threads=%d us_per_file=%.2f seconds=%.3f", s.key, n, float64(med.Nanoseconds())/1e3/float64(len(files)), med.Seconds()))
		}
	}
	os.RemoveAll(*dst)
	// The same figures a line each, for bench/run.sh.
	fmt.Println()
	for _, l := range machine {
		fmt.Println(l)
	}
}

func slicesSort(d []time.Duration) {
	for i := 1; i < len(d); i++ {
		for j := i; j > 0 && d[j] < d[j-1]; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
}

// run copies files with n goroutines into a fresh dst whose directories
// exist (ferry and cp both make each directory once, not per file).
func run(src, dst string, files []string, n int, copy func(string, string, []byte) error) (time.Duration, error) {
	os.RemoveAll(dst)
	for _, f := range files {
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(f)), 0o755); err != nil {
			return 0, err
		}
	}
	work := make(chan string, 256)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 512<<10) // ferry: 256 KiB read, 256 KiB read back
			for f := range work {
				if err := copy(filepath.Join(src, f), filepath.Join(dst, f), buf); err != nil {
					errs <- fmt.Errorf("%s: %w", f, err)
					return
				}
			}
		}()
	}
	for _, f := range files {
		work <- f
	}
	close(work)
	wg.Wait()
	took := time.Since(start)
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return took, nil
}

// copyPlain is cp's sequence for a file, with the data through user space:
// open, fstat, read and write until the size, create, two closes (a small
// file: one read, one write).
func copyPlain(src, dst string, buf []byte) error {
	return copyBy(src, dst, func(in, out int, left int64) (int, error) {
		n, err := unix.Read(in, buf[:min(int64(len(buf)), left)])
		if err == nil && n > 0 {
			_, err = unix.Write(out, buf[:n])
		}
		return n, err
	})
}

// copyKernel is what cp -r does with a large file's data: copy_file_range,
// the kernel copying page to page with nothing read into user space and
// nothing checked.
func copyKernel(src, dst string, _ []byte) error {
	return copyBy(src, dst, func(in, out int, left int64) (int, error) {
		return unix.CopyFileRange(in, nil, out, nil, int(min(left, 1<<30)), 0)
	})
}

// copyBy opens src, learns its size, creates dst and calls step until
// step has moved that many bytes from in to out (step returns how many it
// moved, 0 at an early end).
func copyBy(src, dst string, step func(in, out int, left int64) (int, error)) error {
	in, err := unix.Open(src, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(in)
	var st unix.Stat_t
	if err := unix.Fstat(in, &st); err != nil {
		return err
	}
	out, err := unix.Open(dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	for left := st.Size; left > 0; {
		n, err := step(in, out, left)
		if err == nil && n == 0 {
			err = fmt.Errorf("%s ended %d bytes early", src, left)
		}
		if err != nil {
			unix.Close(out)
			return err
		}
		left -= int64(n)
	}
	return unix.Close(out)
}

// copyFerry is the sequence ferry's scan, worker and local store make for a
// small file (see store/local: OpenStat, Put, anon.go; worker: settle).
func copyFerry(src, dst string, buf []byte) error {
	var st, opened, after, landed unix.Stat_t
	if err := unix.Lstat(src, &st); err != nil { // the master's scan
		return err
	}
	in, err := unix.Open(src, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer unix.Close(in)
	if err := unix.Fstat(in, &opened); err != nil { // OpenStat: what was opened
		return err
	}
	out, err := unix.Open(filepath.Dir(dst), unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	defer unix.Close(out)
	// Chunk by chunk: read, CRC-64 of what was read, write, read back from
	// the destination into the second half of buf, CRC-64 of that; the two
	// must match (worker and store/local's copyVerified).
	half := len(buf) / 2
	for off := int64(0); off < opened.Size; {
		n, err := unix.Read(in, buf[:min(int64(half), opened.Size-off)])
		if err == nil && n == 0 {
			err = fmt.Errorf("%s ended at %d of %d bytes", src, off, opened.Size)
		}
		if err != nil {
			return err
		}
		sum := crc64ecma.Checksum(buf[:n])
		if _, err := unix.Write(out, buf[:n]); err != nil {
			return err
		}
		back := buf[half : half+n]
		if m, err := unix.Pread(out, back, off); err != nil || m != n {
			return fmt.Errorf("read back %d bytes at %d: got %d (%v)", n, off, m, err)
		}
		if crc64ecma.Checksum(back) != sum {
			return fmt.Errorf("%s: what landed at %d differs from what was read", dst, off)
		}
		off += int64(n)
	}
	if err := unix.Fstat(in, &after); err != nil { // unchanged? (before publishing)
		return err
	}
	if err := unix.Fstat(out, &landed); err != nil {
		return err
	}
	ts := [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, st.Mtim} // utimensat(out, NULL, ts, 0)
	if _, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(out), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0); e != 0 {
		return e
	}
	if err := unix.Linkat(out, "", unix.AT_FDCWD, dst, unix.AT_EMPTY_PATH); err != nil {
		if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(out), unix.AT_FDCWD, dst, unix.AT_SYMLINK_FOLLOW); err != nil {
			return err
		}
	}
	return unix.Lstat(dst, &landed) // isAuditAfterImport
}
