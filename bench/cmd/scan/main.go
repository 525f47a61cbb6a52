// Command scan measures the scan workload of bench/run.sh: a master (the
// real one: bbolt in -workdir, the same scanner `ferry run` uses) scans a
// local tree and splits it into tasks, and nothing else runs in the
// process, so its peak resident set is the master's.
//
//	scan -src /dev/shm/ferry-bench/data/scan -workdir /dev/shm/ferry-bench/scanwd
//
// With -list, the scan reads that key list (srcListFile) instead of
// listing -src, which need not hold the keys:
//
//	scan -src /tmp/empty -list /tmp/keys.txt -workdir /tmp/scanwd
//
// It prints one line: entries, tasks, seconds from submit to the scan's
// last task stored, and the process's peak RSS (VmHWM) in KiB.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ferry/conf"
	"ferry/internal/gctune"
	"ferry/master"
	"ferry/state"
	"ferry/store"
	"ferry/store/keylist"
	"ferry/store/local"
	"ferry/task"
)

func main() {
	src := flag.String("src", "", "tree to scan")
	workdir := flag.String("workdir", "", "master directory (removed first)")
	countLimit := flag.Int("count-limit", 10000, "taskObjectCountLimit (ferry's default 10000)")
	sizeLimit := flag.Int64("size-limit", 1000000000, "taskObjectSizeLimit (ferry's default)")
	threads := flag.Int("threads", 1, "scanThreadCount")
	depth := flag.Int("depth", 1, "maxMultiThreadScanDepth")
	list := flag.String("list", "", "srcListFile: a key list the scan reads instead of listing -src")
	flag.Parse()
	gctune.Apply() // as ferry's own processes do
	if *src == "" || *workdir == "" {
		fmt.Fprintln(os.Stderr, "usage: scan -src DIR -workdir DIR")
		os.Exit(2)
	}
	if err := run(*src, *workdir, *list, *countLimit, *sizeLimit, local.Options{ScanThreads: *threads, ScanDepth: *depth}); err != nil {
		fmt.Fprintln(os.Stderr, "scan:", err)
		os.Exit(1)
	}
}

func run(src, workdir, list string, countLimit int, sizeLimit int64, opt local.Options) error {
	if err := os.RemoveAll(workdir); err != nil {
		return err
	}
	src, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	m, err := master.Open(master.Config{Dir: filepath.Join(workdir, "master"), LeaseDur: time.Minute,
		OpenSource: func(s task.Spec) (store.Store, error) {
			l, err := local.New(s.Src.Prefix, opt)
			if err != nil || s.SrcList == "" {
				return l, err
			}
			return keylist.Wrap(l, keylist.Config{File: s.SrcList}), nil
		}})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	spec := conf.DefaultSpec("scan")
	spec.Src = task.Endpoint{Type: "local", Prefix: src}
	spec.Dest = task.Endpoint{Type: "local", Prefix: filepath.Join(workdir, "dest")}
	spec.CountLimit, spec.SizeLimit = countLimit, sizeLimit
	spec.SrcList = list
	start := time.Now()
	if err := m.Submit(ctx, spec); err != nil {
		cancel()
		return err
	}
	var j *state.Job
	for {
		j, err = m.DB().Job("scan")
		if err != nil {
			break
		}
		if j.ScanFinished || !j.Active() {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	took := time.Since(start)
	cancel()
	<-done
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if j.Error != "" {
		return fmt.Errorf("scan failed: %s", j.Error)
	}
	c := j.Counters
	tasks := c.Tasks[state.Pending] + c.Tasks[state.Dispatched] + c.Tasks[state.Failed] + c.Tasks[state.Succeeded]
	fmt.Printf("entries=%d tasks=%d seconds=%.3f peak_rss_kib=%d\n", c.FilesTotal, tasks, took.Seconds(), vmHWM())
	return nil
}

// vmHWM is this process's peak resident set size in KiB.
func vmHWM() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var n int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &n)
			return n
		}
	}
	return -1
}
