package bench

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"ferry/conf"
	"ferry/master"
	pb "ferry/proto"
	"ferry/rpc"
	"ferry/state"
	"ferry/store"
	"ferry/task"
)

// simWorkers is how many workers BenchmarkDispatch simulates.
const simWorkers = 100

// BenchmarkDispatch measures how many tasks one master hands out and takes
// back per second: 100 simulated workers, each on its own TLS connection
// with the master's token, loop Lease (one task) then Complete (all entries
// succeeded), as deployed workers do, against a real master whose bbolt
// and audit directories are in a temporary directory. One op is one
// lease-and-complete cycle; cycles/s is the figure issue 6 sets a target
// for (2,000). The tasks (one entry each) are scanned from a synthetic
// source before the timer starts. The -audit variant also sends each
// task's audit record (Tracker.Report) between the two calls. cpu-us/cycle
// is the CPU time the whole process (master and simulated workers) spent
// per cycle: steadier than cycles/s on a shared machine, and what bounds
// cycles/s when the cores are busy. writes/commit is how many writes
// (a lease, a completion) the group commit put in each bbolt transaction,
// commits/cycle how many transactions (two fdatasyncs each) a cycle cost.
// Each cycle creates the six inodes of an
// attempt directory; on an ext4 without a journal, the kernel skips inodes
// deleted in the last minutes when it allocates one, so a TMPDIR where
// other test runs have just deleted many files can cost milliseconds per
// cycle in the kernel alone (perf shows recently_deleted).
func BenchmarkDispatch(b *testing.B) {
	for _, loc := range locations {
		b.Run(loc.name, func(b *testing.B) { benchDispatch(b, loc, false) })
	}
	b.Run("tmpdir-audit", func(b *testing.B) { benchDispatch(b, locations[0], true) })
	b.Run("shm-audit", func(b *testing.B) { benchDispatch(b, locations[1], true) })
}

func benchDispatch(b *testing.B, loc location, audit bool) {
	b.StopTimer()
	dir := loc.dir(b)
	n := b.N
	m, err := master.Open(master.Config{Dir: dir, LeaseDur: time.Minute,
		OpenSource: func(task.Spec) (store.Store, error) { return synthetic{n: n}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	token, err := rpc.LoadOrCreateToken(dir)
	if err != nil {
		b.Fatal(err)
	}
	cert, key, err := rpc.LoadOrCreateCert(dir)
	if err != nil {
		b.Fatal(err)
	}
	creds, err := rpc.ServerTLS(cert, key)
	if err != nil {
		b.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); rpc.Serve(ctx, m, lis, token, nil, nil, creds) }()
	go func() { defer wg.Done(); m.Run(ctx) }()
	var conns []*grpc.ClientConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		cancel()
		wg.Wait()
		if err := m.Close(); err != nil {
			b.Error(err)
		}
	}()
	const job = "dispatch"
	spec := conf.DefaultSpec(job)
	spec.Src, spec.Dest = task.Endpoint{Type: "local", Prefix: "/synthetic"}, task.Endpoint{Type: "local", Prefix: "/synthetic-dest"}
	spec.CountLimit = 1
	if err := m.Submit(ctx, spec); err != nil {
		b.Fatal(err)
	}
	waitScan(b, m, job, 30*time.Minute)

	type sim struct {
		id string
		mc pb.MasterClient
		tc pb.TrackerClient
	}
	sims := make([]sim, simWorkers)
	for i := range sims {
		c, err := rpc.DialPinned(lis.Addr().String(), token, cert)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		sims[i] = sim{id: fmt.Sprintf("sim%03d", i), mc: pb.NewMasterClient(c), tc: pb.NewTrackerClient(c)}
		if _, err := sims[i].mc.Register(ctx, &pb.RegisterRequest{WorkerId: sims[i].id, Host: "bench", Threads: 16}); err != nil {
			b.Fatal(err)
		}
	}

	var tickets atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	cpu0 := cpuTime(b)
	commits0, writes0 := m.DB().CommitStats()
	b.StartTimer()
	start := time.Now()
	for _, s := range sims {
		g.Go(func() error {
			for tickets.Add(1) <= int64(n) {
				r, err := s.mc.Lease(gctx, &pb.LeaseRequest{WorkerId: s.id, MaxTasks: 1})
				if err != nil {
					return fmt.Errorf("lease: %w", err)
				}
				if len(r.Tasks) != 1 {
					return fmt.Errorf("lease: got %d tasks, want 1", len(r.Tasks))
				}
				t := r.Tasks[0]
				ref := &pb.LeaseRef{Job: t.Job, TaskId: t.TaskId, LeaseId: t.LeaseId}
				now := time.Now().UnixMilli()
				if audit {
					recs := make([]*pb.AuditRecord, len(t.Entries))
					for i, e := range t.Entries {
						recs[i] = &pb.AuditRecord{TimeUnixMs: now, Result: pb.Result_RESULT_OK, Size: e.Size,
							Crc64: 0x1234567890abcdef, HasCrc: true, Key: e.Key}
					}
					_, err := s.tc.Report(gctx, &pb.ReportRequest{WorkerId: s.id, BytesCopied: 4096,
						Audits: []*pb.AuditBatch{{Lease: ref, Records: recs}}})
					if err != nil {
						return fmt.Errorf("report: %w", err)
					}
				}
				if _, err := s.mc.Complete(gctx, &pb.CompleteRequest{WorkerId: s.id, Lease: ref, StartedUnixMs: now}); err != nil {
					return fmt.Errorf("complete: %w", err)
				}
			}
			return nil
		})
	}
	err = g.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := cpuTime(b) - cpu0
	commits, writes := m.DB().CommitStats()
	commits, writes = commits-commits0, writes-writes0
	if err != nil {
		b.Fatal(err)
	}
	if commits > 0 {
		b.ReportMetric(float64(writes)/float64(commits), "writes/commit")
		b.ReportMetric(float64(commits)/float64(n), "commits/cycle")
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "cycles/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-us/cycle")
	j, err := m.DB().Job(job)
	if err != nil {
		b.Fatal(err)
	}
	if j.Counters.FilesDone != int64(n) || j.State != state.StateSucceed {
		b.Fatalf("after %d cycles: state %s, %d files done", n, j.State, j.Counters.FilesDone)
	}
}

// cpuTime is the CPU time, user and system, the process has used so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
