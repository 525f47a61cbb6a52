package rpc_test

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"ferry/master"
	pb "ferry/proto"
	"ferry/rpc"
	"ferry/store/storetest"
	"ferry/task"
)

// A worker host's credential (issue 15, "workers hold the console's
// power"): it authorises that one worker's calls, nothing of the
// console's, and stops working when revoked.

// asWorker is a connection with a worker's credential.
type asWorker struct {
	secret string
	conn   *grpc.ClientConn
	mc     pb.MasterClient
	tc     pb.TrackerClient
	cc     pb.ControlClient
}

// issue has the master issue worker id a credential, as deploy does, and
// dials with it.
func (s *served) issue(t *testing.T, id string) *asWorker {
	t.Helper()
	r, err := s.cc.IssueCredential(ctxT(t), &pb.IssueCredentialRequest{WorkerId: id})
	if err != nil || len(r.Secret) < 64 || strings.Contains(r.Secret, s.token) {
		t.Fatalf("issue a credential for %s: %v, %v", id, r, err)
	}
	conn, err := rpc.Dial(s.addr, r.Secret)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &asWorker{secret: r.Secret, conn: conn, mc: pb.NewMasterClient(conn), tc: pb.NewTrackerClient(conn), cc: pb.NewControlClient(conn)}
}

// noSecretLogged fails t when the master's log shows a secret.
func (s *served) noSecretLogged(t *testing.T, secrets ...string) {
	t.Helper()
	for _, sec := range append(secrets, s.token) {
		if strings.Contains(s.log.String(), sec) {
			t.Errorf("the master's log shows a secret:\n%s", s.log.String())
		}
	}
}

// TestServeWorkerCredential: a worker's credential leases, renews,
// reports and completes as its worker, and every Control call made with
// it is refused (PermissionDenied) without changing anything.
func TestServeWorkerCredential(t *testing.T) {
	s := serve(t, time.Minute)
	s.submit(t, "job", storetest.Tree(t, map[string]string{"one": "1", "two": "22"}), 1)
	s.waitStat(t, "job", "scan", func(js *pb.JobStat) bool { return js.ScanFinished && js.PendingTasks == 2 })
	w := s.issue(t, "w1")
	ctx := ctxT(t)

	// The console's calls.
	_, err := w.cc.Submit(ctx, &pb.SubmitRequest{Spec: rpc.SpecToPB(localSpec("evil", t.TempDir(), t.TempDir()))})
	wantCode(t, "Submit with a worker credential", err, codes.PermissionDenied)
	_, err = w.cc.Clean(ctx, &pb.CleanRequest{Job: "job", Force: true})
	wantCode(t, "Clean with a worker credential", err, codes.PermissionDenied)
	_, err = w.cc.Stop(ctx, &pb.StopRequest{})
	wantCode(t, "Stop with a worker credential", err, codes.PermissionDenied)
	_, err = w.cc.Stat(ctx, &pb.StatRequest{Credentials: true})
	wantCode(t, "Stat with a worker credential", err, codes.PermissionDenied)
	_, err = w.cc.Retry(ctx, &pb.RetryRequest{Job: "job"})
	wantCode(t, "Retry with a worker credential", err, codes.PermissionDenied)
	_, err = w.cc.Throttle(ctx, &pb.ThrottleRequest{Job: "job", BytesPerSec: 1})
	wantCode(t, "Throttle with a worker credential", err, codes.PermissionDenied)
	_, err = w.cc.IssueCredential(ctx, &pb.IssueCredentialRequest{WorkerId: "w2"})
	wantCode(t, "IssueCredential with a worker credential", err, codes.PermissionDenied)
	_, err = w.cc.RevokeCredential(ctx, &pb.RevokeCredentialRequest{WorkerId: "w1"})
	wantCode(t, "RevokeCredential with a worker credential", err, codes.PermissionDenied)
	// Nothing changed.
	r, err := s.cc.Stat(ctx, &pb.StatRequest{Workers: true})
	if err != nil || len(r.Jobs) != 1 || r.Jobs[0].Name != "job" || r.Jobs[0].PendingTasks != 2 || r.Jobs[0].LimitBytesPerSec != 0 {
		t.Fatalf("the refused calls changed the jobs: %v, %v", r, err)
	}
	if len(r.Credentials) != 1 || r.Credentials[0].WorkerId != "w1" {
		t.Fatalf("the refused calls changed the credentials: %v", r.Credentials)
	}
	if len(s.stops) != 0 {
		t.Fatal("a Stop with a worker's credential stopped the master")
	}

	// The worker's calls.
	reg, err := w.mc.Register(ctx, &pb.RegisterRequest{WorkerId: "w1", Host: "h1", Threads: 2})
	if err != nil || reg.LeaseSeconds != 60 {
		t.Fatalf("register with the worker's credential: %v, %v", reg, err)
	}
	lr, err := w.mc.Lease(ctx, &pb.LeaseRequest{WorkerId: "w1", MaxTasks: 1})
	if err != nil || len(lr.Tasks) != 1 {
		t.Fatalf("lease with the worker's credential: %v, %v", lr, err)
	}
	l := lr.Tasks[0]
	if rn, err := w.mc.Renew(ctx, &pb.RenewRequest{WorkerId: "w1", Leases: []*pb.LeaseRef{ref(l)}}); err != nil || len(rn.Lost) != 0 {
		t.Fatalf("renew with the worker's credential: %v, %v", rn, err)
	}
	rec := &pb.AuditRecord{TimeUnixMs: time.Now().UnixMilli(), Key: l.Entries[0].Key, Size: l.Entries[0].Size}
	if _, err := w.tc.Report(ctx, &pb.ReportRequest{WorkerId: "w1", Audits: []*pb.AuditBatch{{Lease: ref(l), Records: []*pb.AuditRecord{rec}}}}); err != nil {
		t.Fatalf("report with the worker's credential: %v", err)
	}
	if _, err := w.mc.Complete(ctx, &pb.CompleteRequest{WorkerId: "w1", Lease: ref(l), StartedUnixMs: time.Now().UnixMilli()}); err != nil {
		t.Fatalf("complete with the worker's credential: %v", err)
	}
	if js := s.stat(t, "job"); js.SucceedTasks != 1 || js.PendingTasks != 1 {
		t.Fatalf("after the worker completed a task: %v", js)
	}
	if _, err := w.mc.Leave(ctx, &pb.LeaveRequest{WorkerId: "w1"}); err != nil {
		t.Fatalf("leave with the worker's credential: %v", err)
	}
	if !strings.Contains(s.log.String(), "credential may not make this call") {
		t.Errorf("the refusals are not logged as a worker's credential's:\n%s", s.log.String())
	}
	s.noSecretLogged(t, w.secret)
}

