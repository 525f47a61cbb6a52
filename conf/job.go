package conf

import (
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"ferry/filter"
	"ferry/task"
)

// The values of the type keys that ferry supports now. Later work extends
// them as stores and job types are implemented; a known value outside them
// is an error saying it is not supported yet.
var (
	SupportedJobTypes  = []string{"import", "audit"}
	SupportedSrcTypes  = []string{"local", "s3", "oss", "cos", "bos", "ks3", "qiniu", "http", "azure", "youpai", "kafka", "zk", "mysql", "postgres"}
	SupportedDestTypes = []string{"local", "oss", "s3", "azure", "kafka", "zk", "mysql", "postgres"}
)

// The values ossimport (and, for destType, ferry) define for the type keys.
var (
	knownJobTypes  = []string{"import", "audit"}
	knownSrcTypes  = []string{"local", "oss", "qiniu", "bos", "ks3", "s3", "youpai", "http", "cos", "azure", "kafka", "zk", "mysql", "postgres"}
	knownDestTypes = []string{"local", "oss", "s3", "azure", "kafka", "zk", "mysql", "postgres"}
)

// Limits on job values beyond ossimport's documented ranges.
const (
	// maxTaskObjects bounds taskObjectCountLimit: the master and a worker
	// hold one task's manifest in memory. ossimport documented 50000.
	maxTaskObjects = 1_000_000
	// maxIncrementalInterval is ten years; it keeps the Duration in range.
	maxIncrementalInterval = 10 * 365 * 24 * 3600
	// maxScanThreads is the most scan threads ferry runs; larger values
	// (ossimport's s3 template ships 10000) are lowered to it.
	maxScanThreads = 32
)

