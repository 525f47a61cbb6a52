package rpc

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "ferry/proto"
	"ferry/task"
	"ferry/tracker"
)

// Client is a worker's client of a master over gRPC. It implements
// worker.Client, as master.InProcess does in process, with the same
// answers: the status codes Serve gives the master's errors are mapped back
// to task's errors here.
type Client struct {
	m pb.MasterClient
	t pb.TrackerClient
}

// NewClient returns a worker's client over conn.
func NewClient(conn *grpc.ClientConn) *Client {
	return &Client{m: pb.NewMasterClient(conn), t: pb.NewTrackerClient(conn)}
}

func (g *Client) Register(ctx context.Context, id, host string, threads int) (time.Duration, error) {
	r, err := g.m.Register(ctx, &pb.RegisterRequest{WorkerId: id, Host: host, Threads: int32(threads), Version: task.Version})
	if err != nil {
		return 0, refusedErr(err)
	}
	return time.Duration(r.LeaseSeconds) * time.Second, nil
}

func (g *Client) Lease(ctx context.Context, id string, max int) ([]task.Lease, error) {
	r, err := g.m.Lease(ctx, &pb.LeaseRequest{WorkerId: id, MaxTasks: int32(max)})
	if err != nil {
		return nil, refusedErr(err)
	}
	limits := limitsFromPB(r.Limits)
	out := make([]task.Lease, len(r.Tasks))
	for i, t := range r.Tasks {
		out[i] = LeaseFromPB(t)
		out[i].Limits = limits[out[i].Job]
	}
	if r.Stop && len(out) == 0 {
		return nil, task.ErrStopping
	}
	if len(out) == 0 && r.RetryAfterMs > 0 {
		sleep(ctx, time.Duration(r.RetryAfterMs)*time.Millisecond)
	}
	return out, nil
}

func (g *Client) Renew(ctx context.Context, id string, refs []task.LeaseRef) ([]task.LeaseRef, error) {
	req := &pb.RenewRequest{WorkerId: id, Leases: make([]*pb.LeaseRef, len(refs))}
	for i, r := range refs {
		req.Leases[i] = RefToPB(r)
	}
	r, err := g.m.Renew(ctx, req)
	if err != nil {
		return nil, refusedErr(err)
	}
	lost := make([]task.LeaseRef, len(r.Lost))
	for i, l := range r.Lost {
		lost[i] = RefFromPB(l)
	}
	if r.Stop {
		return lost, task.ErrStopping
	}
	return lost, nil
}

func (g *Client) Complete(ctx context.Context, id string, ref task.LeaseRef, outcomes []task.Outcome, started time.Time) error {
	req := &pb.CompleteRequest{WorkerId: id, Lease: RefToPB(ref), StartedUnixMs: started.UnixMilli(),
		Results: make([]*pb.EntryResult, len(outcomes))}
	for i, o := range outcomes {
		req.Results[i] = outcomeToPB(o)
	}
	_, err := g.m.Complete(ctx, req)
	return staleErr(err)
}

func (g *Client) Report(ctx context.Context, id string, copied int64, stats task.WorkerStats, audits map[task.LeaseRef][]tracker.Record, progress []tracker.TaskProgress) (map[string]task.Limits, error) {
	req := &pb.ReportRequest{WorkerId: id, BytesCopied: copied, Stats: statsToPB(stats)}
	for ref, recs := range audits {
		b := &pb.AuditBatch{Lease: RefToPB(ref), Records: make([]*pb.AuditRecord, len(recs))}
		for i, r := range recs {
			b.Records[i] = recordToPB(r)
		}
		req.Audits = append(req.Audits, b)
	}
	for _, p := range progress {
		req.Progress = append(req.Progress, &pb.TaskProgress{Lease: RefToPB(task.LeaseRef{Job: p.Job, TaskID: p.Task, LeaseID: p.Lease}),
			FilesDone: p.Files, BytesDone: p.Bytes})
	}
	r, err := g.t.Report(ctx, req)
	if err != nil {
		return nil, refusedErr(err)
	}
	if r.Stop {
		return limitsFromPB(r.Limits), task.ErrStopping
	}
	return limitsFromPB(r.Limits), nil
}

func (g *Client) Leave(ctx context.Context, id string) error {
	_, err := g.m.Leave(ctx, &pb.LeaveRequest{WorkerId: id})
	return refusedErr(err)
}

func (g *Client) SaveUpload(ctx context.Context, id string, ref task.LeaseRef, u task.UploadState) error {
	_, err := g.m.SaveUpload(ctx, &pb.SaveUploadRequest{WorkerId: id, Lease: RefToPB(ref),
		Upload: &pb.UploadState{Key: []byte(u.Key), State: u.State}})
	return staleErr(err)
}

// staleErr is task.ErrStaleLease for the codes Serve gives a lease that is
// not current or a job that is gone or running again, else refusedErr's.
func staleErr(err error) error {
	if c := status.Code(err); c == codes.FailedPrecondition || c == codes.NotFound {
		return fmt.Errorf("%w: %v", task.ErrStaleLease, err)
	}
	return refusedErr(err)
}

// refusedErr is task.ErrRefused for the codes the guard gives a
// credential it does not know (revoked, replaced, wrong) or one that may
// not make the call, else err.
func refusedErr(err error) error {
	if c := status.Code(err); c == codes.Unauthenticated || c == codes.PermissionDenied {
		return fmt.Errorf("%w: %v", task.ErrRefused, err)
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