// TestServeCredentialBoundToWorker: a credential acts as its own worker
// only; naming another is refused on every worker call, and the other
// worker is neither registered nor touched.
func TestServeCredentialBoundToWorker(t *testing.T) {
	s := serve(t, time.Minute)
	s.submit(t, "job", storetest.Tree(t, map[string]string{"one": "1", "two": "22"}), 1)
	s.waitStat(t, "job", "scan", func(js *pb.JobStat) bool { return js.ScanFinished && js.PendingTasks == 2 })
	a := s.issue(t, "hostA")
	s.issue(t, "hostB")
	ls := s.lease(t, "hostB", 1) // hostB's own lease, taken with the master's token
	ctx := ctxT(t)

	_, err := a.mc.Register(ctx, &pb.RegisterRequest{WorkerId: "hostB", Host: "hostB"})
	wantCode(t, "Register as hostB with hostA's credential", err, codes.PermissionDenied)
	_, err = a.mc.Lease(ctx, &pb.LeaseRequest{WorkerId: "hostB", MaxTasks: 1})
	wantCode(t, "Lease as hostB with hostA's credential", err, codes.PermissionDenied)
	_, err = a.mc.Renew(ctx, &pb.RenewRequest{WorkerId: "hostB", Leases: []*pb.LeaseRef{ref(ls[0])}})
	wantCode(t, "Renew as hostB with hostA's credential", err, codes.PermissionDenied)
	_, err = a.mc.Complete(ctx, &pb.CompleteRequest{WorkerId: "hostB", Lease: ref(ls[0])})
	wantCode(t, "Complete as hostB with hostA's credential", err, codes.PermissionDenied)
	_, err = a.mc.SaveUpload(ctx, &pb.SaveUploadRequest{WorkerId: "hostB", Lease: ref(ls[0]), Upload: &pb.UploadState{Key: []byte("one"), State: []byte("x")}})
	wantCode(t, "SaveUpload as hostB with hostA's credential", err, codes.PermissionDenied)
	_, err = a.tc.Report(ctx, &pb.ReportRequest{WorkerId: "hostB"})
	wantCode(t, "Report as hostB with hostA's credential", err, codes.PermissionDenied)
	_, err = a.mc.Leave(ctx, &pb.LeaveRequest{WorkerId: "hostB"})
	wantCode(t, "Leave as hostB with hostA's credential", err, codes.PermissionDenied)
	_, err = a.mc.Register(ctx, &pb.RegisterRequest{WorkerId: "", Host: "hostA"})
	wantCode(t, "Register with no worker ID with hostA's credential", err, codes.PermissionDenied)

	for _, w := range s.m.Workers() {
		t.Errorf("a worker was registered: %+v", w)
	}
	if js := s.stat(t, "job"); js.DispatchedTasks != 1 || js.PendingTasks != 1 || js.SucceedTasks != 0 {
		t.Fatalf("hostB's lease was touched by hostA's credential: %v", js)
	}
	if !strings.Contains(s.log.String(), `credential used as worker \"hostB\"`) {
		t.Errorf("the refusals do not say whose credential claimed whom:\n%s", s.log.String())
	}
	// Its own ID is let in.
	if _, err := a.mc.Register(ctx, &pb.RegisterRequest{WorkerId: "hostA", Host: "hostA"}); err != nil {
		t.Fatalf("Register as hostA with hostA's credential: %v", err)
	}
}