// Job is one migration job, read from a job.cfg. Zero-valued fields that
// have a default hold it after parsing. Secrets are Secret.
type Job struct {
	File string // path it was loaded from, as given

	Name string // jobName
	Type string // jobType: "import" (default) or "audit"

	// SrcPrefix and DestPrefix are absolute and clean after Resolve when
	// the matching type is local. For an object store (IsObjectStore)
	// they are key prefixes, as written: "" or not starting with "/".
	//
	// For an object store, Domain, Bucket, AccessKey and SecretKey are set
	// (checked). Domain is the endpoint as written: host[:port], maybe
	// after http:// or https:// and before a "/"; it does not start with
	// the bucket. Region is empty unless set (the client finds it);
	// PathStyle false lets the client choose (see job.cfg).
	SrcType, SrcDomain, SrcBucket, SrcPrefix, SrcAccessKey, SrcRegion string
	SrcSecretKey                                                      Secret
	SrcPathStyle                                                      bool

	// DestType is "oss" when job.cfg does not set it, as in ossimport.
	DestType, DestDomain, DestBucket, DestPrefix, DestAccessKey, DestRegion string
	DestSecretKey                                                           Secret
	DestPathStyle                                                           bool

	// srcType=http: the list file (absolute and clean after Resolve; set,
	// but not checked to exist) and its two columns, counted from 1,
	// which differ. Defaults 1 and 2. HTTPFollowRedirects follows
	// redirects to other hosts too (default false: they fail the entry).
	HTTPListFilePath                     string
	HTTPPrefixColumn, RelativePathColumn int
	HTTPFollowRedirects                  bool

	// SrcListFile, when set, is what the scan reads instead of listing the
	// source: a key list, or an S3 Inventory's manifest.json (a name
	// ending in .json); see store/keylist. Absolute and clean after
	// Resolve; not checked to exist.
	SrcListFile string

	// Object-store destinations: files larger than the threshold (1 MiB
	// to 5 GiB; default 150 MiB) are sent in parts of the part size
	// (100 KiB to 5 GiB; default 50 MiB), UploadThreadNumPerLargeFile
	// (1 to 64; default 3) at a time.
	MultipartUploadThreshold    int64
	MultipartUploadPartSize     int64
	UploadThreadNumPerLargeFile int

	// SplitFileThreshold: a file of at least this many bytes is copied by
	// part tasks that different workers lease (task.Part); 0 never, else
	// at least 5 MiB. Default 1 GiB. Used with local and object-store
	// destinations only (see splitsInto).
	SplitFileThreshold int64

	IsAuditAfterImport bool   // verify after import; default true
	AuditMode          string // "simple", "general" (default) or "detailed"

	// Incremental jobs: after the first full pass the job rescans every
	// IncrementalModeInterval (default 86400 s; at least 900 s, or
	// sys.properties incrementalMinInterval when LoadJobWith is given it)
	// and copies what is new or changed. ImportSince (unix seconds; 0 =
	// everything) limits the first pass to files modified at or after it.
	IsIncremental           bool
	IncrementalModeInterval time.Duration
	ImportSince             int64

	// What to do with a file that exists at the destination: the keys as
	// written (UpdateMode lowercased; "" when unset). UpdateRule combines
	// them. isSkipExistFile=true with updateMode=always is refused.
	IsSkipExistFile bool
	UpdateMode      UpdateMode

	IsAllowSymbolicLink     bool
	TaskObjectCountLimit    int   // entries per task; default 10000
	TaskObjectSizeLimit     int64 // bytes per task; default 1000000000
	ScanThreadCount         int   // default 1; at most 32
	MaxMultiThreadScanDepth int   // default 1

	// Filter selects the entries copied: include, exclude (patterns matched
	// against the key relative to srcPrefix), minSize, maxSize (bytes; 0 =
	// no bound), modifiedAfter, modifiedBefore (zero = no bound). See
	// filter.Set for the rules; the bounds are checked to leave a window.
	Filter filter.Set

	// Mirror: delete destination keys absent from the source (default
	// false), at most MaxDelete of them in one pass (default 1000; 0 =
	// none): a pass that would delete more deletes nothing and fails.
	Mirror    bool
	MaxDelete int64

	// PreserveMetadata: a local destination keeps the source's mtime and,
	// from a local source, its mode bits. Default true.
	PreserveMetadata bool

	// Throttling. MaxThroughput is the job-wide limit in bytes per second,
	// shared by all workers (0 = unlimited). ThroughputSchedule gives the
	// limit by time of day; its Default is MaxThroughput, so
	// ThroughputSchedule.RateAt(time.Now()) is the limit in force.
	// MaxRequestsPerSecond limits the job's store requests (source and
	// destination together), job-wide; 0 = unlimited. A zk job's counts
	// znodes instead (task.Spec.ThrottlesEntries).
	MaxThroughput        int64
	ThroughputSchedule   task.Schedule
	MaxRequestsPerSecond int

	// Stream jobs (srcType=kafka, destType=kafka; stream.go): topics,
	// consumerGroups, streamMode and the SASL and TLS keys of each side.
	Stream StreamKeys
	// Table jobs (srcType and destType mysql or postgres; table.go):
	// tables, tableChunkRows, updatedColumn, maxRowsPerSecond.
	Table TableKeys

	// Warnings lists, in line order, one line each formatted like an
	// *Error, the keys that were accepted but are not acted on.
	Warnings []string

	props *props
}

// Get returns the value of any key as written in the file (trimmed), with
// its line, so later code can read keys that Job has no field for. It
// returns secrets in clear: do not log what it returns.
func (j *Job) Get(key string) (value string, line int, ok bool) {
	if j.props == nil {
		return "", 0, false
	}
	return j.props.get(key)
}

func newJob(file string) *Job {
	return &Job{
		File:                    file,
		Type:                    "import",
		DestType:                "oss",
		IncrementalModeInterval: 86400 * time.Second,
		TaskObjectCountLimit:    10000,
		TaskObjectSizeLimit:     1000000000,
		ScanThreadCount:         1,
		MaxMultiThreadScanDepth: 1,

		HTTPPrefixColumn:            1,
		RelativePathColumn:          2,
		MultipartUploadThreshold:    150 << 20,
		MultipartUploadPartSize:     50 << 20,
		UploadThreadNumPerLargeFile: 3,
		SplitFileThreshold:          1 << 30,
		IsAuditAfterImport:          true,
		AuditMode:                   "general",
		MaxDelete:                   1000,
		PreserveMetadata:            true,
		Table:                       TableKeys{ChunkRows: 10000, UpdatedMargin: defaultUpdatedMargin},
	}
}

