package task

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Spec is a submitted job as the master and its workers need it: resolved
// paths and typed settings, no config-file syntax. conf.Job.Spec makes it
// from a validated job.cfg, with the defaults of conf's one table already
// applied; nothing downstream parses a setting again. It is stored in the
// master's database and sent to workers with their leases, so it holds the
// stores' secrets: it never reaches a log (Secret prints as "***") nor
// stat (Redacted).
type Spec struct {
	Name       string
	Type       JobType
	ConfigFile string // the job.cfg it was submitted from, as given
	Src, Dest  Endpoint

	FollowSymlinks bool // isAllowSymbolicLink

	// Task size: a task closes at CountLimit entries or SizeLimit bytes
	// (taskObjectCountLimit, taskObjectSizeLimit).
	CountLimit int
	SizeLimit  int64
	// The scan's threads and the directory depth they share
	// (scanThreadCount, maxMultiThreadScanDepth).
	ScanThreads, ScanDepth int

	Multipart Multipart
	HTTPList  HTTPList
	// SrcList, when set, is what the scan reads instead of listing the
	// source (srcListFile): a key list, or an S3 Inventory's manifest.json.
	SrcList string `json:",omitempty"`
	// SplitThreshold: a file of at least this many bytes is copied by part
	// tasks (splitFileThreshold, part.go); 0 never.
	SplitThreshold int64 `json:",omitempty"`

	AuditAfterImport bool      // isAuditAfterImport: check each copy once landed
	AuditMode        AuditMode // how closely audits compare

	// Incremental jobs rescan every IncrementalInterval; the first round
	// copies only entries modified since ImportSince (zero: all).
	Incremental         bool
	IncrementalInterval time.Duration
	ImportSince         time.Time

	// Update rules: SkipExist skips an entry whose destination has the
	// same size and mtime; Update decides for an entry that exists.
	SkipExist bool
	Update    UpdateMode

	Filter Filter

	// Mirror deletes destination keys the source lacks, at most MaxDelete
	// in a round.
	Mirror    bool
	MaxDelete int64

	PreserveMetadata bool // a local destination keeps mtime and mode

	// Throttling, job-wide: bytes per second by time of day (Schedule's
	// Default is maxThroughput), and store requests per second; 0 is
	// unlimited.
	Schedule             Schedule
	MaxRequestsPerSecond int

	// Stream is set for a stream job (srcType=kafka), nil otherwise.
	Stream *Stream `json:",omitempty"`
	// Table is set for a table job (srcType mysql or postgres), nil
	// otherwise.
	Table *Table `json:",omitempty"`
}

// ThrottlesEntries reports whether MaxRequestsPerSecond counts the job's
// entries rather than its store requests: a ZooKeeper job is throttled in
// znodes per second (a znode costs two or three requests, a number users
// cannot be expected to know).
func (s Spec) ThrottlesEntries() bool { return s.Src.Type == "zk" || s.Dest.Type == "zk" }

// Endpoint is one side of a job: a store type and where in it.
type Endpoint struct {
	Type   string // local, s3, oss, ..., http
	Prefix string // a directory (absolute, clean) or a key prefix
	// Object stores: the endpoint as written (without the bucket), the
	// bucket, the credentials, the region ("" lets the client find it) and
	// whether to address buckets by path.
	Domain, Bucket, AccessKey string
	SecretKey                 Secret
	Region                    string
	PathStyle                 bool
}

// Multipart says how large files go to object stores: in parts of PartSize
// bytes, Threads at a time, from Threshold bytes up.
type Multipart struct {
	Threshold int64
	PartSize  int64
	Threads   int
}

// HTTPList is a URL-list source: the list file and its two columns,
// counted from 1; FollowRedirects follows redirects to other hosts too
// (httpFollowRedirects; else they fail the entry).
type HTTPList struct {
	File                             string
	PrefixColumn, RelativePathColumn int
	FollowRedirects                  bool
}

// Filter selects the entries a job copies: include and exclude patterns
// (filter's syntax, checked by conf), size bounds (0: none) and mtime
// bounds (zero: none).
type Filter struct {
	Include, Exclude              []string
	MinSize, MaxSize              int64
	ModifiedAfter, ModifiedBefore time.Time
}

// JobType is what a job does with its entries.
type JobType string

const (
	Import JobType = "import" // copy, then verify
	Audit  JobType = "audit"  // copy nothing; compare each entry
)

// AuditMode is how closely an audit compares a source entry with its copy.
type AuditMode string

const (
	AuditSimple   AuditMode = "simple"   // size
	AuditGeneral  AuditMode = "general"  // size and mtime
	AuditDetailed AuditMode = "detailed" // size and CRC64 of the content
)

// UpdateMode decides whether an entry that exists at the destination is
// copied again.
type UpdateMode string

const (
	UpdateAlways   UpdateMode = "always"   // every time
	UpdateNever    UpdateMode = "never"    // only missing keys
	UpdateNewer    UpdateMode = "newer"    // when the source mtime is later
	UpdateSize     UpdateMode = "size"     // when the sizes differ
	UpdateChecksum UpdateMode = "checksum" // when size or CRC64 differ
)

// Redacted returns s without its secrets, for stat and logs.
func (s Spec) Redacted() Spec {
	s = s.Clone()
	s.Src.SecretKey, s.Dest.SecretKey = "", ""
	return s
}

// Secret is a password or secret key. It prints and encodes to JSON as
// "***", so a spec or endpoint can be logged whole; Reveal returns it.
type Secret string

// Reveal returns the secret in clear, for the client that needs it.
func (s Secret) Reveal() string { return string(s) }

// String returns "***", or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "***"
}

// Format prints String whatever the verb.
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, s.String()) }

// MarshalJSON encodes String, so that a JSON log of a spec shows no
// secret. A store that keeps specs as JSON keeps the secrets beside them
// (master's storedJob).
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Clone returns a copy of s that shares no slice with it.
func (s Spec) Clone() Spec {
	s.Filter.Include = slices.Clone(s.Filter.Include)
	s.Filter.Exclude = slices.Clone(s.Filter.Exclude)
	s.Schedule.Windows = slices.Clone(s.Schedule.Windows)
	s.Stream = s.Stream.Clone()
	s.Table = s.Table.Clone()
	return s
}
