// Package netns builds a cluster of "hosts" on this one machine for tests:
// Linux network namespaces joined by a bridge, each running its own OpenSSH
// sshd with a generated host key. Deploy tests and the end-to-end cluster
// tests use it to ship ferry to several hosts over real SSH, take links down
// and bring them back, hold them to a rate (Shape, with tc), without
// touching any network but the private /24 on a bridge the test creates and
// removes.
//
// It needs root, iproute2's ip (and tc, for Shape) and /usr/sbin/sshd.
// Require skips a test when they are missing, except under CI=true, where
// it fails.
//
// Layout. The bridge fb<id> in the root namespace has 10.X.Y.1/24 (X and Y
// random, chosen not to overlap any address of this machine); host i is the
// namespace fb<id>-<i> with eth0 at 10.X.Y.(10+i), reached from the bridge
// through the veth fb<id>v<i>. Namespaces share the root file system, and
// each host has its own home directory under the test's temporary directory.
//
// Users and passwords. The system's accounts are never changed. Every
// process started in a namespace through `ip netns exec` sees the files of
// /etc/netns/<namespace>/ bind-mounted over /etc (iproute2's convention), so
// the cluster writes there a copy of /etc/passwd in which root's home is the
// host's home directory, and a copy of /etc/shadow in which root has a random
// password of its own (HostInfo.Password). sshd (UsePAM no) reads those, so
// root can log in to each host with the cluster's client key or with that
// host's password, and a relative path on the host is relative to its home.
//
// Cleanup. Close (registered with t.Cleanup) kills every process in the
// namespaces (sshd and whatever was started through it, such as deployed
// workers), deletes the namespaces, veths, bridge and /etc/netns entries.
// A run that crashed before cleaning up leaves a note in
// $TMPDIR/ferry-netns/ naming its process; the next NewCluster removes the
// leftovers of every noted process that is no longer alive.
package netns

import (
	"crypto/rand"
	"encoding/hex"
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

	"golang.org/x/crypto/ssh"
)

// SSHD is the OpenSSH server every host runs.
const SSHD = "/usr/sbin/sshd"

// HostInfo describes one host of a Cluster.
type HostInfo struct {
	Name       string        // "host0", "host1", ...
	NS         string        // network namespace
	Addr       string        // IPv4 address on the bridge
	Port       int           // sshd's port (22)
	User       string        // "root"
	Password   string        // root's password on this host only
	Home       string        // root's home directory on this host
	HostKey    ssh.PublicKey // sshd's host key
	KnownHosts string        // known_hosts line for this host
}

// Cluster is a set of hosts made by NewCluster.
type Cluster struct {
	t          testing.TB
	id         string // "fb" + 6 hex digits: bridge name, namespace prefix
	net        string // "10.X.Y."
	dir        string
	hosts      []*host
	clientKey  string
	knownHosts string
	closeOnce  sync.Once
}

type host struct {
	info HostInfo
	veth string // root side
	sshd *exec.Cmd
	log  string
}

var probe struct {
	once sync.Once
	err  error
}

// Require skips (or under CI=true fails) t unless this process can build a
// Cluster: it runs as root, has ip and /usr/sbin/sshd, and may create a
// network namespace.
func Require(t testing.TB) {
	t.Helper()
	probe.once.Do(func() { probe.err = canBuild() })
	if probe.err == nil {
		return
	}
	const install = "apt-get install -y iproute2 openssh-server openssh-client, and run the tests as root"
	if os.Getenv("CI") == "true" {
		t.Fatalf("netns: %v; CI must run these tests: %s", probe.err, install)
	}
	t.Skipf("netns: %v; to run it: %s", probe.err, install)
}

func canBuild() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root (running as uid %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("needs ip (iproute2): %v", err)
	}
	if _, err := os.Stat(SSHD); err != nil {
		return fmt.Errorf("needs %s (openssh-server): %v", SSHD, err)
	}
	name := fmt.Sprintf("fbprobe%d", os.Getpid())
	if err := ipCmd("netns", "add", name); err != nil {
		return fmt.Errorf("cannot create a network namespace: %v", err)
	}
	return ipCmd("netns", "del", name)
}

