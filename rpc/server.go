package rpc

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"ferry/master"
	pb "ferry/proto"
	"ferry/task"
	"ferry/tracker"
)

// The gRPC adapters: they convert wire types to plain ones and errors to
// status codes, and nothing else; guard.go checks the caller first.

// MaxMsgSize bounds one reply, and so one message a client takes: a lease
// carries its task's manifest. Requests are capped far lower (guard.go).
const MaxMsgSize = 256 << 20

// TokenHeader is the metadata key that carries the master's token.
const TokenHeader = "authorization"

// Serve answers the Master, Tracker and Control services of m on lis until
// ctx is done, then stops gracefully. stop is what Control.Stop calls.
// token (the master's) authorises every call; a worker host's credential
// (m.IssueCredential) only that worker's calls (guard.go). Calls without
// either, or larger than their method takes, are refused and logged to
// log (nil: not logged).
func Serve(ctx context.Context, m *master.Master, lis net.Listener, token string, stop func(), log *slog.Logger, opts ...grpc.ServerOption) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &guard{token: token, workerOf: m.CredentialOf, log: log, window: refusalWindow, peers: make(map[string]*refusals)}
	opts = append(opts, g.serverOptions()...)
	s := grpc.NewServer(opts...)
	pb.RegisterMasterServer(s, &masterServer{m: m})
	pb.RegisterTrackerServer(s, &trackerServer{m: m})
	pb.RegisterControlServer(s, &controlServer{m: m, stop: stop})
	done := make(chan error, 1)
	go func() { done <- s.Serve(lis) }()
	select {
	case <-ctx.Done():
		stopped := make(chan struct{})
		go func() { s.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			s.Stop()
		}
		return nil
	case err := <-done:
		return err
	}
}

// toStatus maps the master's errors to gRPC codes; Client maps them back.
func toStatus(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, task.ErrNoJob):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, task.ErrJobExists):
		return status.Error(codes.AlreadyExists, err.Error())
	case errors.Is(err, task.ErrStaleLease), errors.Is(err, task.ErrJobActive):
		return status.Error(codes.FailedPrecondition, err.Error())
	case errors.Is(err, master.ErrOwnDir):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, master.ErrBusy):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

type masterServer struct {
	pb.UnimplementedMasterServer
	m *master.Master
}

func (s *masterServer) Register(ctx context.Context, r *pb.RegisterRequest) (*pb.RegisterReply, error) {
	if r.WorkerId == "" {
		return nil, status.Error(codes.InvalidArgument, "register: worker_id is empty")
	}
	if err := s.m.Register(ctx, r.WorkerId, r.Host, int(r.Threads)); err != nil {
		return nil, toStatus(err)
	}
	return &pb.RegisterReply{WorkerId: r.WorkerId, LeaseSeconds: int32(s.m.LeaseDuration() / time.Second)}, nil
}

func (s *masterServer) Lease(ctx context.Context, r *pb.LeaseRequest) (*pb.LeaseReply, error) {
	rep, err := s.m.Grant(ctx, r.WorkerId, int(r.MaxTasks))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.LeaseReply{Stop: rep.Stop, RetryAfterMs: int32(rep.RetryAfter.Milliseconds())}
	for _, l := range rep.Leases {
		out.Tasks = append(out.Tasks, LeaseToPB(l))
	}
	if len(rep.Leases) > 0 {
		out.Limits = limitsToPB(rep.Limits)
	}
	return out, nil
}

func (s *masterServer) Renew(ctx context.Context, r *pb.RenewRequest) (*pb.RenewReply, error) {
	refs := make([]task.LeaseRef, len(r.Leases))
	for i, l := range r.Leases {
		refs[i] = RefFromPB(l)
	}
	lost, deadline, err := s.m.Renew(ctx, r.WorkerId, refs)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.RenewReply{DeadlineUnixMs: deadline.UnixMilli(), Stop: s.m.Stopping()}
	for _, l := range lost {
		out.Lost = append(out.Lost, RefToPB(l))
	}
	return out, nil
}

func (s *masterServer) Complete(ctx context.Context, r *pb.CompleteRequest) (*pb.CompleteReply, error) {
	results := make([]task.Outcome, len(r.Results))
	for i, e := range r.Results {
		results[i] = outcomeFromPB(e)
	}
	dir, err := s.m.Complete(ctx, r.WorkerId, RefFromPB(r.Lease), results, time.UnixMilli(r.StartedUnixMs))
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.CompleteReply{AttemptDir: dir}, nil
}

func (s *masterServer) Leave(ctx context.Context, r *pb.LeaveRequest) (*pb.LeaveReply, error) {
	if err := s.m.Leave(ctx, r.WorkerId); err != nil {
		return nil, toStatus(err)
	}
	return &pb.LeaveReply{}, nil
}

func (s *masterServer) SaveUpload(ctx context.Context, r *pb.SaveUploadRequest) (*pb.SaveUploadReply, error) {
	if r.Upload == nil {
		return nil, status.Error(codes.InvalidArgument, "save upload: no upload")
	}
	err := s.m.SaveUpload(r.WorkerId, RefFromPB(r.Lease), task.UploadState{Key: string(r.Upload.Key), State: r.Upload.State})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.SaveUploadReply{}, nil
}

