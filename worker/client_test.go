package worker_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/master"
	"ferry/rpc"
	"ferry/store"
	"ferry/store/local"
	"ferry/task"
	"ferry/tracker"
	"ferry/worker"
)

// TestInProcessAnswersAsGRPC runs the same calls through rpc.Client (real
// gRPC over TCP on loopback) and master.InProcess (direct calls) against one
// real master, on two jobs over the same tree, and wants the same answers:
// the lease duration, the leases' entries and specs, accepted reports and
// completions, and ErrStale for a completion, a saved upload and a renewal
// under a lease that is no longer current.
func TestInProcessAnswersAsGRPC(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for i, k := range []string{"a", "b/c", "b/d", "e"} {
		p := filepath.Join(src, k)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, i*100), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, err := master.Open(master.Config{Dir: filepath.Join(dir, "master"), LeaseDur: 90 * time.Second,
		OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) }})
	if err != nil {
		t.Fatal(err)
	}
	token, err := rpc.LoadOrCreateToken(filepath.Join(dir, "master"))
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.Run(ctx) }()
	go func() { defer wg.Done(); rpc.Serve(ctx, m, lis, token, func() {}, nil) }()
	conn, err := rpc.Dial(lis.Addr().String(), token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		cancel()
		wg.Wait()
		m.Close()
	})

	type outcome struct {
		leaseDur time.Duration
		entries  []store.Entry
		spec     task.Spec
	}
	stats := task.WorkerStats{Retries: 3, StoreOps: []task.StoreOps{{Store: "local", Op: "put", Class: "ok",
		Count: 4, Seconds: 0.5, Buckets: []uint64{1, 2, 3, 4, 4, 4, 4, 4}}}}
	run := func(name string, c worker.Client) outcome {
		t.Helper()
		spec := localSpec(name, src, filepath.Join(dir, "dst-"+name))
		spec.CountLimit, spec.ConfigFile, spec.AuditAfterImport = 100, "/etc/"+name+".cfg", true
		if err := m.Submit(ctx, spec); err != nil {
			t.Fatal(err)
		}
		id := "w-" + name
		d, err := c.Register(ctx, id, "host", 4)
		if err != nil {
			t.Fatalf("%s: register: %v", name, err)
		}
		var leases []task.Lease
		for end := time.Now().Add(10 * time.Second); len(leases) == 0 && time.Now().Before(end); {
			if leases, err = c.Lease(ctx, id, 2); err != nil {
				t.Fatalf("%s: lease: %v", name, err)
			}
		}
		if len(leases) != 1 || leases[0].Job != name {
			t.Fatalf("%s: want one lease of the job, got %+v", name, leases)
		}
		l := leases[0]
		ref := task.LeaseRef{Job: l.Job, TaskID: l.TaskID, LeaseID: l.LeaseID}
		recs := make([]tracker.Record, len(l.Entries))
		for i, e := range l.Entries {
			recs[i] = tracker.Record{Time: time.Now(), Result: tracker.OK, Size: e.Size, Key: e.Key}
		}
		if _, err := c.Report(ctx, id, 1, stats, map[task.LeaseRef][]tracker.Record{ref: recs},
			[]tracker.TaskProgress{{Job: name, Task: l.TaskID, Lease: l.LeaseID, Files: int64(len(recs))}}); err != nil {
			t.Fatalf("%s: report: %v", name, err)
		}
		if err := c.Complete(ctx, id, ref, nil, time.Now()); err != nil {
			t.Fatalf("%s: complete: %v", name, err)
		}
		if err := c.Complete(ctx, id, ref, nil, time.Now()); !errors.Is(err, worker.ErrStale) {
			t.Errorf("%s: second completion under the same lease: %v, want ErrStale", name, err)
		}
		if err := c.SaveUpload(ctx, id, ref, task.UploadState{Key: "e", State: []byte("x")}); !errors.Is(err, worker.ErrStale) {
			t.Errorf("%s: upload saved under a finished lease: %v, want ErrStale", name, err)
		}
		lost, err := c.Renew(ctx, id, []task.LeaseRef{ref})
		if err != nil || len(lost) != 1 || lost[0] != ref {
			t.Errorf("%s: renew a finished lease: lost %v, %v; want it lost", name, lost, err)
		}
		if st, err := m.Stat(ctx, name); err != nil || st[0].Active() || st[0].Counters.FilesDone != 4 {
			t.Errorf("%s: the job after its only task: %+v, %v; want finished with 4 files done", name, st, err)
		}
		if err := c.Leave(ctx, id); err != nil {
			t.Errorf("%s: leave: %v", name, err)
		}
		l.Spec.Name, l.Spec.Dest.Prefix, l.Spec.ConfigFile = "", "", "" // per job
		return outcome{d, l.Entries, l.Spec}
	}
	g := run("grpc", rpc.NewClient(conn))
	d := run("direct", master.NewInProcess(m))
	if g.leaseDur != d.leaseDur || d.leaseDur != 90*time.Second {
		t.Errorf("lease duration: GRPC %v, Local %v; want 1m30s both", g.leaseDur, d.leaseDur)
	}
	if !reflect.DeepEqual(g.entries, d.entries) || len(d.entries) != 4 {
		t.Errorf("entries differ:\nGRPC  %+v\nLocal %+v", g.entries, d.entries)
	}
	if !reflect.DeepEqual(g.spec, d.spec) {
		t.Errorf("specs differ:\nGRPC  %+v\nLocal %+v", g.spec, d.spec)
	}
	// Both workers' stats reached the master, which adds them up.
	want := task.WorkerStats{Retries: 6, StoreOps: []task.StoreOps{{Store: "local", Op: "put", Class: "ok",
		Count: 8, Seconds: 1, Buckets: []uint64{2, 4, 6, 8, 8, 8, 8, 8}}}}
	if got := m.Tracker().ClusterStats(task.WorkerStats{}); !reflect.DeepEqual(got, want) {
		t.Errorf("cluster stats %+v, want %+v", got, want)
	}
}

