// Package zktest starts real ZooKeeper servers for tests: each one a
// standalone server run from the jars of Debian's zookeeper package with
// java, with its own data directory and a free port, stopped by its PID
// when the test ends. Tests that need one call Require first: it skips
// them (or, under CI=true, fails them) when java or the jars are missing.
package zktest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ClasspathEnv, when set, is the Java classpath of the server (a
// zookeeper.jar whose manifest names its dependencies, or a list of jars);
// else the first of DefaultClasspaths that exists.
const ClasspathEnv = "FERRY_ZK_CLASSPATH"

// DefaultClasspaths are where Debian's zookeeper package puts the server's
// jar (its manifest's Class-Path names the dependencies in /usr/share/java).
var DefaultClasspaths = []string{"/usr/share/java/zookeeper.jar", "/usr/share/zookeeper/zookeeper.jar"}

const install = "apt-get install -y zookeeper (ZooKeeper 3.8 and a Java runtime)"

var probe struct {
	once sync.Once
	cp   string
	err  error
}

// Require skips t (or, under CI=true, fails it) unless java and the
// ZooKeeper server's jars are installed.
func Require(t testing.TB) {
	t.Helper()
	probe.once.Do(func() { probe.cp, probe.err = classpath() })
	if probe.err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("zktest: %v; CI must run these tests: %s", probe.err, install)
	}
	t.Skipf("zktest: %v; to run them: %s", probe.err, install)
}

func classpath() (string, error) {
	if _, err := exec.LookPath("java"); err != nil {
		return "", fmt.Errorf("no java on PATH: %v", err)
	}
	if cp := os.Getenv(ClasspathEnv); cp != "" {
		return cp, nil
	}
	for _, p := range DefaultClasspaths {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no ZooKeeper server jar in %s (set %s)", strings.Join(DefaultClasspaths, ", "), ClasspathEnv)
}

// Options tune a server. The zero value is a server for quick tests.
type Options struct {
	// TickMs is ZooKeeper's tickTime (default 200 ms); sessions may last
	// from 2 to 20 ticks.
	TickMs int
	// Sync makes the server fsync its transaction log (forceSync=yes);
	// by default it does not, as tests need no durability.
	Sync bool
	// Host is the address the server listens on (default 127.0.0.1);
	// "0.0.0.0" for clients in other network namespaces.
	Host string
	// Heap is the JVM's -Xmx (default "512m").
	Heap string
	// Dir is the server's directory (default a new one under t.TempDir()).
	Dir string
	// Port is the client port (default a free one).
	Port int
}

// Server is one running ZooKeeper server.
type Server struct {
	Addr string // host:port clients connect to (Host:PORT; 127.0.0.1:PORT for a wildcard Host)
	Port int
	Dir  string // holds zoo.cfg, data/ and server.log

	t    testing.TB
	opt  Options
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a server and waits until it answers; it is stopped when the
// test ends.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	Require(t)
	if opt.TickMs == 0 {
		opt.TickMs = 200
	}
	if opt.Host == "" {
		opt.Host = "127.0.0.1"
	}
	if opt.Heap == "" {
		opt.Heap = "512m"
	}
	if opt.Dir == "" {
		opt.Dir = t.TempDir()
	}
	if opt.Port == 0 {
		opt.Port = FreePort(t)
	}
	connect := opt.Host
	if connect == "0.0.0.0" || connect == "::" {
		connect = "127.0.0.1"
	}
	s := &Server{t: t, opt: opt, Port: opt.Port, Dir: opt.Dir, Addr: net.JoinHostPort(connect, strconv.Itoa(opt.Port))}
	if err := s.writeConfig(); err != nil {
		t.Fatal(err)
	}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) writeConfig() error {
	if err := os.MkdirAll(filepath.Join(s.Dir, "data"), 0o755); err != nil {
		return err
	}
	sync := "no"
	if s.opt.Sync {
		sync = "yes"
	}
	cfg := fmt.Sprintf(`tickTime=%d
dataDir=%s
clientPort=%d
clientPortAddress=%s
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
forceSync=%s
autopurge.purgeInterval=0
`, s.opt.TickMs, filepath.Join(s.Dir, "data"), s.opt.Port, s.opt.Host, sync)
	return os.WriteFile(filepath.Join(s.Dir, "zoo.cfg"), []byte(cfg), 0o644)
}

// start runs the JVM and waits for "imok".
func (s *Server) start() error {
	log, err := os.OpenFile(filepath.Join(s.Dir, "server.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command("java", "-Xmx"+s.opt.Heap, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.jute.maxbuffer=4194304",
		"-cp", probe.cp, "org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(s.Dir, "zoo.cfg"))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("zktest: start java: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("zktest: server exited at start; %s", s.logTail())
		default:
		}
		if out, err := FourLetter(s.Addr, "ruok"); err == nil && out == "imok" {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.kill(syscall.SIGKILL)
	return fmt.Errorf("zktest: server on %s did not answer within 60s; %s", s.Addr, s.logTail())
}

// PID is the server's process ID (0 when stopped).
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stop stops the server (SIGKILL to its PID) and waits for it to exit.
// Its data stays; Restart starts it again.
func (s *Server) Stop() { s.kill(syscall.SIGKILL) }

func (s *Server) kill(sig syscall.Signal) {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.t.Errorf("zktest: server pid %d did not exit", cmd.Process.Pid)
	}
}

// Restart starts a stopped server again on the same port and data.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatal(err)
	}
}

// Pause stops the server's process (SIGSTOP) without closing its
// connections: its clients time out and their sessions expire. Resume
// continues it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server.
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.cmd.Process.Signal(sig)
	}
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "server.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "server.log ends:\n" + strings.Join(lines, "\n")
}

// Stats returns the server's "mntr" figures (zk_znode_count,
// zk_outstanding_requests, ...), by name.
func (s *Server) Stats() (map[string]string, error) {
	out, err := FourLetter(s.Addr, "mntr")
	if err != nil {
		return nil, err
	}
	m := make(map[string]string)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "\t"); ok {
			m[k] = v
		}
	}
	return m, nil
}

// FourLetter sends one of ZooKeeper's four-letter commands to addr and
// returns the answer.
func FourLetter(addr, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd)); err != nil {
		return "", err
	}
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		b.Write(buf[:n])
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return b.String(), err
		}
		if err != nil {
			return b.String(), nil
		}
	}
}

// FreePort returns a TCP port free on this host now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
