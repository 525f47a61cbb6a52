package rpc_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "ferry/proto"
	"ferry/state"
	"ferry/store/storetest"
	"ferry/tracker"
	"ferry/tracker/trackertest"
)

// Several workers lease, report and complete at once over gRPC, with
// random entry failures, retries and workers that vanish mid-task. At the
// end every key has exactly one OK record in the published audit logs, its
// failures appear once per accepted failed attempt, and nothing a vanished
// worker did was counted.
func TestServeConcurrentWorkers(t *testing.T) {
	const nFiles, perTask = 120, 4
	s := serve(t, time.Second)
	files := make(map[string]string)
	for i := 0; i < nFiles; i++ {
		files[fmt.Sprintf("d%02d/f%03d\xff", i/10, i)] = strings.Repeat("x", i)
	}
	s.submit(t, "job", storetest.Tree(t, files), perTask)
	s.waitStat(t, "job", "scan", func(js *pb.JobStat) bool { return js.ScanFinished })

	var mu sync.Mutex
	fails := make(map[string]int) // key -> failures in accepted attempts
	var abandoned []*pb.TaskLease
	failedAttempts := 0

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	work := func(id string, r *rand.Rand) error {
		for ctx.Err() == nil {
			lr, err := s.mc.Lease(ctx, &pb.LeaseRequest{WorkerId: id, MaxTasks: 2})
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				return fmt.Errorf("lease: %w", err)
			}
			for _, l := range lr.Tasks {
				rep := &pb.ReportRequest{WorkerId: id, Audits: []*pb.AuditBatch{{Lease: ref(l)}}}
				var results []*pb.EntryResult
				var failed []string
				for i, e := range l.Entries {
					res := pb.Result_RESULT_OK
					if r.IntN(8) == 0 {
						res = pb.Result_RESULT_FAIL
						results = append(results, &pb.EntryResult{Index: uint32(i), Result: res})
						failed = append(failed, string(e.Key))
					}
					rep.Audits[0].Records = append(rep.Audits[0].Records, &pb.AuditRecord{
						TimeUnixMs: time.Now().UnixMilli(), Result: res, Size: e.Size, Key: e.Key})
				}
				if _, err := s.tc.Report(ctx, rep); err != nil {
					return fmt.Errorf("report: %w", err)
				}
				if r.IntN(10) == 0 { // the worker is cut off: no renewal, no completion
					mu.Lock()
					abandoned = append(abandoned, l)
					mu.Unlock()
					continue
				}
				if _, err := s.mc.Renew(ctx, &pb.RenewRequest{WorkerId: id, Leases: []*pb.LeaseRef{ref(l)}}); err != nil {
					return fmt.Errorf("renew: %w", err)
				}
				_, err := s.complete(id, l, results...)
				if status.Code(err) == codes.FailedPrecondition {
					continue // expired while we were slow: someone else will do it
				}
				if err != nil {
					return fmt.Errorf("complete: %w", err)
				}
				mu.Lock()
				for _, k := range failed {
					fails[k]++
				}
				if len(failed) > 0 {
					failedAttempts++
				}
				mu.Unlock()
			}
		}
		return nil
	}
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := work(fmt.Sprintf("w%d", i), rand.New(rand.NewPCG(uint64(i), 7)))
			if err != nil && ctx.Err() == nil { // not one cut short at the end
				errs <- err
			}
		}()
	}

	for end := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		js := s.stat(t, "job")
		if js.State == state.StateSucceed {
			break
		}
		if js.State == state.StateFailed {
			if _, err := s.cc.Retry(ctxT(t), &pb.RetryRequest{Job: "job"}); err != nil {
				t.Fatalf("retry: %v", err)
			}
		}
		if time.Now().After(end) || len(errs) > 0 {
			cancel()
			wg.Wait()
			close(errs)
			t.Fatalf("job did not finish: %v; worker error: %v", js, <-errs)
		}
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("worker: %v", err)
	}

	js := s.stat(t, "job")
	if js.FilesDone != nFiles || js.FilesTotal != nFiles || js.FilesFailed != 0 || js.SucceedTasks != nFiles/perTask {
		t.Fatalf("at the end: %v", js)
	}
	for _, l := range abandoned {
		_, err := s.complete("late", l)
		wantCode(t, "completion of an abandoned lease", err, codes.FailedPrecondition)
	}

	// The published audit logs: one directory per accepted completion.
	jobDir := s.jobDir("job")
	ok := make(map[string]int)
	failSeen := make(map[string]int)
	count := map[string]int{}
	for _, parent := range []string{"succeed_tasks", "failed_tasks"} {
		des, err := os.ReadDir(filepath.Join(jobDir, parent))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		count[parent] = len(des)
		for _, de := range des {
			status := map[string]string{"succeed_tasks": "Completed", "failed_tasks": "Failed"}[parent]
			for _, rec := range checkAttemptAnyErrors(t, filepath.Join(jobDir, parent, de.Name()), status) {
				if rec.Result == tracker.OK {
					ok[rec.Key]++
				} else {
					failSeen[rec.Key]++
				}
			}
		}
	}
	if count["succeed_tasks"] != nFiles/perTask || count["failed_tasks"] != failedAttempts {
		t.Errorf("published %v, want %d succeeded and %d failed attempts", count, nFiles/perTask, failedAttempts)
	}
	for k := range files {
		if ok[k] != 1 || failSeen[k] != fails[k] {
			t.Errorf("key %q: %d OK records, %d FAIL records; want 1 and %d", k, ok[k], failSeen[k], fails[k])
		}
	}
	if len(ok) != nFiles {
		t.Errorf("OK records for %d keys, want %d", len(ok), nFiles)
	}
	if des, _ := os.ReadDir(filepath.Join(jobDir, ".inflight")); len(des) != 0 {
		t.Errorf("in-flight directories left: %d", len(des))
	}
	t.Logf("%d abandoned leases, %d failed attempts", len(abandoned), failedAttempts)
}

