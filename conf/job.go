package conf

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

// The values of the type keys that ferry supports now. Later work extends
// them as stores and job types are implemented; a known value outside them
// is an error saying it is not supported yet.
var (
	SupportedJobTypes  = []string{"import"}
	SupportedSrcTypes  = []string{"local"}
	SupportedDestTypes = []string{"local"}
)

// The values ossimport (and, for destType, ferry) define for the type keys.
var (
	knownJobTypes  = []string{"import", "audit"}
	knownSrcTypes  = []string{"local", "oss", "qiniu", "bos", "ks3", "s3", "youpai", "http", "cos", "azure"}
	knownDestTypes = []string{"local", "oss", "s3"}
)

// Limits on job values beyond ossimport's documented ranges.
const (
	// maxTaskObjects bounds taskObjectCountLimit: the master and a worker
	// hold one task's manifest in memory. ossimport documented 50000.
	maxTaskObjects = 1_000_000
	// maxIncrementalInterval is ten years; it keeps the Duration in range.
	maxIncrementalInterval = 10 * 365 * 24 * 3600
)

// Job is one migration job, read from a job.cfg. Zero-valued fields that
// have a default hold it after parsing. Secrets are Secret.
type Job struct {
	File string // path it was loaded from, as given

	Name string // jobName
	Type string // jobType: "import" (default)

	// SrcPrefix and DestPrefix are absolute and clean after Resolve when
	// the matching type is local; as written before.
	SrcType, SrcDomain, SrcBucket, SrcPrefix, SrcAccessKey string
	SrcSecretKey                                           Secret

	// DestType is "oss" when job.cfg does not set it, as in ossimport.
	DestType, DestDomain, DestBucket, DestPrefix, DestAccessKey string
	DestSecretKey                                               Secret

	IsIncremental           bool          // not implemented yet
	IncrementalModeInterval time.Duration // not implemented yet; default 86400 s
	ImportSince             int64         // unix seconds; not implemented yet
	IsSkipExistFile         bool
	IsAllowSymbolicLink     bool
	TaskObjectCountLimit    int   // entries per task; default 10000
	TaskObjectSizeLimit     int64 // bytes per task; default 1000000000
	ScanThreadCount         int   // default 1
	MaxMultiThreadScanDepth int   // default 1

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
	}
}

// LoadJob reads and validates the job.cfg at path. Its errors are *Error; an
// unreadable file gives "PATH: cannot read: <os error>".
func LoadJob(path string) (*Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read", Err: err}
	}
	defer f.Close()
	return ParseJob(f, path)
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
// range, but paths are not touched: call Resolve next.
func ParseJob(r io.Reader, file string) (*Job, error) {
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
	if v, _, _ := d.p.get("destType"); v == "" {
		return errAt(d.file, d.line("destType"), "destType",
			"not set, which means oss as in ossimport, and oss is not supported yet; set destType=local")
	}
	if j.SrcType == "local" && j.SrcPrefix == "" {
		return errAt(d.file, d.line("srcPrefix"), "srcPrefix", "required, not set")
	}
	if j.DestType == "local" && j.DestPrefix == "" {
		return errAt(d.file, d.line("destPrefix"), "destPrefix", "required, not set")
	}
	// Keys for object stores, set while the side is local: say they are
	// unused rather than drop them silently.
	for _, p := range d.p.list {
		k := keyIndex[p.Key]
		if k == nil || k.remote == "" || p.Value == "" {
			continue
		}
		typ := j.SrcType
		if k.remote == "destType" {
			typ = j.DestType
		}
		if typ == "local" {
			d.warn(p.Line, p.Key, fmt.Sprintf("not used with %s=local; ignored", k.remote))
		}
	}
	return nil
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
	"isIncremental": func(j *Job, v string) (err error) {
		j.IsIncremental, err = parseBool(v)
		return err
	},
	"incrementalModeInterval": func(j *Job, v string) error {
		n, err := parseInt(v, 900, maxIncrementalInterval)
		j.IncrementalModeInterval = time.Duration(n) * time.Second
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
		j.ScanThreadCount, err = parseInt(v, 1, 32)
		return err
	},
	"maxMultiThreadScanDepth": func(j *Job, v string) (err error) {
		j.MaxMultiThreadScanDepth, err = parseInt(v, 1, 16)
		return err
	},
}
