package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"ferry/conf"
	"ferry/master"
	pb "ferry/proto"
	"ferry/rpc"
	"ferry/state"
	"ferry/store"
	"ferry/store/local"
	"ferry/store/storetest"
	"ferry/task"
	"ferry/tracker"
	"ferry/tracker/trackertest"
)

// A master served over real gRPC on loopback, as workers and the console
// reach it.
type served struct {
	m      *master.Master
	dir    string
	addr   string
	token  string
	stops  chan struct{} // one value per Control.Stop
	mc     pb.MasterClient
	tc     pb.TrackerClient
	cc     pb.ControlClient
	jobDir func(job string) string
	log    *lockedBuffer // what Serve logged, as text
}

// lockedBuffer is a log's output, written and read concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func serve(t *testing.T, leaseDur time.Duration) *served {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveOn(t, lis, leaseDur)
}

// serveOn is serve on lis.
func serveOn(t *testing.T, lis net.Listener, leaseDur time.Duration) *served {
	t.Helper()
	dir := t.TempDir()
	m, err := master.Open(master.Config{Dir: dir, LeaseDur: leaseDur,
		OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) }})
	if err != nil {
		t.Fatal(err)
	}
	token, err := rpc.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{m: m, dir: dir, addr: lis.Addr().String(), token: token, stops: make(chan struct{}, 4),
		jobDir: func(job string) string { return filepath.Join(dir, "jobs", job) }, log: &lockedBuffer{}}
	log := slog.New(slog.NewTextHandler(s.log, nil))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.Run(ctx) }()
	go func() {
		defer wg.Done()
		if err := rpc.Serve(ctx, m, lis, token, func() { s.stops <- struct{}{} }, log); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	conn, err := rpc.Dial(s.addr, token)
	if err != nil {
		t.Fatal(err)
	}
	s.mc, s.tc, s.cc = pb.NewMasterClient(conn), pb.NewTrackerClient(conn), pb.NewControlClient(conn)
	t.Cleanup(func() {
		conn.Close()
		cancel()
		wg.Wait()
		if err := m.Close(); err != nil {
			t.Errorf("close master: %v", err)
		}
	})
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if status.Code(err) != code {
		t.Fatalf("%s: err %v, want code %v", what, err, code)
	}
}

func (s *served) submit(t *testing.T, name, src string, countLimit int32) {
	t.Helper()
	spec := localSpec(name, src, t.TempDir())
	spec.CountLimit = int(countLimit)
	r, err := s.cc.Submit(ctxT(t), &pb.SubmitRequest{Spec: rpc.SpecToPB(spec)})
	if err != nil || r.Job != name {
		t.Fatalf("submit %s: %v, %v", name, r, err)
	}
}

func (s *served) stat(t *testing.T, job string) *pb.JobStat {
	t.Helper()
	r, err := s.cc.Stat(ctxT(t), &pb.StatRequest{Job: job})
	if err != nil || len(r.Jobs) != 1 {
		t.Fatalf("stat %s: %v, %v", job, r, err)
	}
	return r.Jobs[0]
}

// waitStat polls stat until ok says so.
func (s *served) waitStat(t *testing.T, job, what string, ok func(*pb.JobStat) bool) *pb.JobStat {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		js := s.stat(t, job)
		if ok(js) {
			return js
		}
		if time.Now().After(end) {
			t.Fatalf("job %s: waiting for %s, stat is %v", job, what, js)
		}
	}
}

func (s *served) lease(t *testing.T, worker string, max int32) []*pb.TaskLease {
	t.Helper()
	r, err := s.mc.Lease(ctxT(t), &pb.LeaseRequest{WorkerId: worker, MaxTasks: max})
	if err != nil {
		t.Fatalf("lease: %v", err)
	}
	return r.Tasks
}

func ref(l *pb.TaskLease) *pb.LeaseRef {
	return &pb.LeaseRef{Job: l.Job, TaskId: l.TaskId, LeaseId: l.LeaseId}
}

