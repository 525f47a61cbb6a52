// Package deploy ships ferry to worker hosts over SSH and starts (or stops)
// a worker on each: what `console.sh deploy` does. It prints nothing; each
// host's outcome is a Result with a short fixed Reason and a one-line Detail
// that never holds a secret.
//
// On each host, deploy keeps everything under the working directory W
// (Config.WorkingDir; relative to the remote user's home when relative):
//
//	W/bin/ferry             the binary, uploaded only when its SHA-256 differs
//	W/bin/ferry.sha256      its checksum
//	W/conf/sys.properties   the worker's settings (0600)
//	W/conf/token            the host's worker credential (0600), written from SSH stdin
//	W/conf/tls.crt          the master's certificate (0644), when Config.CACert is set
//	W/logs/worker.out       the worker's stdout and stderr (worker.out.1: the previous run's)
//	W/worker.pid            the running worker's pid
//
// and runs the worker as
//
//	W/bin/ferry --home W --sys W/conf/sys.properties worker --master ADDR --token-file W/conf/token --id ID [--cert-file W/conf/tls.crt]
//
// detached (nohup, setsid). The credential is the host's own, issued by
// the master (Config.Credential) once the host's previous worker is
// stopped, so that worker leaves with the credential it had; it lets its
// holder act as that one worker and nothing else. Secrets travel only on
// SSH stdin, into files of mode 0600: never in a command line, an
// environment, a Result or an error.
// Host keys are checked against a known_hosts file unless the caller opts
// out explicitly.
package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sync/errgroup"

	"ferry/conf"
)

// Reasons a host failed, as Result.Reason.
const (
	ReasonUnreachable    = "unreachable"
	ReasonAuth           = "auth failed"
	ReasonHostKeyChanged = "host key mismatch"
	ReasonHostKeyUnknown = "unknown host key"
	ReasonNoSpace        = "no space"
	ReasonUpload         = "upload failed"
	ReasonCredential     = "no credential"
	ReasonStart          = "start failed"
	ReasonNotRegistered  = "did not register"
	ReasonStop           = "stop failed"
	ReasonConfig         = "bad configuration" // Config.Validate failed (every host), or the host cannot reach masterAddress
)

// Defaults for the zero values of Config.
const (
	DefaultParallel        = 8
	DefaultConnectTimeout  = 10 * time.Second
	DefaultRegisterTimeout = 60 * time.Second
	DefaultStopTimeout     = 30 * time.Second
	DefaultWorkingDir      = "workdir"
)

// Target is one worker host.
type Target struct {
	conf.Host        // as in conf/workers; an empty User or zero Port takes Config's
	ID        string // worker ID (--id); empty: DefaultID(Host)
}

// TargetsOf turns the hosts of a workers file into targets with default IDs.
func TargetsOf(hosts []conf.Host) []Target {
	ts := make([]Target, len(hosts))
	for i, h := range hosts {
		ts[i] = Target{Host: h}
	}
	return ts
}

// DefaultID is the worker ID of a host: its address as written in the
// workers file, with the port when the file gives one (host or host:port).
func DefaultID(h conf.Host) string {
	if h.Port != 0 {
		return net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))
	}
	return h.Addr
}

func (t Target) id() string {
	if t.ID != "" {
		return t.ID
	}
	return DefaultID(t.Host)
}

// Config is what Deploy and Stop need, mostly from sys.properties.
type Config struct {
	User           string      // default SSH user (workerUser); empty: the local user
	Password       conf.Secret // workerPassword; also the private key's passphrase
	PrivateKeyFile string      // preferred over Password when set; with neither, ~/.ssh/id_{ed25519,ecdsa,rsa}
	Port           int         // default SSH port (sshPort); 0: 22

	KnownHostsFile        string // empty: ~/.ssh/known_hosts; missing file: no host is known
	InsecureIgnoreHostKey bool   // skip host key checks; the caller must warn

	WorkingDir    string // remote working directory; relative: to the remote user's home
	Binary        string // local bin/ferry to ship
	MasterAddress string // host:port the workers dial
	CACert        []byte // PEM certificate the workers pin (--cert-file); nil: none
	SysProperties []byte // the workers' sys.properties

	// Credential returns a new credential for workerID, which replaces
	// the one it had: the master issues it (masked when printed).
	Credential func(ctx context.Context, workerID string) (conf.Secret, error)

	Parallel        int           // hosts at once; 0: 8
	ConnectTimeout  time.Duration // TCP connect plus SSH handshake; 0: 10s
	RegisterTimeout time.Duration // start to registration; 0: 60s
	StopTimeout     time.Duration // SIGTERM to SIGKILL of an old worker; 0: 30s

	// Registered blocks until the master has seen workerID register, or
	// ctx ends (ctx carries RegisterTimeout). Deploy calls it right after
	// starting the worker, which may already have registered by then, and a
	// re-deploy replaces a worker of the same ID: count only registrations
	// newer than a time taken before Deploy was called. Nil: no wait.
	Registered func(ctx context.Context, workerID string) error
}