// TestServeRevokeCredential: a revoked credential is refused at its next
// call (the worker's client says ErrRefused), the tasks its worker held go
// to another worker at once, `stat --workers` says it, and a new
// credential for the host works while the old one stays refused.
func TestServeRevokeCredential(t *testing.T) {
	s := serve(t, time.Minute)
	s.submit(t, "job", storetest.Tree(t, map[string]string{"one": "1", "two": "22"}), 1)
	s.waitStat(t, "job", "scan", func(js *pb.JobStat) bool { return js.ScanFinished && js.PendingTasks == 2 })
	w1, w2 := s.issue(t, "w1"), s.issue(t, "w2")
	ctx := ctxT(t)
	if _, err := w1.mc.Register(ctx, &pb.RegisterRequest{WorkerId: "w1"}); err != nil {
		t.Fatal(err)
	}
	lr, err := w1.mc.Lease(ctx, &pb.LeaseRequest{WorkerId: "w1", MaxTasks: 2})
	if err != nil || len(lr.Tasks) != 2 {
		t.Fatalf("w1's lease: %v, %v", lr, err)
	}

	if _, err := s.cc.RevokeCredential(ctx, &pb.RevokeCredentialRequest{WorkerId: "w1"}); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	_, err = s.cc.RevokeCredential(ctx, &pb.RevokeCredentialRequest{WorkerId: "w1"})
	wantCode(t, "revoke again", err, codes.NotFound)

	_, err = w1.mc.Renew(ctx, &pb.RenewRequest{WorkerId: "w1", Leases: []*pb.LeaseRef{ref(lr.Tasks[0])}})
	wantCode(t, "Renew with a revoked credential", err, codes.Unauthenticated)
	if !strings.Contains(err.Error(), "revoked") || !strings.Contains(err.Error(), "console.sh deploy") {
		t.Errorf("the refusal does not say the credential was revoked and what to do: %v", err)
	}
	_, err = w1.mc.Complete(ctx, &pb.CompleteRequest{WorkerId: "w1", Lease: ref(lr.Tasks[0])})
	wantCode(t, "Complete with a revoked credential", err, codes.Unauthenticated)
	if _, err := rpc.NewClient(w1.conn).Lease(ctx, "w1", 1); !errors.Is(err, task.ErrRefused) {
		t.Errorf("the worker's client: Lease with a revoked credential gave %v, want ErrRefused", err)
	}

	// w1's two tasks are pending again at once (the lease is a minute).
	got, err := w2.mc.Lease(ctx, &pb.LeaseRequest{WorkerId: "w2", MaxTasks: 2})
	if err != nil || len(got.Tasks) != 2 || got.Tasks[0].Attempt != 2 {
		t.Fatalf("w2's lease after w1 was revoked: %v, %v; want w1's two tasks, attempt 2", got, err)
	}
	for _, l := range got.Tasks {
		if _, err := w2.mc.Complete(ctx, &pb.CompleteRequest{WorkerId: "w2", Lease: ref(l), StartedUnixMs: time.Now().UnixMilli()}); err != nil {
			t.Fatalf("w2 completes: %v", err)
		}
	}
	if js := s.stat(t, "job"); js.State != "Succeed" {
		t.Fatalf("after w2 completed w1's tasks: %v", js)
	}

	r, err := s.cc.Stat(ctx, &pb.StatRequest{Workers: true})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, w := range r.Workers {
		states[w.WorkerId] = w.State
	}
	if states["w1"] != "revoked" {
		t.Errorf("stat --workers: w1 is %q, want revoked (%v)", states["w1"], r.Workers)
	}
	if len(r.Credentials) != 1 || r.Credentials[0].WorkerId != "w2" {
		t.Errorf("credentials after the revocation: %v, want only w2's", r.Credentials)
	}
	if !strings.Contains(s.log.String(), "revoked credential of worker w1") {
		t.Errorf("the master's log does not say a revoked credential was refused:\n%s", s.log.String())
	}

	// deploy again: a new credential for w1 works, the old one does not.
	w1b := s.issue(t, "w1")
	if _, err := w1b.mc.Register(ctx, &pb.RegisterRequest{WorkerId: "w1"}); err != nil {
		t.Fatalf("register with w1's new credential: %v", err)
	}
	_, err = w1.mc.Register(ctx, &pb.RegisterRequest{WorkerId: "w1"})
	wantCode(t, "Register with w1's revoked credential after a new one was issued", err, codes.Unauthenticated)
	s.noSecretLogged(t, w1.secret, w2.secret, w1b.secret)
}

