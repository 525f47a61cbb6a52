package rpc

import (
	pb "ferry/proto"
	"ferry/task"
)

// statsToPB and statsFromPB convert what a worker measured of itself
// (task.WorkerStats), sent with its reports.
func statsToPB(s task.WorkerStats) *pb.WorkerStats {
	out := &pb.WorkerStats{Retries: s.Retries, StoreOps: make([]*pb.StoreOps, len(s.StoreOps))}
	for i, o := range s.StoreOps {
		out.StoreOps[i] = &pb.StoreOps{Store: o.Store, Op: o.Op, Class: o.Class, Count: o.Count, Seconds: o.Seconds, Buckets: o.Buckets}
	}
	return out
}

func statsFromPB(s *pb.WorkerStats) task.WorkerStats {
	out := task.WorkerStats{Retries: s.GetRetries(), StoreOps: make([]task.StoreOps, len(s.GetStoreOps()))}
	for i, o := range s.GetStoreOps() {
		out.StoreOps[i] = task.StoreOps{Store: o.Store, Op: o.Op, Class: o.Class, Count: o.Count, Seconds: o.Seconds, Buckets: o.Buckets}
	}
	return out
}
