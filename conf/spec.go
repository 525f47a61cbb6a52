package conf

import (
	"time"

	"ferry/filter"
	"ferry/task"
)

// Spec returns the job as the master and its workers use it: the typed
// task.Spec, every default already applied by newJob and the checks
// already made, so that nothing downstream parses a setting again. Call it
// after Resolve, so that local paths are absolute.
func (j *Job) Spec() task.Spec {
	skipSame, mode := j.UpdateRule()
	s := task.Spec{
		Name:       j.Name,
		Type:       task.JobType(j.Type),
		ConfigFile: j.File,
		Src: task.Endpoint{Type: j.SrcType, Prefix: j.SrcPrefix, Domain: j.SrcDomain, Bucket: j.SrcBucket,
			AccessKey: j.SrcAccessKey, SecretKey: task.Secret(j.SrcSecretKey.Reveal()), Region: j.SrcRegion,
			PathStyle: j.SrcPathStyle},
		Dest: task.Endpoint{Type: j.DestType, Prefix: j.DestPrefix, Domain: j.DestDomain, Bucket: j.DestBucket,
			AccessKey: j.DestAccessKey, SecretKey: task.Secret(j.DestSecretKey.Reveal()), Region: j.DestRegion,
			PathStyle: j.DestPathStyle},
		FollowSymlinks: j.IsAllowSymbolicLink,
		CountLimit:     j.TaskObjectCountLimit,
		SizeLimit:      j.TaskObjectSizeLimit,
		ScanThreads:    j.ScanThreadCount,
		ScanDepth:      j.MaxMultiThreadScanDepth,
		Multipart: task.Multipart{Threshold: j.MultipartUploadThreshold, PartSize: j.MultipartUploadPartSize,
			Threads: j.UploadThreadNumPerLargeFile},
		HTTPList: task.HTTPList{File: j.HTTPListFilePath, PrefixColumn: j.HTTPPrefixColumn,
			RelativePathColumn: j.RelativePathColumn, FollowRedirects: j.HTTPFollowRedirects},
		SrcList:             j.SrcListFile,
		SplitThreshold:      j.SplitFileThreshold,
		AuditAfterImport:    j.IsAuditAfterImport,
		AuditMode:           task.AuditMode(j.AuditMode),
		Incremental:         j.IsIncremental,
		IncrementalInterval: j.IncrementalModeInterval,
		SkipExist:           skipSame,
		Update:              mode,
		Filter: task.Filter{Include: patterns(j.Filter.Include), Exclude: patterns(j.Filter.Exclude),
			MinSize: j.Filter.MinSize, MaxSize: j.Filter.MaxSize,
			ModifiedAfter: j.Filter.ModifiedAfter, ModifiedBefore: j.Filter.ModifiedBefore},
		Mirror:               j.Mirror,
		MaxDelete:            j.MaxDelete,
		PreserveMetadata:     j.PreserveMetadata,
		Schedule:             j.ThroughputSchedule,
		MaxRequestsPerSecond: j.MaxRequestsPerSecond,
	}
	if j.ImportSince > 0 {
		s.ImportSince = time.Unix(j.ImportSince, 0)
	}
	if j.SrcType == "kafka" {
		s.Stream = j.Stream.spec()
	}
	if !splitsInto(j.DestType) {
		s.SplitThreshold = 0
	}
	if IsTableType(j.SrcType) {
		s.Table = j.Table.spec()
		// A table job makes no store request: its request limit counts
		// rows (the worker waits for each batch's rows).
		s.MaxRequestsPerSecond = j.Table.MaxRowsPerSecond
	}
	return s
}

// patterns returns the source text of each pattern, as filter.Compile
// takes it back.
func patterns(ps []*filter.Pattern) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// DefaultSpec returns the spec of a job.cfg that sets only jobName=name:
// every default from the one table (newJob), for code that makes specs
// without a file (tests, benchmarks). Set the source and destination.
func DefaultSpec(name string) task.Spec {
	j := newJob("")
	j.Name = name
	j.ThroughputSchedule.Default = j.MaxThroughput
	return j.Spec()
}
