package deploy

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"ferry/conf"
	"ferry/internal/netns"
)

// TestDeployRedeployStop deploys to a host over real SSH, deploys again
// (nothing uploaded, worker restarted), deploys a changed binary (uploaded),
// then stops the worker. Each deploy writes a fresh credential of the
// host's own, issued once the previous worker has stopped; a deploy that
// gets no credential says so and starts no worker.
func TestDeployRedeployStop(t *testing.T) {
	c := netns.NewCluster(t, 1)
	h := c.Host(0)
	reg := t.TempDir()
	cfg, iss := keyConfig(t, c, fakeFerry(t, reg, "1", ""), reg)
	cfg.CACert = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	ctx := context.Background()
	wd := workDir(h)

	start := time.Now()
	r := Deploy(ctx, cfg, []Target{target(h)})[0]
	t.Logf("first deploy: %v in %v", r, time.Since(start).Round(time.Millisecond))
	if !r.OK || !r.Uploaded || r.PID == 0 || r.Host != h.Addr || r.ID != h.Addr {
		t.Fatalf("first deploy: %+v", r)
	}
	out := fakeOut(t, h)
	wantArgs := "--home " + wd + " --sys " + wd + "/conf/sys.properties worker --master " + cfg.MasterAddress +
		" --token-file " + wd + "/conf/token --id " + h.Addr + " --cert-file " + wd + "/conf/tls.crt"
	if out["args"] != wantArgs {
		t.Errorf("worker argv:\n got %s\nwant %s", out["args"], wantArgs)
	}
	if out["tokenmode"] != "600" || out["sysmode"] != "600" {
		t.Errorf("token file mode %s, sys.properties mode %s; want 600", out["tokenmode"], out["sysmode"])
	}
	if b, _ := os.ReadFile(filepath.Join(wd, "conf/token")); iss.last(h.Addr) == "" || string(b) != iss.last(h.Addr)+"\n" {
		t.Errorf("remote token file holds %q, want the credential issued to %s", b, h.Addr)
	}
	if b, _ := os.ReadFile(filepath.Join(wd, "conf/sys.properties")); string(b) != string(cfg.SysProperties) {
		t.Errorf("remote sys.properties holds %q", b)
	}
	if fi, err := os.Stat(filepath.Join(wd, "conf/tls.crt")); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("conf/tls.crt: %v %v; want mode 0644", fi.Mode(), err)
	}
	bin, _ := hashFile(cfg.Binary)
	if b, _ := os.ReadFile(filepath.Join(wd, "bin/ferry.sha256")); strings.TrimSpace(string(b)) != bin.sum {
		t.Errorf("bin/ferry.sha256 holds %q, want %s", b, bin.sum)
	}
	if fi, err := os.Stat(filepath.Join(wd, "bin/ferry")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("bin/ferry: %v %v", fi.Mode(), err)
	}

	first := iss.last(h.Addr)
	var oldAlive bool
	iss.before = func(string) { oldAlive = running(r.PID) }
	start = time.Now()
	r2 := Deploy(ctx, cfg, []Target{target(h)})[0]
	t.Logf("same binary again: %v in %v", r2, time.Since(start).Round(time.Millisecond))
	if !r2.OK || r2.Uploaded || r2.PID == r.PID {
		t.Fatalf("second deploy (same binary): %+v; want OK, not uploaded, a new pid", r2)
	}
	waitGone(t, r.PID)
	if b, _ := os.ReadFile(filepath.Join(wd, "logs/worker.out.1")); !strings.Contains(string(b), "got TERM") {
		t.Errorf("the first worker was not stopped with SIGTERM; its output: %q", b)
	}
	if oldAlive {
		t.Error("the new credential was issued while the previous worker still ran (it could not leave with its own)")
	}
	if b, _ := os.ReadFile(filepath.Join(wd, "conf/token")); iss.last(h.Addr) == first || string(b) != iss.last(h.Addr)+"\n" {
		t.Errorf("after the second deploy conf/token holds %q; want a fresh credential (the first was %q)", b, first)
	}
	iss.before = nil

	cfg.Binary = fakeFerry(t, reg, "2", "")
	r3 := Deploy(ctx, cfg, []Target{target(h)})[0]
	if !r3.OK || !r3.Uploaded || r3.PID == r2.PID {
		t.Fatalf("third deploy (changed binary): %+v; want OK, uploaded, a new pid", r3)
	}
	waitGone(t, r2.PID)
	if b, _ := os.ReadFile(filepath.Join(wd, "bin/ferry")); !strings.Contains(string(b), "version 2") {
		t.Error("bin/ferry is not the changed binary")
	}

	iss.fail = errors.New("issue a credential: the master said no")
	r4 := Deploy(ctx, cfg, []Target{target(h)})[0]
	if r4.OK || r4.Reason != ReasonCredential || !strings.Contains(r4.Detail, "the master said no") || r4.PID != 0 {
		t.Errorf("deploy without a credential: %+v; want %q with the issuer's error and no worker", r4, ReasonCredential)
	}
	waitGone(t, r3.PID)
	if _, err := os.Stat(filepath.Join(wd, "worker.pid")); !os.IsNotExist(err) {
		t.Errorf("deploy without a credential left a worker.pid (%v)", err)
	}
	iss.fail = nil
	r3 = Deploy(ctx, cfg, []Target{target(h)})[0]
	if !r3.OK {
		t.Fatalf("deploy after the issuer is back: %+v", r3)
	}

	s := Stop(ctx, cfg, []Target{target(h)})[0]
	if !s.OK || !strings.Contains(s.Detail, "stopped worker pid") {
		t.Fatalf("stop: %+v", s)
	}
	waitGone(t, r3.PID)
	if _, err := os.Stat(filepath.Join(wd, "worker.pid")); !os.IsNotExist(err) {
		t.Errorf("worker.pid remains after stop (%v)", err)
	}
	if s := Stop(ctx, cfg, []Target{target(h)})[0]; !s.OK || s.Detail != "no worker running" {
		t.Errorf("second stop: %+v", s)
	}
	checkNoSecret(t, []Result{r, r2, r3, r4, s}, iss.all()...)
}

