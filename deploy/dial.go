package deploy

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// dialer opens SSH connections with one Config's credentials and host key
// policy. It is shared by the goroutines of one Deploy or Stop.
type dialer struct {
	user       string
	port       int
	timeout    time.Duration
	signers    []ssh.Signer
	keyNames   []string // files the signers came from, for messages
	password   string
	knownHosts string
	hostKeys   ssh.HostKeyCallback // nil: InsecureIgnoreHostKey
	probe      ssh.PublicKey       // a key no host has, to list known key types
}

// newDialer loads the credentials and the known_hosts file.
func (c Config) newDialer() (*dialer, error) {
	d := &dialer{user: c.User, port: c.Port, timeout: c.ConnectTimeout, password: c.Password.Reveal()}
	if d.user == "" {
		d.user = "root"
		if u, err := user.Current(); err == nil {
			d.user = u.Username
		}
	}
	home, _ := os.UserHomeDir()
	if c.PrivateKeyFile != "" {
		s, err := loadKey(c.PrivateKeyFile, d.password)
		if err != nil {
			return nil, fmt.Errorf("privateKeyFile %s: %v", c.PrivateKeyFile, err)
		}
		d.signers, d.keyNames = []ssh.Signer{s}, []string{c.PrivateKeyFile}
	} else if d.password == "" && home != "" {
		// Like ssh: the user's default keys, when nothing else is set.
		for _, name := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			p := filepath.Join(home, ".ssh", name)
			if s, err := loadKey(p, ""); err == nil {
				d.signers, d.keyNames = append(d.signers, s), append(d.keyNames, p)
			}
		}
	}
	if len(d.signers) == 0 && d.password == "" {
		return nil, errors.New("no SSH credentials: set privateKeyFile or workerPassword in sys.properties (and no unencrypted ~/.ssh/id_ed25519, id_ecdsa or id_rsa was found)")
	}
	if c.InsecureIgnoreHostKey {
		return d, nil
	}
	d.knownHosts = c.KnownHostsFile
	if d.knownHosts == "" {
		d.knownHosts = filepath.Join(home, ".ssh", "known_hosts")
	}
	var err error
	if _, serr := os.Stat(d.knownHosts); errors.Is(serr, fs.ErrNotExist) {
		d.hostKeys, err = knownhosts.New() // no host is known yet
	} else {
		d.hostKeys, err = knownhosts.New(d.knownHosts)
	}
	if err != nil {
		return nil, fmt.Errorf("knownHostsFile %s: %v", d.knownHosts, err)
	}
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	d.probe, err = ssh.NewPublicKey(pub)
	return d, err
}

// loadKey reads a private key; passphrase opens an encrypted one.
func loadKey(path, passphrase string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == "" {
			return nil, errors.New("the key is encrypted: set workerPassword to its passphrase, or use a key without one")
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(b, []byte(passphrase))
	}
	return s, err
}

// auth returns fresh auth methods: keys first, then the password, also
// given to keyboard-interactive prompts.
func (d *dialer) auth() []ssh.AuthMethod {
	var m []ssh.AuthMethod
	if len(d.signers) > 0 {
		m = append(m, ssh.PublicKeys(d.signers...))
	}
	if d.password != "" {
		pw, rounds := d.password, 0
		m = append(m, ssh.Password(pw), ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
			if len(qs) == 0 {
				return nil, nil
			}
			if rounds++; rounds > 3 {
				return nil, errors.New("too many keyboard-interactive prompts")
			}
			ans := make([]string, len(qs))
			for i := range ans {
				ans[i] = pw
			}
			return ans, nil
		}))
	}
	return m
}

// methods names the credentials tried, for "auth failed" details.
func (d *dialer) methods() string {
	var m []string
	for _, k := range d.keyNames {
		m = append(m, "key "+k)
	}
	if d.password != "" {
		m = append(m, "password")
	}
	return strings.Join(m, ", ")
}

// keyCheck remembers what happened in the host key callback, so that a
// failed handshake can be explained.
type keyCheck struct {
	cb  ssh.HostKeyCallback
	key ssh.PublicKey
	err error
}

