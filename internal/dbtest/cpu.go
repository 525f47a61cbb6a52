package dbtest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on
// every Linux ferry runs on).
const clockTick = 10 * time.Millisecond

// CPU is the CPU time (user and system) the server has used so far: its
// process and every descendant (PostgreSQL's backends, which leave the
// server's process group), with the children they have reaped (exited
// backends). Two readings around a piece of work give the server's CPU
// for it; a backend that exited and is not reaped yet is missed until it
// is.
func (s *Server) CPU() (time.Duration, error) {
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return 0, err
	}
	type proc struct {
		ppid  int
		ticks int64
	}
	procs := map[int]proc{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited meanwhile
		}
		// The fields after the command name, which is in parentheses:
		// f[0] is field 3 (state), field n is f[n-3].
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ppid, _ := strconv.Atoi(f[1])
		var ticks int64
		for _, k := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
			n, _ := strconv.ParseInt(f[k], 10, 64)
			ticks += n
		}
		procs[pid] = proc{ppid, ticks}
	}
	if _, ok := procs[s.pid]; !ok {
		return 0, fmt.Errorf("%s server pid %d: not running", s.Engine, s.pid)
	}
	var ticks int64
	for pid, p := range procs {
		for a := pid; a > 1; a = procs[a].ppid {
			if a == s.pid {
				ticks += p.ticks
				break
			}
			if _, ok := procs[a]; !ok {
				break
			}
		}
	}
	return time.Duration(ticks) * clockTick, nil
}

// PID is the server's process ID (for a profiler to attach to).
func (s *Server) PID() int { return s.pid }