// TestDeployFailures is issue 3's deploy case: in one Deploy, a good host,
// one with a wrong password, one missing from known_hosts, one whose key
// changed and one cut off. Each is reported as such; the good one deploys.
func TestDeployFailures(t *testing.T) {
	c := netns.NewCluster(t, 5)
	reg := t.TempDir()
	cfg, iss := keyConfig(t, c, fakeFerry(t, reg, "1", ""), reg)
	cfg.PrivateKeyFile = ""
	cfg.Password = conf.Secret(c.Host(0).Password) // host1 has another password

	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherKey, _ := ssh.NewSignerFromKey(other)
	h := [5]netns.HostInfo{}
	for i := range h {
		h[i] = c.Host(i)
	}
	known := strings.Join([]string{h[0].KnownHosts, h[1].KnownHosts,
		knownhosts.Line([]string{h[3].Addr}, otherKey.PublicKey()), h[4].KnownHosts}, "\n") + "\n"
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(cfg.KnownHostsFile, []byte(known), 0o644); err != nil {
		t.Fatal(err)
	}
	c.LinkDown(4)

	targets := make([]Target, 5)
	for i := range h {
		targets[i] = target(h[i])
	}
	start := time.Now()
	rs := Deploy(context.Background(), cfg, targets)
	t.Logf("deploy to 5 hosts in %v", time.Since(start).Round(time.Millisecond))
	for _, r := range rs {
		t.Log(r)
	}
	want := []string{"", ReasonAuth, ReasonHostKeyUnknown, ReasonHostKeyChanged, ReasonUnreachable}
	for i, r := range rs {
		if r.Host != h[i].Addr || r.Reason != want[i] || r.OK != (i == 0) {
			t.Errorf("host%d: %+v; want reason %q", i, r, want[i])
		}
	}
	if !strings.Contains(rs[1].Detail, "refused user root with password") {
		t.Errorf("auth failed detail: %s", rs[1].Detail)
	}
	hint := "ssh-keyscan -p 22 " + h[2].Addr + " >> " + cfg.KnownHostsFile
	if d := rs[2].Detail; !strings.Contains(d, hint) || !strings.Contains(d, ssh.FingerprintSHA256(h[2].HostKey)) {
		t.Errorf("unknown host key detail %q: want the hint %q and the key's fingerprint", d, hint)
	}
	if d := rs[3].Detail; !strings.Contains(d, h[3].Addr) || !strings.Contains(d, ssh.FingerprintSHA256(h[3].HostKey)) ||
		!strings.Contains(d, ssh.FingerprintSHA256(otherKey.PublicKey())) || !strings.Contains(d, cfg.KnownHostsFile+":3") {
		t.Errorf("host key mismatch detail %q: want the host, both fingerprints and the known_hosts line", d)
	}
	checkNoSecret(t, rs, append(iss.all(), cfg.Password.Reveal(), h[1].Password)...)
	if got := iss.all(); len(got) != 1 || iss.last(h[0].Addr) == "" {
		t.Errorf("credentials issued: %q; want one, for the only host reached (%s)", got, h[0].Addr)
	}

	// An unreachable host is reported within the connect timeout.
	short := cfg
	short.ConnectTimeout = time.Second
	start = time.Now()
	r := Stop(context.Background(), short, targets[4:])[0]
	if el := time.Since(start); r.Reason != ReasonUnreachable || el > short.ConnectTimeout+time.Second {
		t.Errorf("unreachable host: %v after %v (connect timeout %v)", r, el, short.ConnectTimeout)
	}

	// A cancelled context ends the wait at once, whatever the timeout.
	long := cfg
	long.ConnectTimeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	r = Stop(ctx, long, targets[4:])[0]
	if el := time.Since(start); r.Reason != ReasonUnreachable || el > 2*time.Second {
		t.Errorf("cancelled: %v after %v", r, el)
	}
	c.LinkUp(4)
}

