package rpc

import (
	"time"

	"ferry/master"
	pb "ferry/proto"
	"ferry/state"
	"ferry/store"
	"ferry/task"
	"ferry/tracker"
)

// Conversions between task's plain types and the wire types. Nothing past
// this package sees protobuf.

// SpecToPB converts a job spec for the wire, secrets included: it is for
// submissions and leases, which travel over TLS.
func SpecToPB(s task.Spec) *pb.JobSpec {
	f := s.Filter
	out := &pb.JobSpec{Name: s.Name, JobType: string(s.Type), ConfigFile: []byte(s.ConfigFile),
		Src: endpointToPB(s.Src), Dest: endpointToPB(s.Dest), FollowSymlinks: s.FollowSymlinks,
		CountLimit: int32(s.CountLimit), SizeLimit: s.SizeLimit, ScanThreads: int32(s.ScanThreads), ScanDepth: int32(s.ScanDepth),
		Multipart: &pb.Multipart{Threshold: s.Multipart.Threshold, PartSize: s.Multipart.PartSize, Threads: int32(s.Multipart.Threads)},
		HttpList: &pb.HTTPList{File: []byte(s.HTTPList.File), PrefixColumn: int32(s.HTTPList.PrefixColumn),
			RelativePathColumn: int32(s.HTTPList.RelativePathColumn), FollowRedirects: s.HTTPList.FollowRedirects},
		SrcListFile: []byte(s.SrcList), SplitThreshold: s.SplitThreshold,
		AuditAfterImport: s.AuditAfterImport, AuditMode: string(s.AuditMode),
		Incremental: s.Incremental, IncrementalIntervalSeconds: int64(s.IncrementalInterval / time.Second),
		ImportSinceUnix: unixOrZero(s.ImportSince), SkipExist: s.SkipExist, UpdateMode: string(s.Update),
		Filter: &pb.Filter{Include: bytesOf(f.Include), Exclude: bytesOf(f.Exclude), MinSize: f.MinSize, MaxSize: f.MaxSize,
			ModifiedAfterUnixNs: unixNanoOrZero(f.ModifiedAfter), ModifiedBeforeUnixNs: unixNanoOrZero(f.ModifiedBefore)},
		Mirror: s.Mirror, MaxDelete: s.MaxDelete, PreserveMetadata: s.PreserveMetadata,
		Schedule:             &pb.Schedule{DefaultBytesPerSec: s.Schedule.Default},
		MaxRequestsPerSecond: int32(s.MaxRequestsPerSecond)}
	for _, w := range s.Schedule.Windows {
		out.Schedule.Windows = append(out.Schedule.Windows, &pb.Window{Start: int32(w.Start), End: int32(w.End), BytesPerSec: w.Rate})
	}
	if st := s.Stream; st != nil {
		out.Stream = &pb.StreamSpec{Topics: st.Topics, Groups: st.Groups, Continuous: st.Continuous,
			SrcSasl: st.SrcSASL, DestSasl: st.DestSASL, SrcTls: st.SrcTLS, DestTls: st.DestTLS, SrcCa: st.SrcCA, DestCa: st.DestCA}
	}
	if t := s.Table; t != nil {
		out.Table = &pb.TableSpec{Tables: t.Tables, ChunkRows: int32(t.ChunkRows), UpdatedColumn: t.UpdatedColumn,
			MaxRowsPerSecond: int32(t.MaxRowsPerSecond), UpdatedMarginMs: t.UpdatedMargin.Milliseconds()}
	}
	return out
}