func (s *served) complete(worker string, l *pb.TaskLease, results ...*pb.EntryResult) (*pb.CompleteReply, error) {
	return s.mc.Complete(context.Background(), &pb.CompleteRequest{WorkerId: worker, Lease: ref(l), Results: results,
		StartedUnixMs: time.Now().Add(-time.Second).UnixMilli()})
}

func keys(l *pb.TaskLease) []string {
	var out []string
	for _, e := range l.Entries {
		out = append(out, string(e.Key))
	}
	return out
}

var srcFiles = map[string]string{
	"a.txt":          "hello",
	"b/c.txt":        "world!",
	"b/d\xff\tname":  "0123456789",
	"e.txt":          "",
	"f/g/h.bin":      strings.Repeat("x", 100),
	"f/g/i\nnewline": "nl",
}

func TestServeJobLifecycle(t *testing.T) {
	s := serve(t, time.Minute)
	src := storetest.Tree(t, srcFiles)
	s.submit(t, "job1", src, 2)
	_, err := s.cc.Submit(ctxT(t), &pb.SubmitRequest{Spec: rpc.SpecToPB(localSpec("job1", src, t.TempDir()))})
	wantCode(t, "second submit", err, codes.AlreadyExists)

	js := s.waitStat(t, "job1", "scan", func(js *pb.JobStat) bool { return js.ScanFinished })
	if js.State != state.StateRunning || js.FilesTotal != 6 || js.BytesTotal != 123 || js.PendingTasks != 3 {
		t.Fatalf("after scan: %v", js)
	}

	reg, err := s.mc.Register(ctxT(t), &pb.RegisterRequest{WorkerId: "w1", Host: "h1", Threads: 4})
	if err != nil || reg.WorkerId != "w1" || reg.LeaseSeconds != 60 {
		t.Fatalf("register: %v, %v", reg, err)
	}
	_, err = s.mc.Register(ctxT(t), &pb.RegisterRequest{})
	wantCode(t, "register without id", err, codes.InvalidArgument)

	// First task: the first two keys in byte order.
	before := time.Now()
	ls := s.lease(t, "w1", 1)
	if len(ls) != 1 || !slices.Equal(keys(ls[0]), []string{"a.txt", "b/c.txt"}) || ls[0].Attempt != 1 ||
		rpc.SpecFromPB(ls[0].Spec).Src.Prefix != src || ls[0].DeadlineUnixMs < before.Add(59*time.Second).UnixMilli() {
		t.Fatalf("first lease: %v", ls)
	}
	l1 := ls[0]
	rn, err := s.mc.Renew(ctxT(t), &pb.RenewRequest{WorkerId: "w1", Leases: []*pb.LeaseRef{ref(l1)}})
	if err != nil || len(rn.Lost) != 0 || rn.DeadlineUnixMs < l1.DeadlineUnixMs {
		t.Fatalf("renew: %v, %v", rn, err)
	}

	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var sent []tracker.Record
	req := &pb.ReportRequest{WorkerId: "w1", BytesCopied: 11, Audits: []*pb.AuditBatch{{Lease: ref(l1)}},
		Progress: []*pb.TaskProgress{{Lease: ref(l1), FilesDone: 2, BytesDone: 11}}}
	for _, e := range l1.Entries {
		req.Audits[0].Records = append(req.Audits[0].Records, &pb.AuditRecord{TimeUnixMs: at.UnixMilli(),
			Size: e.Size, Crc64: 0xabc, HasCrc: true, Key: e.Key})
		sent = append(sent, tracker.Record{Time: at, Size: e.Size, CRC64: 0xabc, HasCRC: true, Key: string(e.Key)})
	}
	if _, err := s.tc.Report(ctxT(t), req); err != nil {
		t.Fatalf("report: %v", err)
	}
	if js := s.stat(t, "job1"); js.RunningTasks != 1 || js.DispatchedTasks != 1 {
		t.Fatalf("stat while running: %v", js)
	}

	cr, err := s.complete("w1", l1)
	if err != nil {
		t.Fatalf("complete: %v", err)
	}
	if !regexp.MustCompile(`^succeed_tasks/` + "1" + `_[0-9]{13}@w1$`).MatchString(cr.AttemptDir) {
		t.Fatalf("attempt dir %q", cr.AttemptDir)
	}
	dir := filepath.Join(s.jobDir("job1"), cr.AttemptDir)
	if got := trackertest.CheckAttempt(t, dir, "Completed", nil); !slices.Equal(got, sent) {
		t.Errorf("audit.log holds %v, want %v", got, sent)
	}
	task := trackertest.ReadFile(t, filepath.Join(dir, "TASK"))
	for _, want := range []string{"job=job1\n", "task=1\n", "attempt=1\n", "worker=w1\n", "entries=2\n", "failed=0\n"} {
		if !strings.Contains(task, want) {
			t.Errorf("TASK %q lacks %q", task, want)
		}
	}
	if des, _ := os.ReadDir(filepath.Join(s.jobDir("job1"), ".inflight")); len(des) != 0 {
		t.Errorf("in-flight directories left after completion: %v", des)
	}

	// The lease is spent: completing, renewing or reporting with it again
	// changes nothing.
	_, err = s.complete("w1", l1)
	wantCode(t, "second complete", err, codes.FailedPrecondition)
	rn, err = s.mc.Renew(ctxT(t), &pb.RenewRequest{WorkerId: "w1", Leases: []*pb.LeaseRef{ref(l1)}})
	if err != nil || len(rn.Lost) != 1 || rn.Lost[0].LeaseId != l1.LeaseId {
		t.Fatalf("renew of a spent lease: %v, %v", rn, err)
	}
	if _, err := s.tc.Report(ctxT(t), req); err != nil {
		t.Fatalf("late report: %v", err)
	}
	if des, _ := os.ReadDir(filepath.Join(s.jobDir("job1"), ".inflight")); len(des) != 0 {
		t.Errorf("a late report of a spent lease made %v", des)
	}
	if n := len(trackertest.CheckAttempt(t, dir, "Completed", nil)); n != 2 {
		t.Errorf("published audit.log has %d lines after a late report, want 2", n)
	}
	js = s.stat(t, "job1")
	if js.SucceedTasks != 1 || js.FilesDone != 2 || js.PendingTasks != 2 || js.DispatchedTasks != 0 {
		t.Fatalf("after first task: %v", js)
	}

	// The other two tasks: one entry fails, one is skipped.
	ls = s.lease(t, "w1", 5)
	if len(ls) != 2 || !slices.Equal(keys(ls[0]), []string{"b/d\xff\tname", "e.txt"}) ||
		!slices.Equal(keys(ls[1]), []string{"f/g/h.bin", "f/g/i\nnewline"}) {
		t.Fatalf("second lease: %v", ls)
	}
	_, err = s.cc.Clean(ctxT(t), &pb.CleanRequest{Job: "job1"})
	wantCode(t, "clean of a running job", err, codes.FailedPrecondition)
	cr, err = s.complete("w1", ls[0], &pb.EntryResult{Index: 0, Result: pb.Result_RESULT_FAIL},
		&pb.EntryResult{Index: 1, Result: pb.Result_RESULT_SKIP})
	if err != nil || !strings.HasPrefix(cr.AttemptDir, "failed_tasks/2_") {
		t.Fatalf("complete with a failure: %v, %v", cr, err)
	}
	trackertest.CheckAttempt(t, filepath.Join(s.jobDir("job1"), cr.AttemptDir), "Failed", []string{"b/d\xff\tname"})
	if _, err := s.complete("w1", ls[1]); err != nil {
		t.Fatal(err)
	}
	js = s.stat(t, "job1")
	if js.State != state.StateFailed || js.FailedTasks != 1 || js.SucceedTasks != 2 || js.FilesFailed != 1 ||
		js.FilesSkipped != 1 || js.FilesDone != 5 || js.FinishedUnixMs == 0 {
		t.Fatalf("after all tasks: %v", js)
	}

	// Retry re-queues the failed entry alone.
	rr, err := s.cc.Retry(ctxT(t), &pb.RetryRequest{Job: "job1"})
	if err != nil || rr.Tasks != 1 || rr.Entries != 1 {
		t.Fatalf("retry: %v, %v", rr, err)
	}
	if js := s.stat(t, "job1"); js.State != state.StateRunning || js.PendingTasks != 1 || js.FilesFailed != 0 {
		t.Fatalf("after retry: %v", js)
	}
	ls = s.lease(t, "w1", 5)
	if len(ls) != 1 || ls[0].TaskId != 2 || ls[0].Attempt != 2 || !slices.Equal(keys(ls[0]), []string{"b/d\xff\tname"}) {
		t.Fatalf("lease after retry: %v", ls)
	}
	if _, err := s.complete("w1", ls[0]); err != nil {
		t.Fatal(err)
	}
	js = s.stat(t, "job1")
	if js.State != state.StateSucceed || js.FilesDone != js.FilesTotal || js.BytesDone != js.BytesTotal || js.FailedTasks != 0 {
		t.Fatalf("after retried task: %v", js)
	}
	if rr, err := s.cc.Retry(ctxT(t), &pb.RetryRequest{Job: "job1"}); err != nil || rr.Tasks != 0 {
		t.Fatalf("retry of a finished job: %v, %v", rr, err)
	}
	_, err = s.cc.Retry(ctxT(t), &pb.RetryRequest{Job: "nojob"})
	wantCode(t, "retry of an unknown job", err, codes.NotFound)

	// Clean forgets a finished job and its audit logs.
	if _, err := s.cc.Clean(ctxT(t), &pb.CleanRequest{Job: "job1"}); err != nil {
		t.Fatalf("clean: %v", err)
	}
	_, err = s.cc.Stat(ctxT(t), &pb.StatRequest{Job: "job1"})
	wantCode(t, "stat of a cleaned job", err, codes.NotFound)
	if _, err := os.Stat(s.jobDir("job1")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("audit logs of a cleaned job: %v", err)
	}

	// A running job is cleaned only by force.
	s.submit(t, "job2", src, 1)
	_, err = s.cc.Clean(ctxT(t), &pb.CleanRequest{Job: "job2"})
	wantCode(t, "clean of a running job", err, codes.FailedPrecondition)
	if _, err := s.cc.Clean(ctxT(t), &pb.CleanRequest{Job: "job2", Force: true}); err != nil {
		t.Fatalf("forced clean: %v", err)
	}
	if r, err := s.cc.Stat(ctxT(t), &pb.StatRequest{}); err != nil || len(r.Jobs) != 0 {
		t.Fatalf("stat after cleaning everything: %v, %v", r, err)
	}
}

