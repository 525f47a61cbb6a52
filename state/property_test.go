package state

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"ferry/task"

	"ferry/store"
)

// The property test drives the database through random sequences of what
// scanners, workers, the reaper, the console and restarts do, keeps a model
// of what must be true, and after every operation compares the model with
// what the bbolt file really holds (property_check_test.go).

var (
	propSeed = flag.Uint64("prop.seed", 0, "run only this seed of TestLeaseProperties")
	propSeqs = flag.Int("prop.seqs", 200, "sequences in TestLeaseProperties")
	propOps  = flag.Int("prop.ops", 300, "operations per sequence in TestLeaseProperties")
)

const propLeaseDur = 30 * time.Second

var propWorkers = []string{"w0", "w1", "w2"}

type keyFate int

const (
	kQueued keyFate = iota // in a pending or dispatched task's manifest
	kDone                  // succeeded or skipped, counted in FilesDone
	kFailed                // in a failed task's failed list
)

type propTask struct {
	id         uint64
	state      TaskState
	attempt    int
	lease      uint64
	worker     string
	deadline   int64
	entries    []store.Entry // the task's current manifest
	failed     []uint32
	lastLease  uint64
	attemptDir string
}

type propJob struct {
	name          string
	scanFinished  bool
	scanAfter     string
	nextTask      uint64
	nextKey       int
	tasks         map[uint64]*propTask
	keys          map[string]keyFate
	sizes         map[string]int64
	skipped       int64
	skippedBytes  int64
	everScanned   int64 // sum of len(entries) over every AddTask
	everScannedSz int64
	held          map[[2]uint64]string // task, lease -> the audit directory Complete holds
}

// state is the job state the database must show, derived from the tasks.
func (j *propJob) state() string {
	n := j.counts()
	switch {
	case !j.scanFinished:
		return StateScanning
	case n[Pending]+n[Dispatched] > 0:
		return StateRunning
	case n[Failed] > 0:
		return StateFailed
	}
	return StateSucceed
}

func (j *propJob) counts() (n [numStates]int64) {
	for _, t := range j.tasks {
		n[t.state]++
	}
	return n
}

func (j *propJob) sortedTasks(s TaskState) []*propTask {
	var out []*propTask
	for _, t := range j.tasks {
		if t.state == s {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b *propTask) int { return int(a.id) - int(b.id) })
	return out
}

type prop struct {
	r         *rand.Rand
	path      string
	d         *DB
	now       time.Time
	names     []string // sorted
	jobs      map[string]*propJob
	nextLease uint64
	granted   []task.LeaseRef // every lease ever granted, in order
	held      map[string][]task.LeaseRef
	history   []string
	// Records by their bytes: check decodes each distinct one once.
	decoded     map[string]Task
	decodedJobs map[string]Job
}

func (p *prop) logf(format string, args ...any) {
	p.history = append(p.history, fmt.Sprintf(format, args...))
}

func (p *prop) open() error {
	d, err := OpenDB(p.path, propLeaseDur)
	if err != nil {
		return err
	}
	d.bolt.NoSync = true // the test never crashes the machine; keep it fast
	d.now = func() time.Time { return p.now }
	p.d = d
	return nil
}

func (p *prop) task(r task.LeaseRef) *propTask {
	if j := p.jobs[r.Job]; j != nil {
		return j.tasks[r.TaskID]
	}
	return nil
}

func (p *prop) isCurrent(r task.LeaseRef) bool {
	t := p.task(r)
	return t != nil && t.state == Dispatched && t.lease == r.LeaseID
}

func (p *prop) dispatched() []*propTask {
	var out []*propTask
	for _, n := range p.names {
		out = append(out, p.jobs[n].sortedTasks(Dispatched)...)
	}
	return out
}

func (p *prop) ref(t *propTask) task.LeaseRef {
	for _, g := range slices.Backward(p.granted) {
		if g.LeaseID == t.lease {
			return g
		}
	}
	panic("no granted ref for a dispatched task")
}

func (p *prop) dropHeld(r task.LeaseRef) {
	for w, refs := range p.held {
		p.held[w] = slices.DeleteFunc(refs, func(h task.LeaseRef) bool { return h == r })
	}
}

