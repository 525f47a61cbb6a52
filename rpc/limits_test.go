package rpc_test

import (
	"bytes"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	pb "ferry/proto"
	"ferry/rpc"
	"ferry/task"
	"ferry/tracker"
)

// countingListener counts the bytes the server reads from its connections.
type countingListener struct {
	net.Listener
	read atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, read: &l.read}, nil
}

type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.read.Add(int64(n))
	return n, err
}

// An unauthenticated Submit of 64 MiB is refused before its body is read:
// the server reads a flow-control window of it, not the message.
func TestServeRefusesBeforeReading(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: lis}
	s := serveOn(t, cl, time.Minute)
	none, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	const size = 64 << 20
	junk := &pb.SubmitRequest{Spec: &pb.JobSpec{Name: "junk", ConfigFile: bytes.Repeat([]byte{'x'}, size)}}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	before := cl.read.Load()
	_, err = pb.NewControlClient(none).Submit(ctxT(t), junk)
	wantCode(t, "unauthenticated 64 MiB Submit", err, codes.Unauthenticated)
	time.Sleep(200 * time.Millisecond) // frames the client had sent arrive
	read := cl.read.Load() - before
	runtime.ReadMemStats(&m1)
	// TotalAlloc counts the client's copy of the message too (the test
	// process is both): it is a figure to read, the bytes read the check.
	t.Logf("server read %d bytes of a %d-byte unauthenticated Submit; the process allocated %d MiB meanwhile",
		read, size, (m1.TotalAlloc-m0.TotalAlloc)>>20)
	if read > 4<<20 {
		t.Errorf("server read %d bytes of a refused %d-byte message; want a flow-control window (< 4 MiB)", read, size)
	}
}

// An authenticated Submit larger than a spec can be is refused.
func TestServeCapsSubmit(t *testing.T) {
	s := serve(t, time.Minute)
	big := &pb.SubmitRequest{Spec: &pb.JobSpec{Name: "big", ConfigFile: bytes.Repeat([]byte{'x'}, 2<<20)}}
	_, err := s.cc.Submit(ctxT(t), big)
	wantCode(t, "2 MiB Submit", err, codes.ResourceExhausted)
}

// A Report as large as a worker sends is taken, over the cap of the other
// calls; one past its own cap is refused.
func TestServeTakesBigReport(t *testing.T) {
	s := serve(t, time.Minute)
	key := bytes.Repeat([]byte{'k'}, 1000)
	batch := &pb.AuditBatch{Lease: &pb.LeaseRef{Job: "nojob", TaskId: 1, LeaseId: 1}}
	req := &pb.ReportRequest{WorkerId: "w", Audits: []*pb.AuditBatch{batch}}
	for range 24 << 10 { // 24 MiB, over 1000 bytes a record
		batch.Records = append(batch.Records, &pb.AuditRecord{TimeUnixMs: time.Now().UnixMilli(), Key: key})
	}
	if _, err := s.tc.Report(ctxT(t), req); err != nil {
		t.Fatalf("a %d-byte Report: %v", proto.Size(req), err)
	}
	for proto.Size(req) <= rpc.ReportCap {
		batch.Records = append(batch.Records, batch.Records[:4096]...)
	}
	_, err := s.tc.Report(ctxT(t), req)
	wantCode(t, "a Report over its cap", err, codes.ResourceExhausted)
}

// The caps hold what they are meant to: ReportSize is at least a record's
// encoding, and a Complete of a million failures fits completeCap.
func TestCapsFitTheirRequests(t *testing.T) {
	const huge = 1<<63 - 1
	r := tracker.Record{Time: time.Unix(0, huge), Result: tracker.Fail, Size: huge, CRC64: 1<<64 - 1, HasCRC: true,
		Key: strings.Repeat("k", 4096), Detail: strings.Repeat("d", 70000), Kind: 255,
		DestETag: strings.Repeat("e", 300), SourceMTime: time.Unix(0, -huge)}
	// Its bytes in a batch: the batch's size with it, less without.
	batch := &pb.AuditBatch{Lease: &pb.LeaseRef{Job: "j"}}
	empty := proto.Size(batch)
	batch.Records = append(batch.Records, rpc.RecordToPB(r))
	if n := proto.Size(batch) - empty; n > r.ReportSize() {
		t.Errorf("a record takes %d bytes in a report, more than ReportSize's %d", n, r.ReportSize())
	}
	req := &pb.CompleteRequest{WorkerId: strings.Repeat("w", 200), StartedUnixMs: huge,
		Lease: &pb.LeaseRef{Job: strings.Repeat("j", 200), TaskId: 1<<64 - 1, LeaseId: 1<<64 - 1}}
	detail := "READ_ERROR: " + strings.Repeat("x", 1000)
	for i := range 1_000_000 {
		req.Results = append(req.Results, rpc.OutcomeToPB(task.Outcome{Index: uint32(i), Kind: 255, Detail: detail}))
	}
	n := proto.Size(req)
	t.Logf("a Complete of a million failures: %d bytes", n)
	if n > rpc.CompleteCap {
		t.Errorf("a Complete of a million failures is %d bytes, over completeCap (%d)", n, rpc.CompleteCap)
	}
}

// Refusals are logged with the peer's address, once per window per peer,
// the next line counting those left out.
func TestServeLogsRefusals(t *testing.T) {
	defer rpc.SetRefusalWindow(500 * time.Millisecond)()
	s := serve(t, time.Minute)
	none, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer none.Close()
	lines := func() []string {
		var out []string
		for _, l := range strings.Split(s.log.String(), "\n") {
			if strings.Contains(l, "rpc refused") {
				out = append(out, l)
			}
		}
		return out
	}
	start := time.Now()
	for range 3 {
		_, err := pb.NewControlClient(none).Stat(ctxT(t), &pb.StatRequest{})
		wantCode(t, "Stat without token", err, codes.Unauthenticated)
	}
	if time.Since(start) > 400*time.Millisecond {
		t.Skip("three calls took longer than the window; the machine is too slow to tell")
	}
	got := lines()
	if len(got) != 1 || !strings.Contains(got[0], "peer=127.0.0.1:") || !strings.Contains(got[0], "method=/ferry.v1.Control/Stat") ||
		!strings.Contains(got[0], `why="no token"`) || !strings.Contains(got[0], "suppressed=0") {
		t.Fatalf("after 3 refusals in a window, the log has %q; want one line with the peer, the method and why", got)
	}
	time.Sleep(600 * time.Millisecond)
	_, err = pb.NewMasterClient(none).Register(ctxT(t), &pb.RegisterRequest{WorkerId: "w"})
	wantCode(t, "Register without token", err, codes.Unauthenticated)
	if got := lines(); len(got) != 2 || !strings.Contains(got[1], "method=/ferry.v1.Master/Register") || !strings.Contains(got[1], "suppressed=2") {
		t.Fatalf("after the window, the log has %q; want a second line counting 2 suppressed", got)
	}
}