func TestServeStop(t *testing.T) {
	s := serve(t, time.Minute)
	if _, err := s.cc.Stop(ctxT(t), &pb.StopRequest{}); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case <-s.stops:
	case <-time.After(5 * time.Second):
		t.Fatal("Control.Stop did not call the stop function")
	}
}

func TestServeAuth(t *testing.T) {
	s := serve(t, time.Minute)
	wrong, err := rpc.Dial(s.addr, s.token+"x")
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	none, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	for name, conn := range map[string]*grpc.ClientConn{"wrong token": wrong, "no token": none} {
		ctx := ctxT(t)
		_, err := pb.NewControlClient(conn).Stat(ctx, &pb.StatRequest{})
		wantCode(t, name+": Stat", err, codes.Unauthenticated)
		_, err = pb.NewControlClient(conn).Submit(ctx, &pb.SubmitRequest{Spec: rpc.SpecToPB(task.Spec{Name: "x", Src: task.Endpoint{Prefix: t.TempDir()}})})
		wantCode(t, name+": Submit", err, codes.Unauthenticated)
		_, err = pb.NewMasterClient(conn).Register(ctx, &pb.RegisterRequest{WorkerId: "w"})
		wantCode(t, name+": Register", err, codes.Unauthenticated)
		_, err = pb.NewMasterClient(conn).Lease(ctx, &pb.LeaseRequest{WorkerId: "w", MaxTasks: 1})
		wantCode(t, name+": Lease", err, codes.Unauthenticated)
		_, err = pb.NewTrackerClient(conn).Report(ctx, &pb.ReportRequest{WorkerId: "w"})
		wantCode(t, name+": Report", err, codes.Unauthenticated)
		_, err = pb.NewControlClient(conn).Stop(ctx, &pb.StopRequest{})
		wantCode(t, name+": Stop", err, codes.Unauthenticated)
	}
	if r, err := s.cc.Stat(ctxT(t), &pb.StatRequest{}); err != nil || len(r.Jobs) != 0 {
		t.Fatalf("refused calls changed something: %v, %v", r, err)
	}
	if len(s.stops) != 0 {
		t.Fatal("an unauthenticated Stop stopped the master")
	}
}

