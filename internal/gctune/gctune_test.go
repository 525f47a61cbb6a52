package gctune

import (
	"os"
	"runtime/debug"
	"testing"
)

// gcPercent returns the collector's current target.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestApply(t *testing.T) {
	old, had := os.LookupEnv("GOGC")
	defer func() {
		if had {
			os.Setenv("GOGC", old)
		} else {
			os.Unsetenv("GOGC")
		}
		debug.SetGCPercent(100)
	}()

	os.Unsetenv("GOGC")
	debug.SetGCPercent(100)
	Apply()
	if p := gcPercent(); p != Percent {
		t.Errorf("without GOGC: percent %d, want %d", p, Percent)
	}

	os.Setenv("GOGC", "50")
	debug.SetGCPercent(50) // what the runtime read at start
	Apply()
	if p := gcPercent(); p != 50 {
		t.Errorf("with GOGC=50: percent %d, want 50 (the environment's)", p)
	}
}
