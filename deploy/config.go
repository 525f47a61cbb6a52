package deploy

import (
	"fmt"
	"net"
	"strings"

	"ferry/conf"
)

// ConfigFromSys fills a Config from sys.properties (after Resolve): SSH
// access, known_hosts, the remote working directory as written in the file
// (relative: to the remote user's home, as ossimport's workers did), the
// master's address, and the workers' sys.properties. The caller adds
// Binary, Credential, CACert and Registered.
func ConfigFromSys(s *conf.Sys) Config {
	wd, _, ok := s.Get("workingDir")
	if !ok {
		wd = conf.DefaultSys().WorkingDir
	}
	return Config{
		User:           s.WorkerUser,
		Password:       s.WorkerPassword,
		PrivateKeyFile: s.PrivateKeyFile,
		Port:           s.SSHPort,
		KnownHostsFile: s.KnownHostsFile,
		WorkingDir:     wd,
		MasterAddress:  s.MasterAddress,
		SysProperties:  WorkerProperties(s),
	}
}

// WorkerProperties is the sys.properties a worker gets: the keys a worker
// reads, and none of the master's secrets (no workerPassword). Its
// workingDir is "." because the worker runs with --home set to its working
// directory, so its logs land in W/logs beside worker.out.
func WorkerProperties(s *conf.Sys) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by `ferry deploy` from %s: the keys a worker reads.\n", s.File)
	fmt.Fprintf(&b, "workingDir=.\n")
	fmt.Fprintf(&b, "masterAddress=%s\n", s.MasterAddress)
	fmt.Fprintf(&b, "workerTaskThreadNum=%d\n", s.WorkerTaskThreadNum)
	fmt.Fprintf(&b, "workerMaxThroughput(KB/s)=%d\n", s.WorkerMaxThroughput)
	fmt.Fprintf(&b, "workerRecordMd5=%t\n", s.WorkerRecordMd5)
	fmt.Fprintf(&b, "workerMaxTaskNum=%d\n", s.WorkerMaxTaskNum)
	fmt.Fprintf(&b, "taskLeaseSeconds=%d\n", s.TaskLeaseSeconds)
	return []byte(b.String())
}

// unreachableMaster explains why a worker on t cannot dial the master at
// addr: a loopback or unspecified address works only on the master's host.
// It returns "" when addr may do.
func unreachableMaster(addr string, t Target) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	local := func(h string) bool {
		ip := net.ParseIP(h)
		return strings.EqualFold(h, "localhost") || ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
	}
	if !local(host) || local(t.Addr) {
		return ""
	}
	return fmt.Sprintf("masterAddress %s is not reachable from %s: set masterAddress in sys.properties to an address of the master's host that workers can dial", addr, t.Addr)
}