// With a 1s lease and the reaper running, a lease that is not renewed
// goes back to pending and is fenced off; one that is renewed survives.
func TestServeLeaseExpiry(t *testing.T) {
	s := serve(t, time.Second)
	s.submit(t, "job", storetest.Tree(t, map[string]string{"one": "1", "two": "22"}), 1)
	s.waitStat(t, "job", "scan", func(js *pb.JobStat) bool { return js.ScanFinished && js.PendingTasks == 2 })

	t0 := time.Now()
	ls := s.lease(t, "w1", 2)
	if len(ls) != 2 {
		t.Fatalf("lease: %v", ls)
	}
	old, kept := ls[0], ls[1]
	audit := &pb.ReportRequest{WorkerId: "w1", Audits: []*pb.AuditBatch{{Lease: ref(old),
		Records: []*pb.AuditRecord{{TimeUnixMs: time.Now().UnixMilli(), Key: []byte("one"), Size: 1}}}}}
	if _, err := s.tc.Report(ctxT(t), audit); err != nil {
		t.Fatal(err)
	}
	var expired time.Duration
	for end := t0.Add(2500 * time.Millisecond); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		rn, err := s.mc.Renew(ctxT(t), &pb.RenewRequest{WorkerId: "w1", Leases: []*pb.LeaseRef{ref(kept)}})
		if err != nil || len(rn.Lost) != 0 {
			t.Fatalf("renew of a live lease: %v, %v", rn, err)
		}
		if js := s.stat(t, "job"); js.PendingTasks == 1 && expired == 0 {
			expired = time.Since(t0)
		}
	}
	if expired < time.Second {
		t.Fatalf("unrenewed lease went back to pending after %v (lease 1s; 0 = never)", expired)
	}
	if js := s.stat(t, "job"); js.PendingTasks != 1 || js.DispatchedTasks != 1 {
		t.Fatalf("after expiry: %v", js)
	}
	inflight := filepath.Join(s.jobDir("job"), ".inflight")
	if _, err := os.Stat(filepath.Join(inflight, fmt.Sprintf("%d_%d", old.TaskId, old.LeaseId))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("audit records of an expired lease were kept: %v", err)
	}

	ls = s.lease(t, "w2", 1)
	if len(ls) != 1 || ls[0].TaskId != old.TaskId || ls[0].LeaseId == old.LeaseId || ls[0].Attempt != 2 {
		t.Fatalf("re-lease of the expired task: %v (old %v)", ls, old)
	}
	_, err := s.complete("w1", old)
	wantCode(t, "complete with an expired lease", err, codes.FailedPrecondition)
	rn, err := s.mc.Renew(ctxT(t), &pb.RenewRequest{WorkerId: "w1", Leases: []*pb.LeaseRef{ref(old), ref(kept)}})
	if err != nil || len(rn.Lost) != 1 || rn.Lost[0].LeaseId != old.LeaseId {
		t.Fatalf("renew: %v, %v", rn, err)
	}
	if _, err := s.complete("w1", kept); err != nil {
		t.Fatalf("complete of a renewed lease: %v", err)
	}
	cr, err := s.complete("w2", ls[0])
	if err != nil {
		t.Fatalf("complete of the new lease: %v", err)
	}
	if recs := trackertest.CheckAttempt(t, filepath.Join(s.jobDir("job"), cr.AttemptDir), "Completed", nil); len(recs) != 0 {
		t.Errorf("the new attempt's audit.log holds the expired attempt's records: %v", recs)
	}
	if js := s.stat(t, "job"); js.State != state.StateSucceed || js.FilesDone != 2 {
		t.Fatalf("at the end: %v", js)
	}
}