type trackerServer struct {
	pb.UnimplementedTrackerServer
	m *master.Master
}

func (s *trackerServer) Report(ctx context.Context, r *pb.ReportRequest) (*pb.ReportReply, error) {
	audits := make(map[task.LeaseRef][]tracker.Record, len(r.Audits))
	for _, b := range r.Audits {
		ref := RefFromPB(b.Lease)
		for _, a := range b.Records {
			audits[ref] = append(audits[ref], recordFromPB(a))
		}
	}
	progress := make([]tracker.TaskProgress, len(r.Progress))
	for i, p := range r.Progress {
		ref := RefFromPB(p.Lease)
		progress[i] = tracker.TaskProgress{Job: ref.Job, Task: ref.TaskID, Lease: ref.LeaseID, Files: p.FilesDone, Bytes: p.BytesDone}
	}
	limits, stop, err := s.m.ReportFor(ctx, r.WorkerId, r.BytesCopied, audits, progress)
	if err != nil {
		return nil, toStatus(err)
	}
	if r.Stats != nil {
		s.m.NoteStats(r.WorkerId, statsFromPB(r.Stats))
	}
	return &pb.ReportReply{Stop: stop, Limits: limitsToPB(limits)}, nil
}

type controlServer struct {
	pb.UnimplementedControlServer
	m    *master.Master
	stop func()
}

func (s *controlServer) Submit(ctx context.Context, r *pb.SubmitRequest) (*pb.SubmitReply, error) {
	spec := SpecFromPB(r.Spec)
	if err := s.m.Submit(ctx, spec); err != nil {
		return nil, toStatus(err)
	}
	return &pb.SubmitReply{Job: spec.Name}, nil
}

func (s *controlServer) Stat(ctx context.Context, r *pb.StatRequest) (*pb.StatReply, error) {
	stats, err := s.m.Stat(ctx, r.Job)
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.StatReply{}
	for _, st := range stats {
		out.Jobs = append(out.Jobs, StatToPB(st, r.Credentials))
	}
	if r.Workers {
		for _, w := range s.m.Workers() {
			state := "lost"
			switch {
			case w.Alive:
				state = "alive"
			case w.Revoked:
				state = "revoked"
			}
			out.Workers = append(out.Workers, &pb.WorkerStat{WorkerId: w.ID, Host: w.Host, State: state,
				TasksRunning: int32(w.Running), ThroughputBps: w.Throughput, LastSeenUnixMs: w.LastSeen.UnixMilli(),
				RegisteredUnixMs: w.Registered.UnixMilli()})
		}
		for _, c := range s.m.Credentials() {
			out.Credentials = append(out.Credentials, &pb.CredentialStat{WorkerId: c.Worker, IssuedUnixMs: c.Issued.UnixMilli()})
		}
	}
	return out, nil
}

func (s *controlServer) IssueCredential(ctx context.Context, r *pb.IssueCredentialRequest) (*pb.IssueCredentialReply, error) {
	if err := master.CheckWorkerID(r.WorkerId); err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	secret, err := s.m.IssueCredential(r.WorkerId)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.IssueCredentialReply{Secret: secret}, nil
}

func (s *controlServer) RevokeCredential(ctx context.Context, r *pb.RevokeCredentialRequest) (*pb.RevokeCredentialReply, error) {
	found, err := s.m.RevokeCredential(ctx, r.WorkerId)
	if err != nil {
		return nil, toStatus(err)
	}
	if !found {
		return nil, status.Errorf(codes.NotFound, "worker %s holds no credential", r.WorkerId)
	}
	return &pb.RevokeCredentialReply{}, nil
}

func (s *controlServer) Retry(ctx context.Context, r *pb.RetryRequest) (*pb.RetryReply, error) {
	tasks, entries, err := s.m.Retry(ctx, r.Job)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.RetryReply{Tasks: tasks, Entries: entries}, nil
}

func (s *controlServer) Clean(ctx context.Context, r *pb.CleanRequest) (*pb.CleanReply, error) {
	if err := s.m.Clean(ctx, r.Job, r.Force); err != nil {
		return nil, toStatus(err)
	}
	return &pb.CleanReply{}, nil
}

func (s *controlServer) Throttle(ctx context.Context, r *pb.ThrottleRequest) (*pb.ThrottleReply, error) {
	n, err := s.m.Throttle(ctx, r.Job, r.BytesPerSec, r.Reset_)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ThrottleReply{BytesPerSec: n}, nil
}

func (s *controlServer) Stop(ctx context.Context, r *pb.StopRequest) (*pb.StopReply, error) {
	if s.stop == nil {
		return nil, status.Error(codes.Unimplemented, "this master cannot be stopped remotely")
	}
	dctx, cancel := context.WithTimeout(ctx, 2*s.m.LeaseDuration()/3+2*time.Second)
	remaining := s.m.Drain(dctx)
	cancel()
	go s.stop()
	return &pb.StopReply{Remaining: remaining}, nil
}
