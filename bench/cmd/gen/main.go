// Command gen writes a benchmark workload: a tree of files with
// deterministic names and content, so every run and every machine measures
// the same bytes.
//
//	gen -out DIR -files 20000 -dirs 200 -size 4096 -seed 1
//	gen -out DIR -files 2000 -dirs 40 -size 512 -max-size 8388608 -seed 1
//
// With -max-size, file sizes are log-uniform between -size and -max-size
// (a real tree's shape: many small files, a few large ones), each drawn
// from the seed and the file's number.
//
// File i is DIR/dDDDD/fNNNNNNN.bin, directory i%dirs; its content is a
// ChaCha8 stream keyed by the seed and i (incompressible, different in every
// file). gen writes DIR.stamp naming its parameters when it is done, and
// does nothing when the stamp already matches: a tree is made once and
// reused by later runs.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

func main() {
	out := flag.String("out", "", "directory to write (created; must not hold another tree)")
	files := flag.Int("files", 0, "number of files")
	dirs := flag.Int("dirs", 1, "number of directories the files are spread over")
	size := flag.Int64("size", 0, "size of each file in bytes (with -max-size: the least size)")
	maxSize := flag.Int64("max-size", 0, "when above -size: sizes log-uniform from -size to this")
	seed := flag.Uint64("seed", 1, "content seed")
	flag.Parse()
	if *out == "" || *files <= 0 || *dirs <= 0 || *size < 0 || *maxSize > 0 && *size <= 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR -files N [-dirs D] [-size BYTES [-max-size BYTES]] [-seed S]")
		os.Exit(2)
	}
	if err := gen(*out, *files, *dirs, *size, max(*maxSize, *size), *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// sizeOf returns the size of file i: size, or log-uniform in [size,
// maxSize] from the seed and i.
func sizeOf(i int, size, maxSize int64, seed uint64) int64 {
	if maxSize <= size {
		return size
	}
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	lo, hi := math.Log(float64(size)), math.Log(float64(maxSize))
	return min(maxSize, max(size, int64(math.Exp(lo+r.Float64()*(hi-lo)))))
}

func gen(out string, files, dirs int, size, maxSize int64, seed uint64) error {
	stampFile := filepath.Clean(out) + ".stamp"
	stamp := fmt.Sprintf("files=%d dirs=%d size=%d seed=%d\n", files, dirs, size, seed)
	if maxSize > size {
		stamp = fmt.Sprintf("files=%d dirs=%d size=%d max-size=%d seed=%d\n", files, dirs, size, maxSize, seed)
	}
	if b, err := os.ReadFile(stampFile); err == nil && string(b) == stamp {
		if _, err := os.Stat(out); err == nil {
			return nil
		}
	}
	os.Remove(stampFile)
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	for d := range dirs {
		if err := os.MkdirAll(filepath.Join(out, dirName(d)), 0o755); err != nil {
			return err
		}
	}
	workers := runtime.GOMAXPROCS(0) * 2
	if maxSize > 64<<20 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, min(maxSize, 4<<20))
			for i := range next {
				if err := writeFile(filepath.Join(out, dirName(i%dirs), fmt.Sprintf("f%07d.bin", i)), sizeOf(i, size, maxSize, seed), seed, i, buf); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range files {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return err
	}
	return os.WriteFile(stampFile, []byte(stamp), 0o644)
}

func dirName(d int) string { return fmt.Sprintf("d%04d", d) }

func writeFile(path string, size int64, seed uint64, i int, buf []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if size > 0 {
		var key [32]byte
		binary.LittleEndian.PutUint64(key[:], seed)
		binary.LittleEndian.PutUint64(key[8:], uint64(i))
		copy(key[16:], "ferry-bench-gen!")
		rng := rand.NewChaCha8(key)
		for left := size; left > 0; {
			n := min(left, int64(len(buf)))
			rng.Read(buf[:n])
			if _, err := f.Write(buf[:n]); err != nil {
				f.Close()
				return err
			}
			left -= n
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", strings.TrimSpace(path), err)
	}
	return nil
}