// TestServeCredentialRefusedBeforeReading: a 64 MiB Submit with a
// worker's credential is refused before its body is read.
func TestServeCredentialRefusedBeforeReading(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: lis}
	s := serveOn(t, cl, time.Minute)
	w := s.issue(t, "w1")
	junk := &pb.SubmitRequest{Spec: &pb.JobSpec{Name: "junk", ConfigFile: bytes.Repeat([]byte{'x'}, 64<<20)}}
	before := cl.read.Load()
	_, err = w.cc.Submit(ctxT(t), junk)
	wantCode(t, "64 MiB Submit with a worker credential", err, codes.PermissionDenied)
	time.Sleep(200 * time.Millisecond)
	if read := cl.read.Load() - before; read > 4<<20 {
		t.Errorf("server read %d bytes of a Submit refused to a worker's credential; want a flow-control window (< 4 MiB)", read)
	}
}

// TestCredentialsDurable: credentials outlive the master (ferry.db, mode
// 0600, holding no secret), and so does a revocation.
func TestCredentialsDurable(t *testing.T) {
	dir := t.TempDir()
	open := func() *master.Master {
		m, err := master.Open(master.Config{Dir: dir, LeaseDur: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := open()
	a, err := m.IssueCredential("a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.IssueCredential("b:2222")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.IssueCredential("bad id"); err == nil {
		t.Error("a worker ID with a space was given a credential")
	}
	m.Close()
	db := filepath.Join(dir, "ferry.db")
	if fi, err := os.Stat(db); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("ferry.db: %v, %v; want mode 0600", fi.Mode(), err)
	}
	if raw, _ := os.ReadFile(db); bytes.Contains(raw, []byte(a)) || bytes.Contains(raw, []byte(b)) {
		t.Error("ferry.db holds a credential's secret")
	}
	m = open()
	if w, ok := m.CredentialOf(a); !ok || w != "a" {
		t.Fatalf("after a restart, a's credential is %q %t", w, ok)
	}
	if found, err := m.RevokeCredential(ctxT(t), "a"); !found || err != nil {
		t.Fatalf("revoke a: %t %v", found, err)
	}
	m.Close()
	m = open()
	defer m.Close()
	if _, ok := m.CredentialOf(a); ok {
		t.Error("a revoked credential works again after a restart")
	}
	if w, ok := m.CredentialOf(b); !ok || w != "b:2222" {
		t.Errorf("after a restart, b's credential is %q %t", w, ok)
	}
	if cs := m.Credentials(); len(cs) != 1 || cs[0].Worker != "b:2222" {
		t.Errorf("credentials: %+v", cs)
	}
}

// TestServeMasterTokenWorkerWarns: a worker deployed before worker
// credentials (it holds the master's token) keeps working, and the
// master's log says to deploy again, once per window.
func TestServeMasterTokenWorkerWarns(t *testing.T) {
	s := serve(t, time.Minute)
	for range 3 {
		if _, err := s.mc.Register(ctxT(t), &pb.RegisterRequest{WorkerId: "old"}); err != nil {
			t.Fatalf("register with the master's token: %v", err)
		}
	}
	if _, err := s.tc.Report(ctxT(t), &pb.ReportRequest{WorkerId: "old"}); err != nil {
		t.Fatalf("report with the master's token: %v", err)
	}
	if n := strings.Count(s.log.String(), "a worker uses the master's token: run `console.sh deploy`"); n != 1 {
		t.Errorf("the log warns %d times of a worker with the master's token, want once:\n%s", n, s.log.String())
	}
	if !strings.Contains(s.log.String(), "worker=old") {
		t.Errorf("the warning does not name the worker:\n%s", s.log.String())
	}
}
