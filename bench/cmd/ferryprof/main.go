// Command ferryprof is bin/ferry with profiling: the same console, with a
// CPU profile written to $FERRY_CPUPROFILE, a heap profile (after the
// command) to $FERRY_MEMPROFILE and a blocking profile to
// $FERRY_BLOCKPROFILE when those are set. bench/run.sh --profile uses it:
//
//	FERRY_CPUPROFILE=cpu.pprof ferryprof --home H run job.cfg
//	go tool pprof -top ferryprof cpu.pprof
package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"ferry/console"
)

func main() { os.Exit(run()) }

func run() int {
	if p := os.Getenv("FERRY_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "ferryprof:", err)
			return 2
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "ferryprof:", err)
			return 2
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if os.Getenv("FERRY_BLOCKPROFILE") != "" {
		runtime.SetBlockProfileRate(10000) // one sample per 10µs blocked
	}
	code := console.Main(os.Args, os.Stdout, os.Stderr)
	// The allocation profile counts what was allocated up to the last
	// completed collection: without one here, everything since the last
	// (most of a short run with GOGC=400) would be missing.
	runtime.GC()
	for _, p := range []struct{ env, name string }{{"FERRY_MEMPROFILE", "allocs"}, {"FERRY_BLOCKPROFILE", "block"}} {
		if path := os.Getenv(p.env); path != "" {
			if f, err := os.Create(path); err == nil {
				pprof.Lookup(p.name).WriteTo(f, 0)
				f.Close()
			}
		}
	}
	return code
}