// NewCluster starts n hosts (1 to 240) and removes them when t ends.
func NewCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	Require(t)
	if n < 1 || n > 240 {
		t.Fatalf("netns: NewCluster(%d): want 1 to 240 hosts", n)
	}
	removeStale()
	c := &Cluster{t: t, id: "fb" + randHex(3), dir: t.TempDir()}
	if err := os.MkdirAll(registryDir, 0o755); err == nil {
		os.WriteFile(filepath.Join(registryDir, c.id), []byte(strconv.Itoa(os.Getpid())), 0o644)
	}
	t.Cleanup(c.Close)
	var err error
	if c.net, err = freeSubnet(); err != nil {
		t.Fatalf("netns: %v", err)
	}
	c.must("ip", "link", "add", c.id, "type", "bridge")
	c.must("ip", "addr", "add", c.net+"1/24", "dev", c.id)
	c.must("ip", "link", "set", c.id, "up")
	if err := c.writeClientKey(); err != nil {
		t.Fatalf("netns: client key: %v", err)
	}
	var known []string
	for i := range n {
		h, err := c.addHost(i)
		if err != nil {
			t.Fatalf("netns: host %d: %v", i, err)
		}
		c.hosts = append(c.hosts, h)
		known = append(known, h.info.KnownHosts)
	}
	c.knownHosts = filepath.Join(c.dir, "known_hosts")
	if err := os.WriteFile(c.knownHosts, []byte(strings.Join(known, "\n")+"\n"), 0o644); err != nil {
		t.Fatalf("netns: %v", err)
	}
	for _, h := range c.hosts {
		if err := c.waitSSHD(h); err != nil {
			t.Fatalf("netns: %s: %v", h.info.Name, err)
		}
	}
	return c
}

// addHost makes namespace i, its link and its sshd.
func (c *Cluster) addHost(i int) (*host, error) {
	ns := fmt.Sprintf("%s-%d", c.id, i)
	h := &host{veth: fmt.Sprintf("%sv%d", c.id, i)}
	peer := fmt.Sprintf("%sp%d", c.id, i)
	h.info = HostInfo{Name: fmt.Sprintf("host%d", i), NS: ns, Addr: fmt.Sprintf("%s%d", c.net, 10+i),
		Port: 22, User: "root", Password: randHex(12), Home: filepath.Join(c.dir, fmt.Sprintf("home%d", i))}
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"link", "add", h.veth, "type", "veth", "peer", "name", peer},
		{"link", "set", peer, "netns", ns},
		{"-n", ns, "link", "set", peer, "name", "eth0"},
		{"-n", ns, "addr", "add", h.info.Addr + "/24", "dev", "eth0"},
		{"-n", ns, "link", "set", "eth0", "up"},
		{"-n", ns, "link", "set", "lo", "up"},
		{"link", "set", h.veth, "master", c.id},
		{"link", "set", h.veth, "up"},
	} {
		if err := ipCmd(args...); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(h.info.Home, 0o755); err != nil {
		return nil, err
	}
	if err := c.startSSHD(h, i); err != nil {
		return nil, err
	}
	return h, nil
}

// Host returns the description of host i.
func (c *Cluster) Host(i int) HostInfo { return c.hosts[i].info }

// Len is the number of hosts.
func (c *Cluster) Len() int { return len(c.hosts) }

// ClientKeyFile is the private key (OpenSSH format, mode 0600) that every
// host's root accepts.
func (c *Cluster) ClientKeyFile() string { return c.clientKey }

// KnownHostsFile is a known_hosts file listing every host's key.
func (c *Cluster) KnownHostsFile() string { return c.knownHosts }

// BridgeAddr is the root namespace's address on the bridge: a process of the
// root namespace listening on it (or on 0.0.0.0) is reachable from every host.
func (c *Cluster) BridgeAddr() string { return c.net + "1" }