// LoadJob reads and validates the job.cfg at path. Its errors are *Error; an
// unreadable file gives "PATH: cannot read: <os error>". It is LoadJobWith
// without sys.properties: ossimport's minimum incremental interval holds.
func LoadJob(path string) (*Job, error) { return LoadJobWith(path, nil) }

// LoadJobWith is LoadJob under the installation's settings s (nil: the
// defaults), of which it uses incrementalMinInterval.
func LoadJobWith(path string, s *Sys) (*Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read", Err: err}
	}
	defer f.Close()
	return ParseJobWith(f, path, s)
}

// ParseJob reads and validates a job.cfg from r; file names it in messages.
//
// Syntax: one key=value a line, split at the first '='; key and value are
// trimmed; blank lines and lines starting with '#' or '!' are comments (a
// '#' after a value is part of the value); values are literal, without
// backslash escapes; a UTF-8 byte order mark and CRLF line ends are
// accepted. Keys are case-sensitive, as in ossimport.
//
// It returns the first error, as a *Error. Values are checked for form and
// range, but paths are not touched: call Resolve next. It is ParseJobWith
// without sys.properties.
func ParseJob(r io.Reader, file string) (*Job, error) { return ParseJobWith(r, file, nil) }

// ParseJobWith is ParseJob under the installation's settings s (nil: the
// defaults): sys.properties incrementalMinInterval lowers the minimum of
// incrementalModeInterval from ossimport's 900 seconds.
func ParseJobWith(r io.Reader, file string, s *Sys) (*Job, error) {
	p, err := parseProps(r, file)
	if err != nil {
		return nil, err
	}
	j := newJob(file)
	j.props = p
	d := &decoder{file: file, kind: jobFile, p: p}
	if err := decode(d, j, jobSetters); err != nil {
		return nil, err
	}
	if err := j.check(d); err != nil {
		return nil, err
	}
	if err := j.checkControl(d, s); err != nil {
		return nil, err
	}
	j.Warnings = d.warnings()
	return j, nil
}

// check runs the checks that involve missing keys or several keys.
func (j *Job) check(d *decoder) error {
	if j.Name == "" {
		return errAt(d.file, d.line("jobName"), "jobName", "required, not set")
	}
	if j.SrcType == "" {
		return errAt(d.file, d.line("srcType"), "srcType",
			fmt.Sprintf("required, not set (supported: %s)", strings.Join(SupportedSrcTypes, ", ")))
	}
	if j.SrcType == "kafka" || j.DestType == "kafka" {
		if err := j.checkStream(d); err != nil {
			return err
		}
		if j.SrcListFile != "" {
			return errAt(d.file, d.line("srcListFile"), "srcListFile", "a Kafka job copies topics, not a list of keys; remove it")
		}
	}
	if IsTableType(j.SrcType) || IsTableType(j.DestType) {
		if err := j.checkTable(d); err != nil {
			return err
		}
	}
	switch {
	case j.SrcType == "local" && j.SrcPrefix == "":
		return errAt(d.file, d.line("srcPrefix"), "srcPrefix", "required, not set")
	case j.SrcType == "http":
		if err := j.checkHTTP(d); err != nil {
			return err
		}
	case IsObjectStore(j.SrcType):
		if err := checkObject(d, "src", j.SrcType, j.SrcDomain, j.SrcBucket, j.SrcPrefix, j.SrcAccessKey, j.SrcSecretKey); err != nil {
			return err
		}
	case j.SrcType == "azure" || j.SrcType == "youpai":
		if err := checkOther(d, "src", j.SrcType, j.SrcBucket, j.SrcPrefix, j.SrcAccessKey, j.SrcSecretKey); err != nil {
			return err
		}
	}
	switch {
	case j.DestType == "local" && j.DestPrefix == "":
		return errAt(d.file, d.line("destPrefix"), "destPrefix", "required, not set")
	case IsObjectStore(j.DestType):
		if err := checkObject(d, "dest", j.DestType, j.DestDomain, j.DestBucket, j.DestPrefix, j.DestAccessKey, j.DestSecretKey); err != nil {
			return err
		}
	case j.DestType == "azure":
		if err := checkOther(d, "dest", j.DestType, j.DestBucket, j.DestPrefix, j.DestAccessKey, j.DestSecretKey); err != nil {
			return err
		}
	}
	if err := j.checkZK(d); err != nil {
		return err
	}
	if err := j.checkSameBucket(d); err != nil {
		return err
	}
	if v, line, _ := d.p.get("scanThreadCount"); !keyIndex["scanThreadCount"].isDefault(v) {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > maxScanThreads {
			d.warn(line, "scanThreadCount", fmt.Sprintf("%d is more scan threads than ferry runs; using %d", n, maxScanThreads))
		}
	}
	// Keys for another type of source or destination than the job's: say
	// they are unused rather than drop them silently.
	for _, p := range d.p.list {
		k := keyIndex[p.Key]
		if k == nil || k.remote == "" || k.isDefault(p.Value) {
			continue
		}
		typ := j.SrcType
		if k.remote == "destType" {
			typ = j.DestType
		}
		if !k.usedWith(typ) {
			d.warn(p.Line, p.Key, fmt.Sprintf("not used with %s=%s; ignored", k.remote, typ))
		}
	}
	if j.SrcType == "http" && j.SrcPrefix != "" {
		d.warn(d.line("srcPrefix"), "srcPrefix", "not used with srcType=http; ignored")
	}
	return nil
}

