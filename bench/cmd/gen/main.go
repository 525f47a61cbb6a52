// Command gen writes a benchmark workload: a tree of files with
// deterministic names and content, so every run and every machine measures
// the same bytes.
//
//	gen -out DIR -files 20000 -dirs 200 -size 4096 -seed 1
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
	size := flag.Int64("size", 0, "size of each file in bytes")
	seed := flag.Uint64("seed", 1, "content seed")
	flag.Parse()
	if *out == "" || *files <= 0 || *dirs <= 0 || *size < 0 {
		fmt.Fprintln(os.Stderr, "usage: gen -out DIR -files N [-dirs D] [-size BYTES] [-seed S]")
		os.Exit(2)
	}
	if err := gen(*out, *files, *dirs, *size, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func gen(out string, files, dirs int, size int64, seed uint64) error {
	stampFile := filepath.Clean(out) + ".stamp"
	stamp := fmt.Sprintf("files=%d dirs=%d size=%d seed=%d\n", files, dirs, size, seed)
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
	if size > 64<<20 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, min(size, 4<<20))
			for i := range next {
				if err := writeFile(filepath.Join(out, dirName(i%dirs), fmt.Sprintf("f%07d.bin", i)), size, seed, i, buf); err != nil {
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
