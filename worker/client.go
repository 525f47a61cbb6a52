package worker

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"ferry/master"
	pb "ferry/proto"
	"ferry/tracker"
)

// GRPC is the Client that talks to a master over gRPC.
type GRPC struct {
	m pb.MasterClient
	t pb.TrackerClient
}

var _ Client = (*GRPC)(nil)

// NewGRPC returns a Client over conn.
func NewGRPC(conn *grpc.ClientConn) *GRPC {
	return &GRPC{m: pb.NewMasterClient(conn), t: pb.NewTrackerClient(conn)}
}

func (g *GRPC) Register(ctx context.Context, id, host string, threads int) (time.Duration, error) {
	r, err := g.m.Register(ctx, &pb.RegisterRequest{WorkerId: id, Host: host, Threads: int32(threads), Version: master.Version})
	if status.Code(err) == codes.Unauthenticated {
		return 0, fmt.Errorf("%w: %v", ErrRefused, err)
	}
	if err != nil {
		return 0, err
	}
	return time.Duration(r.LeaseSeconds) * time.Second, nil
}

func (g *GRPC) Lease(ctx context.Context, id string, max int) ([]master.Lease, error) {
	r, err := g.m.Lease(ctx, &pb.LeaseRequest{WorkerId: id, MaxTasks: int32(max)})
	if err != nil {
		return nil, err
	}
	limits := limitsFromPB(r.Limits)
	out := make([]master.Lease, len(r.Tasks))
	for i, t := range r.Tasks {
		out[i] = master.LeaseFromPB(t)
		out[i].Limits = limits[out[i].Job]
	}
	if r.Stop && len(out) == 0 {
		return nil, ErrStopping
	}
	if len(out) == 0 && r.RetryAfterMs > 0 {
		sleep(ctx, time.Duration(r.RetryAfterMs)*time.Millisecond)
	}
	return out, nil
}

func (g *GRPC) Renew(ctx context.Context, id string, refs []master.LeaseRef) ([]master.LeaseRef, error) {
	req := &pb.RenewRequest{WorkerId: id, Leases: make([]*pb.LeaseRef, len(refs))}
	for i, r := range refs {
		req.Leases[i] = master.RefToPB(r)
	}
	r, err := g.m.Renew(ctx, req)
	if err != nil {
		return nil, err
	}
	lost := make([]master.LeaseRef, len(r.Lost))
	for i, l := range r.Lost {
		lost[i] = master.RefFromPB(l)
	}
	if r.Stop {
		return lost, ErrStopping
	}
	return lost, nil
}

func (g *GRPC) Complete(ctx context.Context, id string, ref master.LeaseRef, results []master.EntryResult, started time.Time) error {
	req := &pb.CompleteRequest{WorkerId: id, Lease: master.RefToPB(ref), StartedUnixMs: started.UnixMilli(),
		Results: make([]*pb.EntryResult, len(results))}
	for i, r := range results {
		res := pb.Result_RESULT_FAIL
		if r.Skip {
			res = pb.Result_RESULT_SKIP
		}
		req.Results[i] = &pb.EntryResult{Index: r.Index, Result: res, Detail: []byte(r.Detail)}
	}
	_, err := g.m.Complete(ctx, req)
	if status.Code(err) == codes.FailedPrecondition || status.Code(err) == codes.NotFound {
		return ErrStale
	}
	return err
}

func (g *GRPC) Report(ctx context.Context, id string, copied int64, audits map[master.LeaseRef][]tracker.Record, progress []tracker.TaskProgress) (map[string]master.Limits, error) {
	req := &pb.ReportRequest{WorkerId: id, BytesCopied: copied}
	for ref, recs := range audits {
		b := &pb.AuditBatch{Lease: master.RefToPB(ref), Records: make([]*pb.AuditRecord, len(recs))}
		for i, r := range recs {
			b.Records[i] = &pb.AuditRecord{TimeUnixMs: r.Time.UnixMilli(), Result: pb.Result(r.Result), Size: r.Size,
				Crc64: r.CRC64, HasCrc: r.HasCRC, Key: []byte(r.Key), Detail: []byte(r.Detail)}
			if r.DestETag != "" {
				b.Records[i].DestEtag, b.Records[i].SourceMtimeUnixNs = []byte(r.DestETag), r.SourceMTime.UnixNano()
			}
		}
		req.Audits = append(req.Audits, b)
	}
	for _, p := range progress {
		req.Progress = append(req.Progress, &pb.TaskProgress{Lease: master.RefToPB(master.LeaseRef{Job: p.Job, TaskID: p.Task, LeaseID: p.Lease}),
			FilesDone: p.Files, BytesDone: p.Bytes})
	}
	r, err := g.t.Report(ctx, req)
	if err != nil {
		return nil, err
	}
	if r.Stop {
		return limitsFromPB(r.Limits), ErrStopping
	}
	return limitsFromPB(r.Limits), nil
}

func limitsFromPB(ls []*pb.JobLimit) map[string]master.Limits {
	out := make(map[string]master.Limits, len(ls))
	for _, l := range ls {
		out[l.Job] = master.Limits{BytesPerSec: l.BytesPerSec, RequestsPerSec: l.RequestsPerSec}
	}
	return out
}

func (g *GRPC) Leave(ctx context.Context, id string) error {
	_, err := g.m.Leave(ctx, &pb.LeaveRequest{WorkerId: id})
	return err
}

func (g *GRPC) SaveUpload(ctx context.Context, id string, ref master.LeaseRef, u master.UploadState) error {
	_, err := g.m.SaveUpload(ctx, &pb.SaveUploadRequest{WorkerId: id, Lease: master.RefToPB(ref),
		Upload: &pb.UploadState{Key: []byte(u.Key), State: u.State}})
	if status.Code(err) == codes.FailedPrecondition || status.Code(err) == codes.NotFound {
		return ErrStale
	}
	return err
}
