package master

import (
	"time"

	pb "ferry/proto"
	"ferry/store"
)

// Conversions between the master's plain types and the wire types. They
// are exported for the gRPC clients in worker/ and console/; nothing past
// the adapters sees protobuf.

// SpecToPB converts a job spec for the wire.
func SpecToPB(s Spec) *pb.JobSpec {
	return &pb.JobSpec{Name: s.Name, SrcType: s.SrcType, SrcPrefix: []byte(s.SrcPrefix), DestType: s.DestType,
		DestPrefix: []byte(s.DestPrefix), FollowSymlinks: s.FollowSymlinks, SkipExist: s.SkipExist,
		RecordMd5: s.RecordMD5, Extra: s.Extra}
}

// SpecFromPB converts a wire job spec.
func SpecFromPB(p *pb.JobSpec) Spec {
	if p == nil {
		return Spec{}
	}
	return Spec{Name: p.Name, SrcType: p.SrcType, SrcPrefix: string(p.SrcPrefix), DestType: p.DestType,
		DestPrefix: string(p.DestPrefix), FollowSymlinks: p.FollowSymlinks, SkipExist: p.SkipExist,
		RecordMD5: p.RecordMd5, Extra: p.Extra}
}

// EntryToPB converts a manifest entry for the wire.
func EntryToPB(e store.Entry) *pb.ManifestEntry {
	var mt int64
	if !e.MTime.IsZero() {
		mt = e.MTime.UnixNano()
	}
	return &pb.ManifestEntry{Key: []byte(e.Key), Size: e.Size, MtimeNs: mt, Etag: e.ETag,
		Kind: pb.Kind(e.Kind), Detail: []byte(e.Detail)}
}

// EntryFromPB converts a wire manifest entry.
func EntryFromPB(p *pb.ManifestEntry) store.Entry {
	e := store.Entry{Key: string(p.Key), Size: p.Size, ETag: p.Etag, Kind: store.Kind(p.Kind), Detail: string(p.Detail)}
	if p.MtimeNs != 0 {
		e.MTime = time.Unix(0, p.MtimeNs)
	}
	return e
}

// LeaseToPB converts a lease for the wire.
func LeaseToPB(l Lease) *pb.TaskLease {
	out := &pb.TaskLease{Job: l.Job, TaskId: l.TaskID, LeaseId: l.LeaseID, Attempt: int32(l.Attempt),
		DeadlineUnixMs: l.Deadline.UnixMilli(), Spec: SpecToPB(l.Spec),
		Entries: make([]*pb.ManifestEntry, len(l.Entries))}
	for i, e := range l.Entries {
		out.Entries[i] = EntryToPB(e)
	}
	for _, u := range l.Uploads {
		out.Uploads = append(out.Uploads, &pb.UploadState{Key: []byte(u.Key), State: u.State})
	}
	return out
}

// LeaseFromPB converts a wire lease.
func LeaseFromPB(p *pb.TaskLease) Lease {
	l := Lease{Job: p.Job, TaskID: p.TaskId, LeaseID: p.LeaseId, Attempt: int(p.Attempt),
		Deadline: time.UnixMilli(p.DeadlineUnixMs), Spec: SpecFromPB(p.Spec),
		Entries: make([]store.Entry, len(p.Entries))}
	for i, e := range p.Entries {
		l.Entries[i] = EntryFromPB(e)
	}
	for _, u := range p.Uploads {
		l.Uploads = append(l.Uploads, UploadState{Key: string(u.Key), State: u.State})
	}
	return l
}

// RefToPB converts a lease reference for the wire.
func RefToPB(r LeaseRef) *pb.LeaseRef {
	return &pb.LeaseRef{Job: r.Job, TaskId: r.TaskID, LeaseId: r.LeaseID}
}

// RefFromPB converts a wire lease reference.
func RefFromPB(p *pb.LeaseRef) LeaseRef {
	if p == nil {
		return LeaseRef{}
	}
	return LeaseRef{Job: p.Job, TaskID: p.TaskId, LeaseID: p.LeaseId}
}

// StatToPB converts a job's stat for the wire.
func StatToPB(s JobStat) *pb.JobStat {
	c := s.Counters
	eta := int64(-1)
	if s.HasETA {
		eta = int64(s.ETA / time.Second)
	}
	out := &pb.JobStat{Name: s.Spec.Name, State: s.State,
		PendingTasks: c.Tasks[Pending], DispatchedTasks: c.Tasks[Dispatched], RunningTasks: int64(s.Running),
		SucceedTasks: c.Tasks[Succeeded], FailedTasks: c.Tasks[Failed], ScanFinished: s.ScanFinished,
		FilesDone: c.FilesDone, FilesTotal: c.FilesTotal, BytesDone: c.BytesDone, BytesTotal: c.BytesTotal,
		FilesFailed: c.FilesFailed, FilesSkipped: c.FilesSkipped, ThroughputBps: s.Throughput, EtaSeconds: eta,
		Src: []byte(s.Spec.SrcType + ":" + s.Spec.SrcPrefix), Dest: []byte(s.Spec.DestType + ":" + s.Spec.DestPrefix),
		SubmittedUnixMs: s.Submitted.UnixMilli(), Error: []byte(s.Error), Spec: SpecToPB(s.Spec)}
	if !s.Finished.IsZero() {
		out.FinishedUnixMs = s.Finished.UnixMilli()
	}
	out.FilesExcluded, out.FilesUnchanged, out.FilesDeleted = c.FilesExcluded, c.FilesUnchanged, c.FilesDeleted
	out.Round = int32(s.Round)
	if !s.NextRound.IsZero() {
		out.NextRoundUnixMs = s.NextRound.UnixMilli()
	}
	out.LimitBytesPerSec = s.JobLimits(time.Now()).BytesPerSec
	return out
}