func (k *keyCheck) check(host string, remote net.Addr, key ssh.PublicKey) error {
	k.key = key
	if k.cb == nil {
		return nil
	}
	k.err = k.cb(host, remote, key)
	return k.err
}

// connect opens an SSH connection to t. On failure it returns nil and the
// Result saying why.
func (d *dialer) connect(ctx context.Context, t Target) (*session, Result) {
	user, port := t.User, t.Port
	if user == "" {
		user = d.user
	}
	if port == 0 {
		port = d.port
	}
	addr := net.JoinHostPort(t.Addr, strconv.Itoa(port))
	nd := net.Dialer{Timeout: d.timeout}
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fail(ReasonUnreachable, "connect to %s: %s", addr, netError(err))
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(d.timeout))
	kc := &keyCheck{cb: d.hostKeys}
	cc := &ssh.ClientConfig{User: user, Auth: d.auth(), HostKeyCallback: kc.check,
		HostKeyAlgorithms: d.algorithms(addr, conn.RemoteAddr()), Timeout: d.timeout}
	c, chans, reqs, err := ssh.NewClientConn(conn, addr, cc)
	stop()
	if err != nil {
		conn.Close()
		return nil, d.explain(err, kc, t.Addr, port, user)
	}
	conn.SetDeadline(time.Time{})
	cl := ssh.NewClient(c, chans, reqs)
	return &session{client: cl, stop: context.AfterFunc(ctx, func() { cl.Close() })}, Result{}
}

// algorithms limits the host key algorithms to the types known_hosts holds
// for addr, so that a server offering several keys shows the one we know
// (as ssh does). Nil: any.
func (d *dialer) algorithms(addr string, remote net.Addr) []string {
	if d.hostKeys == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(d.hostKeys(addr, remote, d.probe), &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		names := []string{w.Key.Type()}
		if names[0] == ssh.KeyAlgoRSA {
			names = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	return algos
}

// explain turns a failed handshake into a Result.
func (d *dialer) explain(err error, kc *keyCheck, host string, port int, user string) Result {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	entry := knownhosts.Normalize(addr)
	keyscan := fmt.Sprintf("ssh-keyscan -p %d %s >> %s", port, shellQuote(host), shellQuote(d.knownHosts))
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(kc.err, &ke) && len(ke.Want) == 0:
		return fail(ReasonHostKeyUnknown, "%s is not in %s; it offers the %s key %s: if that is the host's key, accept it with: %s",
			addr, d.knownHosts, kc.key.Type(), ssh.FingerprintSHA256(kc.key), keyscan)
	case errors.As(kc.err, &ke):
		w := ke.Want[0]
		return fail(ReasonHostKeyChanged, "%s offers the %s key %s, but %s:%d has the %s key %s for it; if the host was reinstalled, remove the old entry with: ssh-keygen -R %s -f %s, then: %s",
			addr, kc.key.Type(), ssh.FingerprintSHA256(kc.key), w.Filename, w.Line, w.Key.Type(), ssh.FingerprintSHA256(w.Key),
			shellQuote(entry), shellQuote(d.knownHosts), keyscan)
	case errors.As(kc.err, &re):
		return fail(ReasonHostKeyChanged, "%s offers the key %s, revoked in %s:%d", addr, ssh.FingerprintSHA256(kc.key), re.Revoked.Filename, re.Revoked.Line)
	case kc.err != nil:
		return fail(ReasonHostKeyChanged, "%s: %v", addr, kc.err)
	case strings.Contains(err.Error(), "no common algorithm for host key"):
		return fail(ReasonHostKeyChanged, "%s offers no key of the types %s lists for it (%v); if the host was reinstalled: ssh-keygen -R %s -f %s, then: %s",
			addr, d.knownHosts, err, shellQuote(entry), shellQuote(d.knownHosts), keyscan)
	case strings.Contains(err.Error(), "unable to authenticate"):
		return fail(ReasonAuth, "%s refused user %s with %s", addr, user, d.methods())
	}
	return fail(ReasonUnreachable, "ssh handshake with %s: %s", addr, netError(err))
}

// netError shortens a network error: "dial tcp 10.0.0.1:22: i/o timeout"
// becomes "i/o timeout".
func netError(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		if oe.Timeout() {
			return "timed out"
		}
		return oe.Err.Error()
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}