// TestWorkerStopsWhenRevoked: a worker whose credential is revoked stops
// at its next call with ErrRefused, saying why in one line, rather than
// retrying for ever.
func TestWorkerStopsWhenRevoked(t *testing.T) {
	dir := t.TempDir()
	m, err := master.Open(master.Config{Dir: dir, LeaseDur: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	token, err := rpc.LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); m.Run(ctx) }()
	go func() { defer wg.Done(); rpc.Serve(ctx, m, lis, token, func() {}, nil) }()
	defer func() { cancel(); wg.Wait(); m.Close() }()

	secret, err := m.IssueCredential("w1")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := rpc.Dial(lis.Addr().String(), secret)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var logBuf lockedLog
	w := worker.New(worker.Config{ID: "w1", Host: "h1", Log: slog.New(slog.NewTextHandler(&logBuf, nil))}, rpc.NewClient(conn))
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ws := m.Workers(); len(ws) == 1 && ws[0].Alive {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the worker did not register")
		}
	}
	if found, err := m.RevokeCredential(ctx, "w1"); !found || err != nil {
		t.Fatalf("revoke: %t %v", found, err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, worker.ErrRefused) || !strings.Contains(err.Error(), "revoked") || strings.Contains(err.Error(), "\n") {
			t.Errorf("Run ended with %v; want ErrRefused saying the credential was revoked, in one line", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the revoked worker is still running 10s later")
	}
	if n := strings.Count(logBuf.String(), "level=ERROR"); n != 1 {
		t.Errorf("the worker logged %d error lines, want 1:\n%s", n, logBuf.String())
	}
	if strings.Contains(logBuf.String(), secret) {
		t.Error("the worker's log shows its credential")
	}
}

// lockedLog is a log's output, written and read concurrently.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
