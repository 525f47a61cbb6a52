package conf

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"time"
)

// Sys holds the settings of one ferry installation, read from
// sys.properties: where it keeps its files, how workers run, and how the
// master and its workers find and trust each other.
type Sys struct {
	File string // path it was loaded from, as given

	WorkingDir string // default "workdir"; absolute after Resolve

	// SSH access to worker hosts (used by deploy). WorkerUser is also read
	// from ossimport's standalone spelling workerUserName.
	WorkerUser     string
	WorkerPassword Secret
	PrivateKeyFile string // absolute after Resolve when set
	SSHPort        int    // default 22

	WorkerTaskThreadNum int   // copy threads per worker; default 60 as in ossimport
	WorkerMaxThroughput int64 // KB/s (KiB: 1024 bytes) per worker, 0 = unlimited; see WorkerRate
	WorkerRecordMd5     bool  // also compute MD5 of each file
	DispatcherThreadNum int   // not implemented yet; default 1

	MasterAddress string // host:port; default "127.0.0.1:7790"
	// HTTPAddress is where the master serves /metrics and the dashboard:
	// host:port, default "127.0.0.1:7791"; "" when sys.properties says
	// httpAddress=off.
	HTTPAddress      string
	KnownHostsFile   string // default "~/.ssh/known_hosts"; absolute after Resolve
	TaskLeaseSeconds int    // default 60
	WorkerMaxTaskNum int    // tasks one worker holds at once; default 2

	// IncrementalMinInterval is the least incrementalModeInterval a job
	// may set: ossimport's 900 s by default; lower only for tests (1 s to
	// 900 s). LoadJobWith applies it.
	IncrementalMinInterval time.Duration

	// Warnings lists, in line order, one line each formatted like an
	// *Error, the keys that were accepted but are not acted on.
	Warnings []string

	props *props
}

// Limits on sys.properties values.
const (
	maxThreads      = 1024
	maxLeaseSeconds = 86400
	maxTasksHeld    = 256
)

// DefaultSys returns the settings that apply when sys.properties sets
// nothing. They are ossimport's defaults for its keys and ferry's for its own.
func DefaultSys() *Sys {
	return &Sys{
		WorkingDir:          "workdir",
		SSHPort:             22,
		WorkerTaskThreadNum: 60,
		DispatcherThreadNum: 1,
		MasterAddress:       "127.0.0.1:7790",
		HTTPAddress:         "127.0.0.1:7791",
		KnownHostsFile:      "~/.ssh/known_hosts",
		TaskLeaseSeconds:    60,
		WorkerMaxTaskNum:    2,

		IncrementalMinInterval: defaultMinInterval * time.Second,
	}
}

// WorkerRate is workerMaxThroughput(KB/s) in bytes per second (KB/s times
// 1024); 0 is unlimited.
func (s *Sys) WorkerRate() int64 { return s.WorkerMaxThroughput * 1024 }

// Get returns the value of any key as written in the file (trimmed), with
// its line. It returns secrets in clear: do not log what it returns.
func (s *Sys) Get(key string) (value string, line int, ok bool) {
	if s.props == nil {
		return "", 0, false
	}
	return s.props.get(key)
}

// LoadSys reads and validates the sys.properties at path. A missing file is
// not an error: every key has a default, so LoadSys returns DefaultSys()
// with File set to path. Any other failure to read is a *Error.
func LoadSys(path string) (*Sys, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		s := DefaultSys()
		s.File = path
		return s, nil
	}
	if err != nil {
		return nil, &Error{File: path, Msg: "cannot read", Err: err}
	}
	defer f.Close()
	return ParseSys(f, path)
}

// ParseSys reads and validates a sys.properties from r, with the syntax
// described at ParseJob; file names it in messages. It returns the first
// error, as a *Error. Paths are not touched: call Resolve next.
func ParseSys(r io.Reader, file string) (*Sys, error) {
	p, err := parseProps(r, file)
	if err != nil {
		return nil, err
	}
	s := DefaultSys()
	s.File = file
	s.props = p
	d := &decoder{file: file, kind: sysFile, p: p}
	if err := decode(d, s, sysSetters); err != nil {
		return nil, err
	}
	s.Warnings = d.warnings()
	return s, nil
}

// sysSetters parse the sys.properties keys that Sys has a field for.
var sysSetters = map[string]setter[Sys]{
	"workingDir":     func(s *Sys, v string) error { s.WorkingDir = v; return nil },
	"privateKeyFile": func(s *Sys, v string) error { s.PrivateKeyFile = v; return nil },
	"knownHostsFile": func(s *Sys, v string) error { s.KnownHostsFile = v; return nil },
	"workerPassword": func(s *Sys, v string) error { s.WorkerPassword = Secret(v); return nil },
	"workerUser": func(s *Sys, v string) error {
		s.WorkerUser = v
		return checkUser(v)
	},
	"sshPort": func(s *Sys, v string) (err error) {
		s.SSHPort, err = parseInt(v, 1, 65535)
		return err
	},
	"workerTaskThreadNum": func(s *Sys, v string) (err error) {
		s.WorkerTaskThreadNum, err = parseInt(v, 1, maxThreads)
		return err
	},
	"workerMaxThroughput(KB/s)": func(s *Sys, v string) (err error) {
		s.WorkerMaxThroughput, err = parseIntIn(v, 0, math.MaxInt64/1024)
		return err
	},
	"workerRecordMd5": func(s *Sys, v string) (err error) {
		s.WorkerRecordMd5, err = parseBool(v)
		return err
	},
	"dispatcherThreadNum": func(s *Sys, v string) (err error) {
		s.DispatcherThreadNum, err = parseInt(v, 1, maxThreads)
		return err
	},
	"masterAddress": func(s *Sys, v string) error {
		s.MasterAddress = v
		return checkHostPort(v)
	},
	"httpAddress": func(s *Sys, v string) error {
		if v == "off" {
			s.HTTPAddress = ""
			return nil
		}
		s.HTTPAddress = v
		if err := checkHostPort(v); err != nil {
			return fmt.Errorf("%w, or off", err)
		}
		return nil
	},
	"taskLeaseSeconds": func(s *Sys, v string) (err error) {
		s.TaskLeaseSeconds, err = parseInt(v, 5, maxLeaseSeconds)
		return err
	},
	"workerMaxTaskNum": func(s *Sys, v string) (err error) {
		s.WorkerMaxTaskNum, err = parseInt(v, 1, maxTasksHeld)
		return err
	},
	"incrementalMinInterval": func(s *Sys, v string) error {
		n, err := parseInt(v, 1, defaultMinInterval)
		s.IncrementalMinInterval = time.Duration(n) * time.Second
		return err
	},
}
