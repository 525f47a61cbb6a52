package state

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"ferry/conf"
	"ferry/filter"
	"ferry/task"
)

// Records of earlier versions. Until the typed spec, a job's settings
// were job.cfg names and strings in Spec.Extra (legacySpec); until the
// state record, the whole job was one JSON record (storedJob). A database
// from then still opens: openJob reads such a record with decodeJobJSON,
// and the job's next save writes it as jobrecord.go says.

type legacySpec struct {
	Name, SrcType, SrcPrefix, DestType, DestPrefix string
	FollowSymlinks, SkipExist                      bool
	CountLimit                                     int
	SizeLimit                                      int64
	ConfigFile                                     string
	Extra                                          map[string]string
}

// legacyJob returns the spec of a record in the old form, or false when
// raw holds the typed spec.
func legacyJob(raw []byte) (task.Spec, bool, error) {
	var rec struct {
		Spec legacySpec
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return task.Spec{}, false, err
	}
	if rec.Spec.SrcType == "" && rec.Spec.Extra == nil {
		return task.Spec{}, false, nil
	}
	s, err := rec.Spec.convert()
	return s, true, err
}

func (l legacySpec) convert() (task.Spec, error) {
	x := l.Extra
	s := conf.DefaultSpec(l.Name)
	s.ConfigFile, s.FollowSymlinks, s.SkipExist = l.ConfigFile, l.FollowSymlinks, l.SkipExist
	s.CountLimit, s.SizeLimit = l.CountLimit, l.SizeLimit
	var bad error
	num := func(key string, dst *int64) {
		if v, ok := x[key]; ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil && bad == nil {
				bad = fmt.Errorf("%s: %w", key, err)
			}
			*dst = n
		}
	}
	small := func(key string, dst *int) {
		n := int64(*dst)
		num(key, &n)
		*dst = int(n)
	}
	flag := func(key string, dst *bool) {
		if v, ok := x[key]; ok {
			*dst = v == "true"
		}
	}
	unix := func(key string, dst *time.Time) {
		var n int64
		if num(key, &n); n > 0 {
			*dst = time.Unix(n, 0)
		}
	}
	for _, side := range []struct {
		name string
		typ  string
		pfx  string
		e    *task.Endpoint
	}{{"src", l.SrcType, l.SrcPrefix, &s.Src}, {"dest", l.DestType, l.DestPrefix, &s.Dest}} {
		n := side.name
		*side.e = task.Endpoint{Type: side.typ, Prefix: side.pfx, Domain: x[n+"Domain"], Bucket: x[n+"Bucket"],
			AccessKey: x[n+"AccessKey"], SecretKey: task.Secret(x[n+"SecretKey"]), Region: x[n+"Region"]}
		flag(n+"PathStyle", &side.e.PathStyle)
	}
	if v := x["jobType"]; v != "" {
		s.Type = task.JobType(v)
	}
	num("multipartUploadThreshold", &s.Multipart.Threshold)
	num("multipartUploadPartSize", &s.Multipart.PartSize)
	small("uploadThreadNumPerLargeFile", &s.Multipart.Threads)
	s.HTTPList.File = x["httpListFilePath"]
	small("httpPrefixColumn", &s.HTTPList.PrefixColumn)
	small("relativePathColumn", &s.HTTPList.RelativePathColumn)
	flag("isAuditAfterImport", &s.AuditAfterImport)
	if v := x["auditMode"]; v != "" {
		s.AuditMode = task.AuditMode(v)
	}
	flag("isIncremental", &s.Incremental)
	secs := int64(s.IncrementalInterval / time.Second)
	num("incrementalModeInterval", &secs)
	s.IncrementalInterval = time.Duration(secs) * time.Second
	unix("importSince", &s.ImportSince)
	if v := x["updateMode"]; v != "" {
		s.Update = task.UpdateMode(v)
	}
	num("minSize", &s.Filter.MinSize)
	num("maxSize", &s.Filter.MaxSize)
	unix("modifiedAfter", &s.Filter.ModifiedAfter)
	unix("modifiedBefore", &s.Filter.ModifiedBefore)
	var err error
	if s.Filter.Include, err = filter.SplitList(x["include"]); err != nil && bad == nil {
		bad = fmt.Errorf("include: %w", err)
	}
	if s.Filter.Exclude, err = filter.SplitList(x["exclude"]); err != nil && bad == nil {
		bad = fmt.Errorf("exclude: %w", err)
	}
	flag("mirror", &s.Mirror)
	num("maxDelete", &s.MaxDelete)
	flag("preserveMetadata", &s.PreserveMetadata)
	if s.Schedule, err = conf.ParseSchedule(x["throughputSchedule"]); err != nil && bad == nil {
		bad = fmt.Errorf("throughputSchedule: %w", err)
	}
	num("maxThroughput", &s.Schedule.Default)
	small("maxRequestsPerSecond", &s.MaxRequestsPerSecond)
	small("scanThreadCount", &s.ScanThreads)
	small("maxMultiThreadScanDepth", &s.ScanDepth)
	if bad != nil {
		return s, fmt.Errorf("job %s stored by an earlier ferry: %w", l.Name, bad)
	}
	return s, nil
}

// storedJob is a job as earlier versions stored it, in JSON. JSON would replace the
// bytes of a string that is not UTF-8 with U+FFFD: a scan resumed after such
// a checkpoint would list entries twice or skip some, and a non-UTF-8
// source or destination path would silently name another directory. The
// Raw fields keep those strings' bytes exactly.
type storedJob struct {
	*Job
	ScanAfterRaw  []byte `json:",omitempty"`
	SrcPrefixRaw  []byte `json:",omitempty"`
	DestPrefixRaw []byte `json:",omitempty"`
	ErrorRaw      []byte `json:",omitempty"`
	// The stores' secret keys, which task.Secret does not encode.
	SrcSecretRaw  []byte `json:",omitempty"`
	DestSecretRaw []byte `json:",omitempty"`
}

func decodeJobJSON(raw []byte) (*Job, error) {
	var j Job
	sj := storedJob{Job: &j}
	if err := json.Unmarshal(raw, &sj); err != nil {
		return nil, err
	}
	old := false
	if j.Spec.Src.Type == "" { // perhaps a record of an earlier ferry
		spec, legacy, err := legacyJob(raw)
		if err != nil {
			return nil, err
		}
		if old = legacy; old {
			j.Spec = spec
		}
	}
	for _, f := range []struct {
		raw []byte
		dst *string
	}{{sj.ScanAfterRaw, &j.ScanAfter}, {sj.SrcPrefixRaw, &j.Spec.Src.Prefix}, {sj.DestPrefixRaw, &j.Spec.Dest.Prefix}, {sj.ErrorRaw, &j.Error}} {
		if f.raw != nil {
			*f.dst = string(f.raw)
		}
	}
	if !old {
		j.Spec.Src.SecretKey, j.Spec.Dest.SecretKey = task.Secret(sj.SrcSecretRaw), task.Secret(sj.DestSecretRaw)
	}
	return &j, nil
}