// SpecFromPB converts a wire job spec.
func SpecFromPB(p *pb.JobSpec) task.Spec {
	if p == nil {
		return task.Spec{}
	}
	s := task.Spec{Name: p.Name, Type: task.JobType(p.JobType), ConfigFile: string(p.ConfigFile),
		Src: endpointFromPB(p.Src), Dest: endpointFromPB(p.Dest), FollowSymlinks: p.FollowSymlinks,
		CountLimit: int(p.CountLimit), SizeLimit: p.SizeLimit, ScanThreads: int(p.ScanThreads), ScanDepth: int(p.ScanDepth),
		AuditAfterImport: p.AuditAfterImport, AuditMode: task.AuditMode(p.AuditMode),
		Incremental: p.Incremental, IncrementalInterval: time.Duration(p.IncrementalIntervalSeconds) * time.Second,
		SkipExist: p.SkipExist, Update: task.UpdateMode(p.UpdateMode),
		Mirror: p.Mirror, MaxDelete: p.MaxDelete, PreserveMetadata: p.PreserveMetadata,
		MaxRequestsPerSecond: int(p.MaxRequestsPerSecond), SrcList: string(p.SrcListFile),
		SplitThreshold: p.SplitThreshold}
	if p.ImportSinceUnix != 0 {
		s.ImportSince = time.Unix(p.ImportSinceUnix, 0)
	}
	if m := p.Multipart; m != nil {
		s.Multipart = task.Multipart{Threshold: m.Threshold, PartSize: m.PartSize, Threads: int(m.Threads)}
	}
	if h := p.HttpList; h != nil {
		s.HTTPList = task.HTTPList{File: string(h.File), PrefixColumn: int(h.PrefixColumn), RelativePathColumn: int(h.RelativePathColumn),
			FollowRedirects: h.FollowRedirects}
	}
	if f := p.Filter; f != nil {
		s.Filter = task.Filter{Include: stringsOf(f.Include), Exclude: stringsOf(f.Exclude), MinSize: f.MinSize, MaxSize: f.MaxSize}
		if f.ModifiedAfterUnixNs != 0 {
			s.Filter.ModifiedAfter = time.Unix(0, f.ModifiedAfterUnixNs)
		}
		if f.ModifiedBeforeUnixNs != 0 {
			s.Filter.ModifiedBefore = time.Unix(0, f.ModifiedBeforeUnixNs)
		}
	}
	if sc := p.Schedule; sc != nil {
		s.Schedule.Default = sc.DefaultBytesPerSec
		for _, w := range sc.Windows {
			s.Schedule.Windows = append(s.Schedule.Windows, task.Window{Start: int(w.Start), End: int(w.End), Rate: w.BytesPerSec})
		}
	}
	if st := p.Stream; st != nil {
		s.Stream = &task.Stream{Topics: st.Topics, Groups: st.Groups, Continuous: st.Continuous,
			SrcSASL: st.SrcSasl, DestSASL: st.DestSasl, SrcTLS: st.SrcTls, DestTLS: st.DestTls, SrcCA: st.SrcCa, DestCA: st.DestCa}
	}
	if t := p.Table; t != nil {
		s.Table = &task.Table{Tables: t.Tables, ChunkRows: int(t.ChunkRows), UpdatedColumn: t.UpdatedColumn,
			MaxRowsPerSecond: int(t.MaxRowsPerSecond), UpdatedMargin: time.Duration(t.UpdatedMarginMs) * time.Millisecond}
	}
	return s
}

func endpointToPB(e task.Endpoint) *pb.Endpoint {
	return &pb.Endpoint{Type: e.Type, Prefix: []byte(e.Prefix), Domain: e.Domain, Bucket: e.Bucket,
		AccessKey: e.AccessKey, SecretKey: e.SecretKey.Reveal(), Region: e.Region, PathStyle: e.PathStyle}
}

func endpointFromPB(p *pb.Endpoint) task.Endpoint {
	if p == nil {
		return task.Endpoint{}
	}
	return task.Endpoint{Type: p.Type, Prefix: string(p.Prefix), Domain: p.Domain, Bucket: p.Bucket,
		AccessKey: p.AccessKey, SecretKey: task.Secret(p.SecretKey), Region: p.Region, PathStyle: p.PathStyle}
}

