package netns

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sshdConfig is each host's sshd_config. Keys and passwords only; no PAM, so
// sshd reads the namespace's view of /etc/passwd and /etc/shadow.
const sshdConfig = `ListenAddress %s:%d
PidFile %s
AuthorizedKeysFile %s
PermitRootLogin yes
PubkeyAuthentication yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
MaxSessions 50
LogLevel VERBOSE
`

// writeClientKey makes the ed25519 key every host authorizes.
func (c *Cluster) writeClientKey() error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "ferry-netns-client")
	if err != nil {
		return err
	}
	c.clientKey = filepath.Join(c.dir, "client_key")
	if err := os.WriteFile(c.clientKey, pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	return os.WriteFile(c.clientKey+".pub", ssh.MarshalAuthorizedKey(sp), 0o644)
}

// startSSHD writes host i's keys, config and /etc/netns files and starts
// its sshd in the namespace.
func (c *Cluster) startSSHD(h *host, i int) error {
	dir := filepath.Join(c.dir, fmt.Sprintf("sshd%d", i))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, h.info.Name)
	if err != nil {
		return err
	}
	hostKey := filepath.Join(dir, "host_key")
	if err := os.WriteFile(hostKey, pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return err
	}
	h.info.HostKey = signer.PublicKey()
	h.info.KnownHosts = knownhosts.Line([]string{knownhosts.Normalize(net.JoinHostPort(h.info.Addr, fmt.Sprint(h.info.Port)))}, h.info.HostKey)

	pub, err := os.ReadFile(c.clientKey + ".pub")
	if err != nil {
		return err
	}
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, pub, 0o600); err != nil {
		return err
	}
	conf := filepath.Join(dir, "sshd_config")
	text := fmt.Sprintf(sshdConfig, h.info.Addr, h.info.Port, filepath.Join(dir, "sshd.pid"), auth)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return err
	}
	if err := writeEtc(h.info.NS, h.info.Home, h.info.Password); err != nil {
		return err
	}
	// sshd's privilege separation directory; the system's sshd makes it too.
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return err
	}
	h.log = filepath.Join(dir, "sshd.log")
	h.sshd = exec.Command("ip", "netns", "exec", h.info.NS, SSHD, "-D", "-f", conf, "-h", hostKey, "-E", h.log)
	return h.sshd.Start()
}

// writeEtc writes /etc/netns/<ns>/passwd and shadow: the system's files with
// root's home set to home and root's password set to password.
func writeEtc(ns, home, password string) error {
	dir := filepath.Join("/etc/netns", ns)
	var err error
	for range 3 { // another cluster's teardown may remove an empty /etc/netns meanwhile
		if err = os.MkdirAll(dir, 0o755); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	passwd, err := editRoot("/etc/passwd", 5, home)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), passwd, 0o644); err != nil {
		return err
	}
	shadow, err := editRoot("/etc/shadow", 1, sha512Crypt(password, randSalt()))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "shadow"), shadow, 0o600)
}

// editRoot returns the colon-separated file at path with field n of root's
// line replaced by value.
func editRoot(path string, n int, value string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	found := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Split(line, ":"); f[0] == "root" && len(f) > n {
			f[n] = value
			line = strings.Join(f, ":")
			found = true
		}
		out.WriteString(line + "\n")
	}
	if !found {
		return nil, fmt.Errorf("%s has no line for root", path)
	}
	return out.Bytes(), sc.Err()
}

// waitSSHD waits until h's sshd sends its banner to the root namespace.
func (c *Cluster) waitSSHD(h *host) error {
	addr := net.JoinHostPort(h.info.Addr, fmt.Sprint(h.info.Port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.SetDeadline(time.Now().Add(2 * time.Second))
			banner := make([]byte, 4)
			_, err = conn.Read(banner)
			conn.Close()
			if err == nil && string(banner) == "SSH-" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(h.log)
			return fmt.Errorf("sshd did not answer on %s within 10s (%v); its log: %s", addr, err, strings.TrimSpace(string(log)))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