// checkHTTP checks the keys of srcType=http.
func (j *Job) checkHTTP(d *decoder) error {
	if j.HTTPListFilePath == "" {
		return errAt(d.file, d.line("httpListFilePath"), "httpListFilePath", "required with srcType=http, not set")
	}
	if j.HTTPPrefixColumn == j.RelativePathColumn {
		key, other := "relativePathColumn", "httpPrefixColumn"
		if v, _, _ := d.p.get(key); v == "" {
			key, other = other, key
		}
		where := "its default"
		if v, n, _ := d.p.get(other); v != "" {
			where = fmt.Sprintf("line %d", n)
		}
		return errAt(d.file, d.line(key), key, fmt.Sprintf("%d is also %s (%s); the two columns must differ",
			j.HTTPPrefixColumn, other, where))
	}
	return nil
}

// checkObject checks one object-store side of a job; role is "src" or
// "dest", typ its type. Messages never quote the secret.
func checkObject(d *decoder, role, typ, domain, bucket, prefix, accessKey string, secretKey Secret) error {
	typeKey := role + "Type"
	required := func(key, more string) error {
		return errAt(d.file, d.line(key), key, fmt.Sprintf("required with %s=%s, not set%s", typeKey, typ, more))
	}
	domainKey, bucketKey, prefixKey := role+"Domain", role+"Bucket", role+"Prefix"
	if domain == "" {
		return required(domainKey, fmt.Sprintf(" (the endpoint, e.g. %s)", exampleEndpoint[typ]))
	}
	ep, err := parseDomain(domain, role)
	if err != nil {
		return errAt(d.file, d.line(domainKey), domainKey, err.Error())
	}
	if bucket == "" {
		return required(bucketKey, "")
	}
	warning, err := checkBucket(bucket, role)
	if err != nil {
		return errAt(d.file, d.line(bucketKey), bucketKey, err.Error())
	}
	if warning != "" {
		d.warn(d.line(bucketKey), bucketKey, warning)
	}
	if ep.hasBucket(bucket) {
		fixed := ep.withoutBucket(bucket)
		msg := "includes the bucket name; use " + fixed
		if typ == "qiniu" && !strings.Contains(strings.ToLower(fixed), "qiniucs.com") {
			msg = fmt.Sprintf("includes the bucket name: it is the bucket's download domain, and ferry reads qiniu "+
				"through its S3-compatible API; use the region's S3 endpoint, e.g. %s", exampleEndpoint[typ])
		}
		return errAt(d.file, d.line(domainKey), domainKey, msg)
	}
	if typ == "cos" && !strings.Contains(ep.host, ".") && !strings.EqualFold(ep.host, "localhost") && net.ParseIP(ep.host) == nil {
		return errAt(d.file, d.line(domainKey), domainKey, fmt.Sprintf(
			"%q looks like a COS v4 region code; ferry reads cos through its S3-compatible API: use its endpoint, e.g. %s",
			domain, exampleEndpoint[typ]))
	}
	if accessKey == "" {
		more := ""
		if secretKey == "" {
			more = fmt.Sprintf(" (nor is %sSecretKey)", role)
		}
		return required(role+"AccessKey", more)
	}
	if secretKey == "" {
		return required(role+"SecretKey", "")
	}
	if err := checkKeyPrefix(prefix); err != nil {
		return errAt(d.file, d.line(prefixKey), prefixKey, err.Error())
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		msg := fmt.Sprintf("%q does not end with \"/\": it selects every key starting with it, such as %q; end it with / to copy one folder",
			prefix, prefix+"-old/a.txt")
		if role == "dest" {
			msg = fmt.Sprintf("%q does not end with \"/\": a file a.txt becomes the key %q; end it with / to write into a folder",
				prefix, prefix+"a.txt")
		}
		d.warn(d.line(prefixKey), prefixKey, msg)
	}
	return nil
}