// checkAttemptAnyErrors checks an attempt directory whose error.list must
// name the keys of its FAIL records, and returns the records.
func checkAttemptAnyErrors(t *testing.T, dir, status string) []tracker.Record {
	t.Helper()
	var failed []string
	for _, r := range trackertest.AuditLog(t, dir) {
		if r.Result == tracker.Fail {
			failed = append(failed, r.Key)
		}
	}
	return trackertest.CheckAttempt(t, dir, status, failed)
}

// While workers complete tasks, stat never counts a task succeeded whose
// audit directory is not yet in succeed_tasks: a user who reads the stat
// and then the directory finds every attempt it counted.
func TestStatNeverAheadOfAuditDirs(t *testing.T) {
	const nFiles = 300
	s := serve(t, time.Minute)
	files := make(map[string]string)
	for i := 0; i < nFiles; i++ {
		files[fmt.Sprintf("f%03d", i)] = "x"
	}
	s.submit(t, "job", storetest.Tree(t, files), 1)
	s.waitStat(t, "job", "scan", func(js *pb.JobStat) bool { return js.ScanFinished })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("w%d", w)
			for ctx.Err() == nil {
				lr, err := s.mc.Lease(ctx, &pb.LeaseRequest{WorkerId: id, MaxTasks: 2})
				if err != nil || len(lr.Tasks) == 0 {
					return
				}
				for _, l := range lr.Tasks {
					if _, err := s.mc.Complete(ctx, &pb.CompleteRequest{WorkerId: id, Lease: ref(l), StartedUnixMs: time.Now().UnixMilli()}); err != nil {
						if ctx.Err() == nil {
							t.Errorf("complete: %v", err)
						}
						return
					}
				}
			}
		}()
	}
	dir := filepath.Join(s.jobDir("job"), "succeed_tasks")
	for checks := 0; ; checks++ {
		st, err := s.m.Stat(ctx, "job")
		if err != nil {
			t.Fatal(err)
		}
		done := st[0].Counters.Tasks[state.Succeeded]
		ents, _ := os.ReadDir(dir)
		if int64(len(ents)) < done {
			t.Fatalf("stat counts %d tasks succeeded, but %s holds %d directories", done, dir, len(ents))
		}
		if done == nFiles {
			t.Logf("%d stats checked", checks)
			break
		}
	}
	cancel()
	wg.Wait()
}