func bytesOf(ss []string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

func stringsOf(bs [][]byte) []string {
	var out []string
	for _, b := range bs {
		out = append(out, string(b))
	}
	return out
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func unixNanoOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// EntryToPB converts a manifest entry for the wire.
func EntryToPB(e store.Entry) *pb.ManifestEntry {
	return &pb.ManifestEntry{Key: []byte(e.Key), Size: e.Size, MtimeNs: unixNanoOrZero(e.MTime), Etag: e.ETag,
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
func LeaseToPB(l task.Lease) *pb.TaskLease {
	out := &pb.TaskLease{Job: l.Job, TaskId: l.TaskID, LeaseId: l.LeaseID, Attempt: int32(l.Attempt),
		DeadlineUnixMs: l.Deadline.UnixMilli(), Spec: SpecToPB(l.Spec),
		Entries: make([]*pb.ManifestEntry, len(l.Entries))}
	for i, e := range l.Entries {
		out.Entries[i] = EntryToPB(e)
	}
	for _, u := range l.Uploads {
		out.Uploads = append(out.Uploads, &pb.UploadState{Key: []byte(u.Key), State: u.State, TaskId: u.Task})
	}
	if pt := l.Part; pt != nil {
		out.Part = &pb.PartTask{Group: pt.Group, Index: int32(pt.Index), Count: int32(pt.Count), Off: pt.Off, Len: pt.Len, Unit: pt.Unit}
	}
	return out
}

// LeaseFromPB converts a wire lease.
func LeaseFromPB(p *pb.TaskLease) task.Lease {
	l := task.Lease{Job: p.Job, TaskID: p.TaskId, LeaseID: p.LeaseId, Attempt: int(p.Attempt),
		Deadline: time.UnixMilli(p.DeadlineUnixMs), Spec: SpecFromPB(p.Spec),
		Entries: make([]store.Entry, len(p.Entries))}
	for i, e := range p.Entries {
		l.Entries[i] = EntryFromPB(e)
	}
	for _, u := range p.Uploads {
		l.Uploads = append(l.Uploads, task.UploadState{Key: string(u.Key), State: u.State, Task: u.TaskId})
	}
	if pt := p.Part; pt != nil {
		l.Part = &task.Part{Group: pt.Group, Index: int(pt.Index), Count: int(pt.Count), Off: pt.Off, Len: pt.Len, Unit: pt.Unit}
	}
	return l
}

// RefToPB converts a lease reference for the wire.
func RefToPB(r task.LeaseRef) *pb.LeaseRef {
	return &pb.LeaseRef{Job: r.Job, TaskId: r.TaskID, LeaseId: r.LeaseID}
}

// RefFromPB converts a wire lease reference.
func RefFromPB(p *pb.LeaseRef) task.LeaseRef {
	if p == nil {
		return task.LeaseRef{}
	}
	return task.LeaseRef{Job: p.Job, TaskID: p.TaskId, LeaseID: p.LeaseId}
}

// outcomeToPB converts an entry's outcome for the wire: its kind as its
// number, and the result the kind implies. Not its detail: the entry's
// audit record took that to the master, which reads only the index and
// kind here; without it a Complete of a million failures stays within
// completeCap, whatever the keys and errors.
func outcomeToPB(o task.Outcome) *pb.EntryResult {
	res := pb.Result_RESULT_FAIL
	if o.Skip() {
		res = pb.Result_RESULT_SKIP
	}
	return &pb.EntryResult{Index: o.Index, Result: res, Kind: uint32(o.Kind)}
}

// outcomeFromPB converts a wire entry result. A result without a kind
// (from a worker of an earlier version) is a skip or a READ_ERROR by its
// result, so that it is still counted on the right side.
func outcomeFromPB(p *pb.EntryResult) task.Outcome {
	k := task.Kind(p.Kind)
	if k == task.OK {
		k = task.ReadError
		if p.Result == pb.Result_RESULT_SKIP {
			k = task.Skipped
		}
	}
	return task.Outcome{Index: p.Index, Kind: k, Detail: string(p.Detail)}
}

// recordToPB converts an audit record for the wire.
func recordToPB(r tracker.Record) *pb.AuditRecord {
	out := &pb.AuditRecord{TimeUnixMs: r.Time.UnixMilli(), Result: pb.Result(r.Result), Size: r.Size,
		Crc64: r.CRC64, HasCrc: r.HasCRC, Key: []byte(r.Key), Detail: []byte(r.Detail), Kind: uint32(r.Kind),
		DestCrc64: r.DestCRC64, HasDestCrc: r.HasDestCRC}
	if r.DestETag != "" {
		out.DestEtag = []byte(r.DestETag)
	}
	if r.ETag != "" {
		out.Etag = []byte(r.ETag)
	}
	if !r.SourceMTime.IsZero() {
		out.SourceMtimeUnixNs = r.SourceMTime.UnixNano()
	}
	return out
}

// recordFromPB converts a wire audit record.
func recordFromPB(a *pb.AuditRecord) tracker.Record {
	rec := tracker.Record{Time: time.UnixMilli(a.TimeUnixMs), Result: tracker.Result(a.Result), Size: a.Size,
		CRC64: a.Crc64, HasCRC: a.HasCrc, Key: string(a.Key), Detail: string(a.Detail), Kind: task.Kind(a.Kind),
		DestCRC64: a.DestCrc64, HasDestCRC: a.HasDestCrc, ETag: string(a.Etag)}
	if len(a.DestEtag) > 0 || a.SourceMtimeUnixNs != 0 {
		rec.SourceMTime = time.Unix(0, a.SourceMtimeUnixNs)
	}
	rec.DestETag = string(a.DestEtag)
	return rec
}

func limitsToPB(ls map[string]task.Limits) []*pb.JobLimit {
	var out []*pb.JobLimit
	for job, l := range ls {
		out = append(out, &pb.JobLimit{Job: job, BytesPerSec: l.BytesPerSec, RequestsPerSec: l.RequestsPerSec})
	}
	return out
}

func limitsFromPB(ls []*pb.JobLimit) map[string]task.Limits {
	out := make(map[string]task.Limits, len(ls))
	for _, l := range ls {
		out[l.Job] = task.Limits{BytesPerSec: l.BytesPerSec, RequestsPerSec: l.RequestsPerSec}
	}
	return out
}

// StatToPB converts a job's stat for the wire; its spec keeps the stores'
// secret keys only with credentials.
func StatToPB(s master.JobStat, credentials bool) *pb.JobStat {
	spec := s.Spec
	if !credentials {
		spec = spec.Redacted()
	}
	c := s.Counters
	eta := int64(-1)
	if s.HasETA {
		eta = int64(s.ETA / time.Second)
	}
	out := &pb.JobStat{Name: s.Spec.Name, State: s.State,
		PendingTasks: c.Tasks[state.Pending], DispatchedTasks: c.Tasks[state.Dispatched], RunningTasks: int64(s.Running),
		SucceedTasks: c.Tasks[state.Succeeded], FailedTasks: c.Tasks[state.Failed], ScanFinished: s.ScanFinished,
		FilesDone: c.FilesDone, FilesTotal: c.FilesTotal, BytesDone: c.BytesDone, BytesTotal: c.BytesTotal,
		FilesFailed: c.FilesFailed, FilesSkipped: c.FilesSkipped, ThroughputBps: s.Throughput, EtaSeconds: eta,
		Src: []byte(s.Spec.Src.Type + ":" + s.Spec.Src.Prefix), Dest: []byte(s.Spec.Dest.Type + ":" + s.Spec.Dest.Prefix),
		SubmittedUnixMs: s.Submitted.UnixMilli(), Error: []byte(s.Error), Spec: SpecToPB(spec)}
	if !s.Finished.IsZero() {
		out.FinishedUnixMs = s.Finished.UnixMilli()
	}
	out.FilesExcluded, out.FilesUnchanged, out.FilesDeleted = c.FilesExcluded, c.FilesUnchanged, c.FilesDeleted
	out.Round = int32(s.Round)
	if !s.NextRound.IsZero() {
		out.NextRoundUnixMs = s.NextRound.UnixMilli()
	}
	out.LimitBytesPerSec = s.JobLimits(time.Now()).BytesPerSec
	if p := s.MasterError; p.Message != "" {
		out.MasterError, out.MasterErrorSinceUnixMs = []byte(p.Message), p.Since.UnixMilli()
	}
	for _, l := range s.Lag {
		out.Lag = append(out.Lag, &pb.TopicLag{Topic: l.Topic, Partitions: int32(l.Partitions), Unreported: int32(l.Unreported),
			Records: l.Records, Seconds: l.Seconds})
	}
	return out
}