// checkSameBucket refuses an import from an object store into the same
// bucket at an overlapping prefix, as Resolve does for local directories.
// Endpoints are compared as written (without scheme): two names of one
// endpoint, such as OSS's internal and public ones, are not recognised.
func (j *Job) checkSameBucket(d *decoder) error {
	if j.Type != "import" || !IsObjectStore(j.SrcType) || !IsObjectStore(j.DestType) || j.SrcBucket != j.DestBucket {
		return nil
	}
	se, err1 := parseDomain(j.SrcDomain, "src")
	de, err2 := parseDomain(j.DestDomain, "dest")
	if err1 != nil || err2 != nil || !strings.EqualFold(se.hostPort, de.hostPort) {
		return nil
	}
	src, dst, line := j.SrcPrefix, j.DestPrefix, d.line("srcPrefix")
	msg := ""
	switch {
	case src == dst:
		msg = fmt.Sprintf("%q is srcPrefix (line %d) in the same bucket; the copy would overwrite its source", dst, line)
	case strings.HasPrefix(dst, src):
		msg = fmt.Sprintf("%q is inside srcPrefix %q (line %d) in the same bucket; the copy would copy itself", dst, src, line)
	case strings.HasPrefix(src, dst):
		msg = fmt.Sprintf("%q contains srcPrefix %q (line %d) in the same bucket; the copy could overwrite its source", dst, src, line)
	default:
		return nil
	}
	return errAt(d.file, d.line("destPrefix"), "destPrefix", msg)
}

