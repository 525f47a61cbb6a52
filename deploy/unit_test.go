package deploy

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"ferry/conf"
)

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/root/ferry":   "/root/ferry",
		"10.0.0.1:7790": "10.0.0.1:7790",
		"":              "''",
		"a b":           "'a b'",
		"it's":          `'it'\''s'`,
		"[h]:2222":      "'[h]:2222'",
		"$(reboot)":     "'$(reboot)'",
		"x\ny":          "'x\ny'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
		out, err := exec.Command("/bin/sh", "-c", "printf %s "+shellQuote(in)).Output()
		if err != nil || string(out) != in {
			t.Errorf("sh read %s as %q (%v), want %q", shellQuote(in), out, err, in)
		}
	}
}

func TestScrubOneLine(t *testing.T) {
	got := oneLine(scrub("token=abc123\nnext\tline pw=hunter2 abc123", []string{"abc123", "hunter2", ""}))
	if want := "token=****** next line pw=****** ******"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if n := len(oneLine(strings.Repeat("x ", 1000))); n > 600 {
		t.Errorf("oneLine kept %d bytes", n)
	}
}

func TestDefaultID(t *testing.T) {
	for _, tc := range []struct {
		h    conf.Host
		want string
	}{
		{conf.Host{Addr: "10.0.0.2"}, "10.0.0.2"},
		{conf.Host{User: "ops", Addr: "w1", Port: 2222}, "w1:2222"},
		{conf.Host{Addr: "::1", Port: 22}, "[::1]:22"},
	} {
		if got := DefaultID(tc.h); got != tc.want {
			t.Errorf("DefaultID(%v) = %s, want %s", tc.h, got, tc.want)
		}
		if got := (Target{Host: tc.h, ID: "x"}).id(); got != "x" {
			t.Errorf("explicit ID ignored: %s", got)
		}
	}
}

func TestValidate(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "ferry")
	os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755)
	garbage := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(garbage, []byte("not a known_hosts line\n"), 0o644)
	good := Config{Binary: bin, MasterAddress: "10.0.0.1:7790", Password: "pw", KnownHostsFile: filepath.Join(t.TempDir(), "none"),
		Credential: func(context.Context, string) (conf.Secret, error) { return "t", nil }}
	if err := good.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, tc := range map[string]struct {
		edit func(*Config)
		want string
	}{
		"no binary":  {func(c *Config) { c.Binary = bin + ".missing" }, "binary"},
		"no master":  {func(c *Config) { c.MasterAddress = "nohost" }, "masterAddress"},
		"no issuer":  {func(c *Config) { c.Credential = nil }, "credentials"},
		"bad key":    {func(c *Config) { c.PrivateKeyFile = bin }, "privateKeyFile"},
		"bad known":  {func(c *Config) { c.KnownHostsFile = garbage }, "knownHostsFile"},
		"no secrets": {func(c *Config) { c.Password = ""; t.Setenv("HOME", t.TempDir()) }, "no SSH credentials"},
	} {
		c := good
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %s", name, err, tc.want)
		}
		rs := Deploy(context.Background(), c, []Target{{Host: conf.Host{Addr: "h"}}})
		if rs[0].Reason != ReasonConfig || rs[0].Host != "h" {
			t.Errorf("%s: Deploy gave %+v", name, rs[0])
		}
	}
}

func TestUnreachableMaster(t *testing.T) {
	for _, tc := range []struct {
		master, host string
		bad          bool
	}{
		{"127.0.0.1:7790", "10.0.0.2", true},
		{"0.0.0.0:7790", "w1", true},
		{"localhost:7790", "w1", true},
		{"127.0.0.1:7790", "127.0.0.1", false},
		{"10.0.0.1:7790", "10.0.0.2", false},
		{"master.example:7790", "w1", false},
	} {
		if got := unreachableMaster(tc.master, Target{Host: conf.Host{Addr: tc.host}}) != ""; got != tc.bad {
			t.Errorf("master %s, host %s: refused=%v, want %v", tc.master, tc.host, got, tc.bad)
		}
	}
}