// Result is the outcome on one host, in the order of the targets.
type Result struct {
	Host     string // the target as written: [user@]host[:port]
	ID       string // worker ID
	OK       bool
	Reason   string // one of the Reason constants when !OK
	Detail   string // one line, never a secret
	Uploaded bool   // the binary was uploaded (it differed or was missing)
	PID      int    // the worker's pid on its host, when started
}

// String is the line `console.sh deploy` prints for the host.
func (r Result) String() string {
	if r.OK {
		return fmt.Sprintf("%s: OK (%s)", r.Host, r.Detail)
	}
	return fmt.Sprintf("%s: %s: %s", r.Host, r.Reason, r.Detail)
}

// Validate checks the settings that Deploy needs, with messages naming the
// setting: the binary, masterAddress, the credentials' issuer, the SSH credentials and
// the known_hosts file (both are read).
func (c *Config) Validate() error {
	if err := c.check(); err != nil {
		return err
	}
	_, err := c.withDefaults().newDialer()
	return err
}

// check is Validate without reading credentials.
func (c *Config) check() error {
	if c.Binary == "" {
		return errors.New("no binary to deploy (bin/ferry)")
	}
	if fi, err := os.Stat(c.Binary); err != nil {
		return fmt.Errorf("binary %s: %v", c.Binary, err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("binary %s is not a regular file", c.Binary)
	}
	if _, _, err := net.SplitHostPort(c.MasterAddress); err != nil {
		return fmt.Errorf("masterAddress %q: want host:port", c.MasterAddress)
	}
	if c.Credential == nil {
		return errors.New("no issuer of worker credentials: start the master first (console.sh start)")
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("sshPort %d: want 1 to 65535", c.Port)
	}
	return nil
}

// secrets are the strings no Result may show (beside each host's
// credential).
func (c *Config) secrets() []string { return []string{c.Password.Reveal()} }

func (c Config) withDefaults() Config {
	if c.Port == 0 {
		c.Port = 22
	}
	if c.Parallel <= 0 {
		c.Parallel = DefaultParallel
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.RegisterTimeout <= 0 {
		c.RegisterTimeout = DefaultRegisterTimeout
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.WorkingDir == "" {
		c.WorkingDir = DefaultWorkingDir
	}
	return c
}

// binary is the file to ship, read once for all hosts.
type binary struct {
	path string
	size int64
	sum  string // hex SHA-256
}

func hashFile(path string) (binary, error) {
	f, err := os.Open(path)
	if err != nil {
		return binary{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return binary{}, err
	}
	return binary{path: path, size: n, sum: hex.EncodeToString(h.Sum(nil))}, nil
}

// Deploy ships the binary and the worker's files to every target and
// (re)starts its worker, up to cfg.Parallel hosts at once. It returns one
// Result per target, in the same order. A host that fails does not stop
// the others. Running it again is safe: it replaces and restarts workers,
// uploading the binary only where it changed.
func Deploy(ctx context.Context, cfg Config, targets []Target) []Result {
	cfg = cfg.withDefaults()
	var (
		d   *dialer
		bin binary
	)
	err := cfg.check()
	if err == nil {
		d, err = cfg.newDialer()
	}
	if err == nil {
		bin, err = hashFile(cfg.Binary)
	}
	if err != nil {
		return failAll(targets, ReasonConfig, err.Error())
	}
	return forEach(ctx, cfg.Parallel, targets, func(ctx context.Context, t Target) Result {
		if msg := unreachableMaster(cfg.MasterAddress, t); msg != "" {
			return fail(ReasonConfig, "%s", msg)
		}
		return deployOne(ctx, cfg, d, bin, t)
	})
}

// Stop stops the worker on every target through its pid file: SIGTERM,
// then SIGKILL after cfg.StopTimeout. A host with no worker running is OK.
func Stop(ctx context.Context, cfg Config, targets []Target) []Result {
	cfg = cfg.withDefaults()
	d, err := cfg.newDialer()
	if err != nil {
		return failAll(targets, ReasonConfig, err.Error())
	}
	return forEach(ctx, cfg.Parallel, targets, func(ctx context.Context, t Target) Result {
		return stopOne(ctx, cfg, d, t)
	})
}

func failAll(targets []Target, reason, detail string) []Result {
	rs := make([]Result, len(targets))
	for i, t := range targets {
		rs[i] = Result{Host: t.Host.String(), ID: t.id(), Reason: reason, Detail: oneLine(detail)}
	}
	return rs
}

func forEach(ctx context.Context, parallel int, targets []Target, fn func(context.Context, Target) Result) []Result {
	rs := make([]Result, len(targets))
	var g errgroup.Group
	g.SetLimit(parallel)
	for i, t := range targets {
		g.Go(func() error {
			r := fn(ctx, t)
			r.Host, r.ID = t.Host.String(), t.id()
			rs[i] = r
			return nil
		})
	}
	g.Wait()
	return rs
}

func deployOne(ctx context.Context, cfg Config, d *dialer, bin binary, t Target) Result {
	h, res := d.connect(ctx, t)
	if h == nil {
		return res
	}
	defer h.close()
	secrets := cfg.secrets()
	h.secrets = secrets

	st, err := h.prepare(ctx, cfg.WorkingDir)
	if err != nil {
		return fail(uploadReason(err), "create working directory %s: %s", cfg.WorkingDir, scrub(err.Error(), secrets))
	}
	upload := st.sum != bin.sum
	need := spaceMargin
	if upload {
		need += bin.size
	}
	if st.availKB >= 0 && st.availKB*1024 < need {
		return fail(ReasonNoSpace, "%s has %s free, deploy needs %s", st.dir, mib(st.availKB*1024), mib(need))
	}
	if upload {
		if err := h.upload(ctx, bin); err != nil {
			return fail(uploadReason(err), "upload %s: %s", bin.path, scrub(err.Error(), secrets))
		}
	}
	files := []remoteFile{{"conf/sys.properties", 0o600, cfg.SysProperties}}
	if cfg.CACert != nil {
		files = append(files, remoteFile{"conf/tls.crt", 0o644, cfg.CACert})
	}
	for _, f := range files {
		if err := h.writeFile(ctx, f); err != nil {
			return Result{Reason: uploadReason(err), Uploaded: upload,
				Detail: oneLine(fmt.Sprintf("write %s: %s", f.name, scrub(err.Error(), secrets)))}
		}
	}
	if _, err := h.stopWorker(ctx, cfg.StopTimeout); err != nil {
		return Result{Reason: ReasonStart, Uploaded: upload, Detail: oneLine("stop the previous worker: " + scrub(err.Error(), secrets))}
	}
	cred, err := cfg.Credential(ctx, t.id())
	if err != nil {
		return Result{Reason: ReasonCredential, Uploaded: upload, Detail: oneLine(scrub(err.Error(), secrets))}
	}
	secrets = append(secrets, cred.Reveal())
	h.secrets = secrets
	if err := h.writeFile(ctx, remoteFile{"conf/token", 0o600, []byte(cred.Reveal() + "\n")}); err != nil {
		return Result{Reason: uploadReason(err), Uploaded: upload,
			Detail: oneLine("write conf/token: " + scrub(err.Error(), secrets))}
	}
	pid, err := h.startWorker(ctx, cfg.MasterAddress, t.id(), cfg.CACert != nil)
	if err != nil {
		return Result{Reason: ReasonStart, Uploaded: upload, Detail: oneLine(scrub(err.Error()+h.logTail(ctx), secrets))}
	}
	r := Result{Uploaded: upload, PID: pid}
	if reason, detail := h.waitRegistered(ctx, cfg, t.id(), pid); reason != "" {
		r.Reason, r.Detail = reason, oneLine(scrub(detail, secrets))
		return r
	}
	r.OK = true
	r.Detail = fmt.Sprintf("worker %s pid %d, binary up to date", t.id(), pid)
	if upload {
		r.Detail = fmt.Sprintf("worker %s pid %d, uploaded %s", t.id(), pid, mib(bin.size))
	}
	return r
}

func stopOne(ctx context.Context, cfg Config, d *dialer, t Target) Result {
	h, res := d.connect(ctx, t)
	if h == nil {
		return res
	}
	defer h.close()
	if _, err := h.dirOf(ctx, cfg.WorkingDir); err != nil {
		return fail(ReasonStop, "%s", scrub(err.Error(), cfg.secrets()))
	}
	out, err := h.stopWorker(ctx, cfg.StopTimeout)
	if err != nil {
		return fail(ReasonStop, "%s", scrub(err.Error(), cfg.secrets()))
	}
	return Result{OK: true, Detail: out}
}

// waitRegistered waits for cfg.Registered while checking twice a second
// that the worker still runs. It returns "" when the worker registered.
func (h *session) waitRegistered(ctx context.Context, cfg Config, id string, pid int) (reason, detail string) {
	if cfg.Registered == nil {
		return "", ""
	}
	rctx, cancel := context.WithTimeout(ctx, cfg.RegisterTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cfg.Registered(rctx, id) }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err == nil {
				return "", ""
			}
			return ReasonNotRegistered, fmt.Sprintf("worker %s (pid %d) did not register with %s within %v (%v)%s",
				id, pid, cfg.MasterAddress, cfg.RegisterTimeout, err, h.logTail(ctx))
		case <-tick.C:
			if alive, err := h.alive(rctx, pid); err == nil && !alive {
				cancel()
				<-done
				return ReasonStart, fmt.Sprintf("worker %s (pid %d) exited before registering%s", id, pid, h.logTail(ctx))
			}
		}
	}
}

// spaceMargin is what deploy wants free beyond the binary: config files,
// logs, and some room for the worker.
const spaceMargin int64 = 16 << 20

// mib shows a size in MiB, or KiB below one MiB.
func mib(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

func fail(reason, format string, a ...any) Result {
	return Result{Reason: reason, Detail: oneLine(fmt.Sprintf(format, a...))}
}