// jobSetters parse the job.cfg keys that Job has a field for.
var jobSetters = map[string]setter[Job]{
	"jobName": func(j *Job, v string) error {
		j.Name = v
		return checkJobName(v)
	},
	"jobType": func(j *Job, v string) error {
		j.Type = v
		return checkType(v, "jobType", knownJobTypes, SupportedJobTypes)
	},
	"srcType": func(j *Job, v string) error {
		j.SrcType = v
		return checkType(v, "srcType", knownSrcTypes, SupportedSrcTypes)
	},
	"destType": func(j *Job, v string) error {
		j.DestType = v
		return checkType(v, "destType", knownDestTypes, SupportedDestTypes)
	},
	// The object-store keys are checked by check, once the types are
	// known: a value for a side that does not use it is only warned about.
	"srcPrefix":     func(j *Job, v string) error { j.SrcPrefix = v; return nil },
	"srcDomain":     func(j *Job, v string) error { j.SrcDomain = v; return nil },
	"srcBucket":     func(j *Job, v string) error { j.SrcBucket = v; return nil },
	"srcAccessKey":  func(j *Job, v string) error { j.SrcAccessKey = v; return nil },
	"srcSecretKey":  func(j *Job, v string) error { j.SrcSecretKey = Secret(v); return nil },
	"destPrefix":    func(j *Job, v string) error { j.DestPrefix = v; return nil },
	"destDomain":    func(j *Job, v string) error { j.DestDomain = v; return nil },
	"destBucket":    func(j *Job, v string) error { j.DestBucket = v; return nil },
	"destAccessKey": func(j *Job, v string) error { j.DestAccessKey = v; return nil },
	"destSecretKey": func(j *Job, v string) error { j.DestSecretKey = Secret(v); return nil },
	"srcRegion": func(j *Job, v string) error {
		j.SrcRegion = v
		return checkRegion(v)
	},
	"destRegion": func(j *Job, v string) error {
		j.DestRegion = v
		return checkRegion(v)
	},
	"srcPathStyle": func(j *Job, v string) (err error) {
		j.SrcPathStyle, err = parseBool(v)
		return err
	},
	"destPathStyle": func(j *Job, v string) (err error) {
		j.DestPathStyle, err = parseBool(v)
		return err
	},
	"httpListFilePath": func(j *Job, v string) error { j.HTTPListFilePath = v; return nil },
	"srcListFile":      func(j *Job, v string) error { j.SrcListFile = v; return nil },
	"httpFollowRedirects": func(j *Job, v string) (err error) {
		j.HTTPFollowRedirects, err = parseBool(v)
		return err
	},
	"httpPrefixColumn": func(j *Job, v string) (err error) {
		j.HTTPPrefixColumn, err = parseColumn(v)
		return err
	},
	"relativePathColumn": func(j *Job, v string) (err error) {
		j.RelativePathColumn, err = parseColumn(v)
		return err
	},
	"multipartUploadThreshold": func(j *Job, v string) (err error) {
		j.MultipartUploadThreshold, err = parseThreshold(v)
		return err
	},
	"splitFileThreshold": func(j *Job, v string) (err error) {
		j.SplitFileThreshold, err = parseSplit(v)
		return err
	},
	"multipartUploadPartSize": func(j *Job, v string) (err error) {
		j.MultipartUploadPartSize, err = parsePartSize(v)
		return err
	},
	"uploadThreadNumPerLargeFile": func(j *Job, v string) (err error) {
		j.UploadThreadNumPerLargeFile, err = parseInt(v, 1, maxPartThreads)
		return err
	},
	"isAuditAfterImport": func(j *Job, v string) (err error) {
		j.IsAuditAfterImport, err = parseBool(v)
		return err
	},
	"auditMode": func(j *Job, v string) (err error) {
		j.AuditMode, err = checkAuditMode(v)
		return err
	},
	"isIncremental": func(j *Job, v string) (err error) {
		j.IsIncremental, err = parseBool(v)
		return err
	},
	"incrementalModeInterval": func(j *Job, v string) (err error) {
		j.IncrementalModeInterval, err = parseInterval(v)
		return err
	},
	"importSince": func(j *Job, v string) (err error) {
		j.ImportSince, err = parseIntIn(v, 0, math.MaxInt64)
		return err
	},
	"isSkipExistFile": func(j *Job, v string) (err error) {
		j.IsSkipExistFile, err = parseBool(v)
		return err
	},
	"updateMode": func(j *Job, v string) (err error) {
		j.UpdateMode, err = parseUpdateMode(v)
		return err
	},
	"include": func(j *Job, v string) (err error) {
		j.Filter.Include, err = filter.CompileList(v)
		return err
	},
	"exclude": func(j *Job, v string) (err error) {
		j.Filter.Exclude, err = filter.CompileList(v)
		return err
	},
	"minSize": func(j *Job, v string) (err error) {
		j.Filter.MinSize, err = parseSize(v, 0, math.MaxInt64)
		return err
	},
	"maxSize": func(j *Job, v string) (err error) {
		j.Filter.MaxSize, err = parseSize(v, 0, math.MaxInt64)
		return err
	},
	"modifiedAfter": func(j *Job, v string) (err error) {
		j.Filter.ModifiedAfter, err = parseTimeBound(v)
		return err
	},
	"modifiedBefore": func(j *Job, v string) (err error) {
		j.Filter.ModifiedBefore, err = parseTimeBound(v)
		return err
	},
	"mirror": func(j *Job, v string) (err error) {
		j.Mirror, err = parseBool(v)
		return err
	},
	"maxDelete": func(j *Job, v string) (err error) {
		j.MaxDelete, err = parseIntIn(v, 0, math.MaxInt64)
		return err
	},
	"preserveMetadata": func(j *Job, v string) (err error) {
		j.PreserveMetadata, err = parseBool(v)
		return err
	},
	"maxThroughput": func(j *Job, v string) (err error) {
		j.MaxThroughput, err = parseRate(v)
		return err
	},
	"throughputSchedule": func(j *Job, v string) (err error) {
		j.ThroughputSchedule, err = ParseSchedule(v)
		return err
	},
	"maxRequestsPerSecond": func(j *Job, v string) (err error) {
		j.MaxRequestsPerSecond, err = parseInt(v, 0, maxRequestRate)
		return err
	},
	"topics":            func(j *Job, v string) (err error) { j.Stream.Topics, err = parsePatterns(v, true); return err },
	"consumerGroups":    func(j *Job, v string) (err error) { j.Stream.Groups, err = parsePatterns(v, false); return err },
	"streamMode":        func(j *Job, v string) (err error) { j.Stream.Continuous, err = parseStreamMode(v); return err },
	"srcSaslMechanism":  func(j *Job, v string) (err error) { j.Stream.SrcSASL, err = parseSASL(v); return err },
	"destSaslMechanism": func(j *Job, v string) (err error) { j.Stream.DestSASL, err = parseSASL(v); return err },
	"srcTls":            func(j *Job, v string) (err error) { j.Stream.SrcTLS, err = parseBool(v); return err },
	"destTls":           func(j *Job, v string) (err error) { j.Stream.DestTLS, err = parseBool(v); return err },
	"srcTlsCaFile":      func(j *Job, v string) error { j.Stream.SrcCAFile = v; return nil },
	"destTlsCaFile":     func(j *Job, v string) error { j.Stream.DestCAFile = v; return nil },
	"tables":            func(j *Job, v string) (err error) { j.Table.Tables, err = parseTables(v); return err },
	"tableChunkRows":    func(j *Job, v string) (err error) { j.Table.ChunkRows, err = parseInt(v, 1, maxChunkRows); return err },
	"updatedColumn":     func(j *Job, v string) error { j.Table.UpdatedColumn = v; return nil },
	"updatedMargin": func(j *Job, v string) error {
		n, err := parseInt(v, 0, maxUpdatedMargin)
		j.Table.UpdatedMargin = time.Duration(n) * time.Second
		return err
	},
	"maxRowsPerSecond": func(j *Job, v string) (err error) { j.Table.MaxRowsPerSecond, err = parseInt(v, 0, 1<<30); return err },
	"isAllowSymbolicLink": func(j *Job, v string) (err error) {
		j.IsAllowSymbolicLink, err = parseBool(v)
		return err
	},
	"taskObjectCountLimit": func(j *Job, v string) (err error) {
		j.TaskObjectCountLimit, err = parseInt(v, 1, maxTaskObjects)
		return err
	},
	"taskObjectSizeLimit": func(j *Job, v string) (err error) {
		j.TaskObjectSizeLimit, err = parseSize(v, 1, math.MaxInt64)
		return err
	},
	"scanThreadCount": func(j *Job, v string) (err error) {
		n, err := parseIntIn(v, 1, math.MaxInt64)
		j.ScanThreadCount = int(min(n, maxScanThreads))
		return err
	},
	"maxMultiThreadScanDepth": func(j *Job, v string) (err error) {
		j.MaxMultiThreadScanDepth, err = parseInt(v, 1, 16)
		return err
	},
}

// parseColumn parses httpPrefixColumn or relativePathColumn: a column of
// the list file, from 1. A column past any line's end is the http store's
// error, naming the line.
func parseColumn(v string) (int, error) {
	n, err := parseIntIn(v, 1, math.MaxInt64)
	return int(min(n, math.MaxInt32)), err
}