func TestConfigFromSys(t *testing.T) {
	s, err := conf.ParseSys(strings.NewReader("workingDir=ferry-work\nworkerUser=ops\nworkerPassword=hunter2\nsshPort=2222\nmasterAddress=10.1.2.3:7790\nworkerTaskThreadNum=7\n"), "sys.properties")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Resolve(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	c := ConfigFromSys(s)
	if c.WorkingDir != "ferry-work" || c.User != "ops" || c.Port != 2222 || c.Password.Reveal() != "hunter2" || c.MasterAddress != "10.1.2.3:7790" {
		t.Errorf("ConfigFromSys: %+v", c)
	}
	if strings.Contains(string(c.SysProperties), "hunter2") || strings.Contains(string(c.SysProperties), "workerPassword") {
		t.Errorf("worker sys.properties holds the password:\n%s", c.SysProperties)
	}
	w, err := conf.ParseSys(strings.NewReader(string(c.SysProperties)), "worker")
	if err != nil {
		t.Fatalf("worker sys.properties does not parse: %v\n%s", err, c.SysProperties)
	}
	if w.WorkerTaskThreadNum != 7 || w.MasterAddress != "10.1.2.3:7790" || w.WorkingDir != "." || len(w.Warnings) != 0 {
		t.Errorf("worker sys.properties reads as %+v", w)
	}
}

// TestHostKeyChecks covers the host key decisions without a server.
func TestHostKeyChecks(t *testing.T) {
	key := func() ssh.PublicKey {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		k, _ := ssh.NewPublicKey(pub)
		return k
	}
	known, other := key(), key()
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, []byte(knownhosts.Line([]string{"[w1]:2222"}, known)+"\n"), 0o644)
	d, err := Config{Password: "pw", KnownHostsFile: kh}.withDefaults().newDialer()
	if err != nil {
		t.Fatal(err)
	}
	remote := &net.TCPAddr{IP: net.ParseIP("10.0.0.9"), Port: 2222}
	if got := d.algorithms("w1:2222", remote); len(got) != 1 || got[0] != ssh.KeyAlgoED25519 {
		t.Errorf("algorithms for w1:2222 = %v, want [ssh-ed25519]", got)
	}
	if got := d.algorithms("w2:22", remote); got != nil {
		t.Errorf("algorithms for an unknown host = %v, want nil (any)", got)
	}
	for _, tc := range []struct {
		host   string
		key    ssh.PublicKey
		reason string
		want   []string
	}{
		{"w1", known, "", nil},
		{"w1", other, ReasonHostKeyChanged, []string{ssh.FingerprintSHA256(other), ssh.FingerprintSHA256(known), "ssh-keygen -R '[w1]:2222' -f " + kh}},
		{"w2", other, ReasonHostKeyUnknown, []string{ssh.FingerprintSHA256(other), "ssh-keyscan -p 2222 w2 >> " + kh}},
	} {
		kc := &keyCheck{cb: d.hostKeys}
		err := kc.check(net.JoinHostPort(tc.host, "2222"), remote, tc.key)
		if (err == nil) != (tc.reason == "") {
			t.Errorf("%s: check = %v", tc.host, err)
			continue
		}
		if err == nil {
			continue
		}
		r := d.explain(errors.New("ssh: handshake failed: "+err.Error()), kc, tc.host, 2222, "root")
		if r.Reason != tc.reason {
			t.Errorf("%s: %+v, want %s", tc.host, r, tc.reason)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.Detail, w) {
				t.Errorf("%s: detail %q lacks %q", tc.host, r.Detail, w)
			}
		}
	}
	r := d.explain(errors.New("ssh: handshake failed: ssh: unable to authenticate, attempted methods [none password], no supported methods remain"), &keyCheck{}, "w1", 22, "ops")
	if r.Reason != ReasonAuth || r.Detail != "w1:22 refused user ops with password" {
		t.Errorf("auth: %+v", r)
	}
}

// TestProcWatch checks the secrets test's instrument: it sees a secret in
// another process's argv.
func TestProcWatch(t *testing.T) {
	secret := randomSecret(t)
	w := watchProcs(secret)
	// "; true" keeps sh (whose argv holds the secret) from exec-ing sleep
	// in its place; a second lets a loaded machine take several samples.
	exec.Command("/bin/sh", "-c", "sleep 1; true", "sh", secret).Run()
	time.Sleep(10 * time.Millisecond)
	if hits, n := w.done(); len(hits) == 0 {
		t.Errorf("no hit in %d samples", n)
	}
}