// Dir is the cluster's temporary directory (hosts' homes, keys, sshd logs).
func (c *Cluster) Dir() string { return c.dir }

// SSHDLog returns what host i's sshd has logged so far.
func (c *Cluster) SSHDLog(i int) string {
	b, _ := os.ReadFile(c.hosts[i].log)
	return string(b)
}

// LinkDown cuts host i off: its veth on the bridge goes down.
func (c *Cluster) LinkDown(i int) {
	c.t.Helper()
	c.must("ip", "link", "set", c.hosts[i].veth, "down")
}

// LinkUp reconnects host i.
func (c *Cluster) LinkUp(i int) {
	c.t.Helper()
	c.must("ip", "link", "set", c.hosts[i].veth, "up")
}

// Exec runs a command inside host i's namespace (with its /etc/netns view)
// and returns its combined output.
func (c *Cluster) Exec(i int, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", c.hosts[i].info.NS}, args...)...).CombinedOutput()
	if err != nil {
		err = fmt.Errorf("in %s: %s: %v: %s", c.hosts[i].info.NS, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), err
}

// Close kills every process in the hosts and removes the namespaces, links,
// bridge and /etc/netns entries. NewCluster registers it with t.Cleanup; it
// may be called earlier, and more than once.
func (c *Cluster) Close() {
	c.closeOnce.Do(func() {
		teardown(c.id)
		for _, h := range c.hosts {
			if h.sshd != nil {
				h.sshd.Process.Kill()
				h.sshd.Wait()
			}
		}
	})
}

func (c *Cluster) must(name string, args ...string) {
	c.t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("netns: %s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
}

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// freeSubnet picks 10.X.Y.0/24 overlapping no address of this machine.
func freeSubnet() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	for range 100 {
		b := make([]byte, 2)
		rand.Read(b)
		_, sub, _ := net.ParseCIDR(fmt.Sprintf("10.%d.%d.0/24", 100+int(b[0])%150, b[1]))
		free := true
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && (ipn.Contains(sub.IP) || sub.Contains(ipn.IP)) {
				free = false
			}
		}
		if free {
			return strings.TrimSuffix(sub.IP.String(), "0"), nil
		}
	}
	return "", fmt.Errorf("no free 10.X.Y.0/24 subnet")
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// registryDir holds one file per live cluster: name = cluster id, content =
// the pid of the process that made it.
var registryDir = filepath.Join(os.TempDir(), "ferry-netns")

// removeStale tears down the clusters of processes that died without
// cleaning up.
func removeStale() {
	ents, _ := os.ReadDir(registryDir)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(registryDir, e.Name()))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		teardown(e.Name())
	}
}

func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}

// teardown removes everything of cluster id; errors are ignored, as parts
// may never have been made.
func teardown(id string) {
	if !strings.HasPrefix(id, "fb") || strings.ContainsAny(id, "/. ") {
		return
	}
	nss, _ := filepath.Glob("/run/netns/" + id + "-*")
	for _, p := range nss {
		ns := filepath.Base(p)
		for range 3 {
			out, _ := exec.Command("ip", "netns", "pids", ns).Output()
			pids := strings.Fields(string(out))
			if len(pids) == 0 {
				break
			}
			for _, s := range pids {
				if pid, err := strconv.Atoi(s); err == nil && pid > 1 {
					if p, err := os.FindProcess(pid); err == nil {
						p.Kill()
					}
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		exec.Command("ip", "netns", "del", ns).Run()
		os.RemoveAll(filepath.Join("/etc/netns", ns))
	}
	os.Remove("/etc/netns") // only when empty
	links, _ := net.Interfaces()
	for _, l := range links {
		if strings.HasPrefix(l.Name, id+"v") || l.Name == id {
			exec.Command("ip", "link", "del", l.Name).Run()
		}
	}
	os.Remove(filepath.Join(registryDir, id))
}