// step runs one random operation.
func (p *prop) step() error {
	var scanning []string
	for _, n := range p.names {
		if !p.jobs[n].scanFinished {
			scanning = append(scanning, n)
		}
	}
	w := propWorkers[p.r.IntN(len(propWorkers))]
	switch k := p.r.IntN(100); {
	case k < 18 && len(scanning) > 0:
		return p.addTask(scanning[p.r.IntN(len(scanning))], p.r.IntN(6), p.r.IntN(15) == 0)
	case k < 36:
		after := append([]string{"", "zz"}, p.names...)[p.r.IntN(len(p.names)+2)]
		return p.lease(w, 1+p.r.IntN(4), after)
	case k < 46:
		return p.renew(w)
	case k < 56:
		return p.advanceAndReap()
	case k < 74:
		return p.completeRandom()
	case k < 82:
		return p.completeStale()
	case k < 86:
		return p.expire("ReleaseWorker("+w+")", func() ([]task.LeaseRef, error) { return p.d.ReleaseWorker(w) },
			func(t *propTask) bool { return t.worker == w })
	case k < 93:
		return p.retry(p.names[p.r.IntN(len(p.names))])
	case k < 97:
		return p.restart()
	case k < 99:
		return p.dropAudits()
	}
	return nil
}

// drain finishes every job: ends the scans, takes back every lease,
// completes everything and retries until nothing is left.
func (p *prop) drain() error {
	for _, n := range p.names {
		if !p.jobs[n].scanFinished {
			if err := p.addTask(n, p.r.IntN(3), true); err != nil {
				return err
			}
		}
	}
	for round := 0; round < 4; round++ {
		p.now = p.now.Add(2 * propLeaseDur)
		now := p.now.UnixMilli()
		steps := []func() error{
			func() error { return p.expire("Reap", p.d.Reap, func(t *propTask) bool { return t.deadline < now }) },
			func() error { return p.lease("w0", 1<<20, "") },
			func() error {
				for _, t := range p.dispatched() {
					if err := p.complete(t, nil); err != nil {
						return err
					}
				}
				return nil
			},
		}
		for _, n := range p.names {
			steps = append(steps, func() error { return p.retry(n) })
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
			if err := p.check(); err != nil {
				return err
			}
		}
	}
	return p.checkDrained()
}

func runSequence(dir string, seed uint64, ops int) (p *prop, err error) {
	p = &prop{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), path: filepath.Join(dir, fmt.Sprintf("%d.db", seed)),
		now: time.UnixMilli(1_750_000_000_000), jobs: make(map[string]*propJob), decoded: make(map[string]Task),
		decodedJobs: make(map[string]Job), held: make(map[string][]task.LeaseRef)}
	defer os.Remove(p.path)
	if err := p.open(); err != nil {
		return p, err
	}
	defer func() { p.d.Close() }()
	for _, n := range []string{"a", "b", "c"}[:1+p.r.IntN(3)] {
		if err := p.d.CreateJob(task.Spec{Name: n}); err != nil {
			return p, err
		}
		p.names = append(p.names, n)
		p.jobs[n] = &propJob{name: n, tasks: make(map[uint64]*propTask), keys: make(map[string]keyFate), sizes: make(map[string]int64),
			held: make(map[[2]uint64]string)}
	}
	for i := 0; i < ops; i++ {
		if err := p.step(); err != nil {
			return p, fmt.Errorf("op %d: %w", i, err)
		}
		if err := p.check(); err != nil {
			return p, fmt.Errorf("after op %d: %w", i, err)
		}
	}
	if err := p.drain(); err != nil {
		return p, fmt.Errorf("drain: %w", err)
	}
	return p, nil
}

func TestLeaseProperties(t *testing.T) {
	seqs, ops := *propSeqs, *propOps
	if testing.Short() || raceEnabled {
		// The race detector slows bbolt about tenfold, and this test runs
		// in one goroutine: a quarter of the sequences is enough there.
		seqs = min(seqs, 50)
	}
	first := uint64(1)
	if *propSeed != 0 {
		first, seqs = *propSeed, 1
	}
	dir := t.TempDir()
	if shm, err := os.MkdirTemp("/dev/shm", "ferry-prop-"); err == nil {
		dir = shm // tmpfs: bbolt's fsyncs at open cost nothing
		t.Cleanup(func() { os.RemoveAll(shm) })
	}
	for seed := first; seed < first+uint64(seqs); seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			p, err := runSequence(dir, seed, ops)
			if err != nil {
				tail := p.history[max(0, len(p.history)-12):]
				t.Fatalf("seed %d: %v\nlast operations:\n  %s\nreplay: go test ./master -run TestLeaseProperties -prop.seed=%d -v",
					seed, err, strings.Join(tail, "\n  "), seed)
			}
		})
	}
}