// TestDeploySecrets deploys with a password and a token while sampling the
// command line and environment of every process on the machine, then
// deploys a worker that prints the token and never registers: neither
// shows a secret anywhere but in the token file.
func TestDeploySecrets(t *testing.T) {
	c := netns.NewCluster(t, 1)
	h := c.Host(0)
	reg := t.TempDir()
	cfg, iss := keyConfig(t, c, fakeFerry(t, reg, "1", ""), reg)
	cfg.PrivateKeyFile = ""
	cfg.Password = conf.Secret(h.Password)

	w := watchProcs(iss.base, h.Password)
	rs := Deploy(context.Background(), cfg, []Target{target(h)})
	hits, samples := w.done()
	t.Logf("%v; %d samples of all processes", rs[0], samples)
	if !rs[0].OK {
		t.Fatalf("deploy: %+v", rs[0])
	}
	if len(hits) > 0 || samples < 5 {
		t.Errorf("secret seen in %v (%d samples)", hits, samples)
	}
	if strings.Contains(fakeOut(t, h)["args"], iss.base) {
		t.Error("worker argv holds the token")
	}

	cfg.Binary = fakeFerry(t, reg, "leaky", `echo "worker: token=$(cat "$tf") password=`+h.Password+`"`)
	cfg.Registered = func(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() }
	cfg.RegisterTimeout = 1500 * time.Millisecond
	rs = Deploy(context.Background(), cfg, []Target{target(h)})
	t.Log(rs[0])
	if rs[0].Reason != ReasonNotRegistered || !strings.Contains(rs[0].Detail, "worker.out: worker: token=****** password=******") {
		t.Errorf("leaky worker: %+v; want %q with the scrubbed log tail", rs[0], ReasonNotRegistered)
	}
	checkNoSecret(t, rs, iss.base, h.Password)
	if log := c.SSHDLog(0); strings.Contains(log, iss.base) || strings.Contains(log, h.Password) {
		t.Error("sshd's log shows a secret")
	}
}

// TestDeployStartFailed: a worker that exits at once is "start failed"
// with its last words, long before the registration timeout.
func TestDeployStartFailed(t *testing.T) {
	c := netns.NewCluster(t, 1)
	reg := t.TempDir()
	cfg, _ := keyConfig(t, c, fakeFerry(t, reg, "1", `echo "ferry: connect to master: rpc error: code = Unauthenticated" >&2; exit 1`), reg)
	start := time.Now()
	r := Deploy(context.Background(), cfg, []Target{target(c.Host(0))})[0]
	el := time.Since(start)
	t.Logf("%v in %v", r, el.Round(time.Millisecond))
	if r.Reason != ReasonStart || !strings.Contains(r.Detail, "code = Unauthenticated") || el > cfg.RegisterTimeout/2 {
		t.Errorf("got %+v after %v; want %q with the worker's error, quickly", r, el, ReasonStart)
	}
}

// TestDeployNoSpace: a working directory on a small file system is "no
// space", before anything is uploaded.
func TestDeployNoSpace(t *testing.T) {
	netns.Require(t)
	small := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", small).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", small).Run() })
	c := netns.NewCluster(t, 1) // after the mount: the hosts see it
	reg := t.TempDir()
	cfg, _ := keyConfig(t, c, fakeFerry(t, reg, "1", ""), reg)
	cfg.WorkingDir = filepath.Join(small, "ferry")
	r := Deploy(context.Background(), cfg, []Target{target(c.Host(0))})[0]
	t.Log(r)
	if r.Reason != ReasonNoSpace || r.Uploaded || !strings.Contains(r.Detail, small) {
		t.Errorf("got %+v; want %q naming %s", r, ReasonNoSpace, small)
	}
}