// TestServeCompleteFailedKeys: a completion's error.list names the failed
// entries in the order the results gave them, a repeated failure twice; a
// result for an entry the task does not have, even a skip, refuses the
// completion and leaves the lease current.
func TestServeCompleteFailedKeys(t *testing.T) {
	s := serve(t, time.Minute)
	s.submit(t, "job", storetest.Tree(t, srcFiles), 6)
	s.waitStat(t, "job", "scan", func(js *pb.JobStat) bool { return js.ScanFinished })
	if _, err := s.mc.Register(ctxT(t), &pb.RegisterRequest{WorkerId: "w1", Host: "h1", Threads: 4}); err != nil {
		t.Fatal(err)
	}
	ls := s.lease(t, "w1", 1)
	if len(ls) != 1 || len(ls[0].Entries) != 6 {
		t.Fatalf("lease: %v", ls)
	}
	k := keys(ls[0])
	fail := func(i uint32) *pb.EntryResult { return &pb.EntryResult{Index: i, Result: pb.Result_RESULT_FAIL} }
	_, err := s.complete("w1", ls[0], fail(1), &pb.EntryResult{Index: 6, Result: pb.Result_RESULT_SKIP})
	if err == nil {
		t.Fatal("a result for entry 6 of 6 was accepted")
	}
	if des, _ := os.ReadDir(filepath.Join(s.jobDir("job"), "failed_tasks")); len(des) != 0 {
		t.Fatalf("a refused completion published %v", des)
	}
	cr, err := s.complete("w1", ls[0], fail(4), fail(1), &pb.EntryResult{Index: 2, Result: pb.Result_RESULT_SKIP}, fail(4))
	if err != nil {
		t.Fatalf("complete after a refused one: %v", err)
	}
	trackertest.CheckAttempt(t, filepath.Join(s.jobDir("job"), cr.AttemptDir), "Failed", []string{k[4], k[1], k[4]})
	js := s.stat(t, "job")
	if js.FilesFailed != 2 || js.FilesSkipped != 1 || js.FilesDone != 4 {
		t.Fatalf("counters: %v", js)
	}
}

// localSpec is a job with conf's defaults, from the directory src to dst.
func localSpec(name, src, dst string) task.Spec {
	s := conf.DefaultSpec(name)
	s.Src, s.Dest = task.Endpoint{Type: "local", Prefix: src}, task.Endpoint{Type: "local", Prefix: dst}
	return s
}

// A job whose destination is the master's directory is refused as an
// invalid argument, so a console of another version cannot write into it.
func TestServeSubmitOwnDir(t *testing.T) {
	s := serve(t, time.Minute)
	src := storetest.Tree(t, srcFiles)
	_, err := s.cc.Submit(ctxT(t), &pb.SubmitRequest{Spec: rpc.SpecToPB(localSpec("own", src, s.dir))})
	wantCode(t, "submit into the master's directory", err, codes.InvalidArgument)
	if !strings.Contains(status.Convert(err).Message(), "overlaps the master's directory") {
		t.Errorf("message: %v", err)
	}
}
