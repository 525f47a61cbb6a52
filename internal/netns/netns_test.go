package netns

import (
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestSHA512Crypt(t *testing.T) {
	// The first vector is from the SHA-crypt specification, the others
	// from `openssl passwd -6 -salt SALT -stdin`.
	for _, tc := range []struct{ pw, salt, want string }{
		{"Hello world!", "saltstring", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"we have a short salt string but not a short password", "short", "$6$short$qmfj2meTBr5G2EAGIJ4vjX7RpefsD4JzpEyTAeEUJdzdxlBS6pe8gdMHm5zFftaFSj/2p2bjBwyVS9ZhWpLZt."},
		{"a short string", "asaltof16chars..gaaa", "$6$asaltof16chars..$7wIk/EteoJQGBfqJAOUMMifjJMKtc0g/q26LZ1LzIFeDWeRqAWXowoRgGvReDapVsNtCUqmTLhtUyVznQej6P0"},
	} {
		if got := sha512Crypt(tc.pw, tc.salt); got != tc.want {
			t.Errorf("sha512Crypt(%q, %q) = %s, want %s", tc.pw, tc.salt, got, tc.want)
		}
	}
}

func TestEditRoot(t *testing.T) {
	f := t.TempDir() + "/passwd"
	os.WriteFile(f, []byte("daemon:x:1:1::/usr/sbin:/bin/false\nroot:x:0:0:root:/root:/bin/bash\n"), 0o644)
	b, err := editRoot(f, 5, "/tmp/h0")
	if err != nil {
		t.Fatal(err)
	}
	if want := "daemon:x:1:1::/usr/sbin:/bin/false\nroot:x:0:0:root:/tmp/h0:/bin/bash\n"; string(b) != want {
		t.Errorf("got %q, want %q", b, want)
	}
}

// TestCluster starts three hosts, logs in to each with the client key and
// with its password, and takes one link down and up again.
func TestCluster(t *testing.T) {
	Require(t)
	start := time.Now()
	sysRoot := shadowRoot(t)
	c := NewCluster(t, 3)
	t.Logf("3 hosts up in %v", time.Since(start).Round(time.Millisecond))
	if c.Len() != 3 {
		t.Fatalf("Len = %d", c.Len())
	}
	key, err := os.ReadFile(c.ClientKeyFile())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h := c.Host(i)
		if !reachable(h.Addr) {
			t.Fatalf("%s (%s) not reachable", h.Name, h.Addr)
		}
		pk, _, _, _, err := ssh.ParseAuthorizedKey([]byte(strings.SplitN(h.KnownHosts, " ", 2)[1]))
		if err != nil {
			t.Fatalf("known_hosts line %q: %v", h.KnownHosts, err)
		}
		for _, auth := range []ssh.AuthMethod{ssh.PublicKeys(signer), ssh.Password(h.Password)} {
			out := run(t, h.Addr, pk, auth, "pwd; cat /proc/self/net/dev | grep -c eth0")
			if want := h.Home + "\n1\n"; out != want {
				t.Errorf("%s: got %q, want %q (home, one eth0)", h.Name, out, want)
			}
		}
		out, err := c.Exec(i, "ip", "-4", "-o", "addr", "show", "dev", "eth0")
		if err != nil || !strings.Contains(out, h.Addr+"/24") {
			t.Errorf("Exec in %s: %q, %v", h.NS, out, err)
		}
	}
	if _, err := exec.Command("ping", "-c1", "-W1", c.BridgeAddr()).Output(); err == nil {
		t.Logf("bridge %s answers ping", c.BridgeAddr())
	}
	if out, err := c.Exec(0, "cat", "/etc/shadow"); err != nil || !strings.Contains(out, "\nroot:$6$") && !strings.HasPrefix(out, "root:$6$") {
		t.Errorf("host0's /etc/shadow has no password for root (err %v)", err)
	}
	if after := shadowRoot(t); after != sysRoot {
		t.Errorf("the system's root entry in /etc/shadow changed")
	}

	c.LinkDown(1)
	if reachable(c.Host(1).Addr) {
		t.Error("host1 reachable with its link down")
	}
	if !reachable(c.Host(0).Addr) || !reachable(c.Host(2).Addr) {
		t.Error("other hosts unreachable while host1's link is down")
	}
	c.LinkUp(1)
	deadline := time.Now().Add(5 * time.Second)
	for !reachable(c.Host(1).Addr) {
		if time.Now().After(deadline) {
			t.Fatal("host1 still unreachable 5s after LinkUp")
		}
		time.Sleep(50 * time.Millisecond)
	}

	ns := c.Host(0).NS
	c.Close()
	if _, err := os.Stat("/run/netns/" + ns); !os.IsNotExist(err) {
		t.Errorf("namespace %s still exists after Close (%v)", ns, err)
	}
	if _, err := os.Stat("/etc/netns/" + ns); !os.IsNotExist(err) {
		t.Errorf("/etc/netns/%s still exists after Close", ns)
	}
	if _, err := net.InterfaceByName(c.id); err == nil {
		t.Errorf("bridge %s still exists after Close", c.id)
	}
}

func reachable(addr string) bool {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(addr, "22"), time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func run(t *testing.T, addr string, hostKey ssh.PublicKey, auth ssh.AuthMethod, cmd string) string {
	t.Helper()
	cl, err := ssh.Dial("tcp", net.JoinHostPort(addr, "22"), &ssh.ClientConfig{User: "root",
		Auth: []ssh.AuthMethod{auth}, HostKeyCallback: ssh.FixedHostKey(hostKey), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("ssh %s: %v", addr, err)
	}
	defer cl.Close()
	s, err := cl.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Output(cmd)
	if err != nil {
		t.Fatalf("ssh %s %q: %v", addr, cmd, err)
	}
	return string(out)
}

// shadowRoot returns root's line of the system's /etc/shadow.
func shadowRoot(t *testing.T) string {
	b, err := os.ReadFile("/etc/shadow")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "root:") {
			return l
		}
	}
	return ""
}
