package deploy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"ferry/conf"
	"ferry/internal/netns"
)

// fakeScript stands in for bin/ferry on the hosts. It records its argv and
// the modes of the token and sys.properties files in <home>/fake.out, runs
// EXTRA, "registers" by creating REG/<id> (which markerRegistered waits
// for), and runs until SIGTERM.
const fakeScript = `#!/bin/sh
# fake ferry, version VERSION
home= tf= id= sys=
all="$*"
while [ $# -gt 0 ]; do
	case "$1" in
	--home) home=$2; shift;;
	--sys) sys=$2; shift;;
	--token-file) tf=$2; shift;;
	--id) id=$2; shift;;
	esac
	shift
done
{
	echo "args=$all"
	echo "tokenmode=$(stat -c %a "$tf")"
	echo "sysmode=$(stat -c %a "$sys")"
	echo "pid=$$"
} > "$home/fake.out"
EXTRA
trap 'echo "got TERM"; exit 0' TERM
echo $$ > "REG/$id.new" && mv "REG/$id.new" "REG/$id"
while :; do sleep 1 & wait $!; done
`

// fakeFerry writes a fake binary into a new file and returns its path.
func fakeFerry(t *testing.T, reg, version, extra string) string {
	t.Helper()
	s := strings.NewReplacer("VERSION", version, "EXTRA", extra, "REG", reg).Replace(fakeScript)
	p := filepath.Join(t.TempDir(), "ferry")
	if err := os.WriteFile(p, []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// markerRegistered is a Config.Registered that waits for the fake's marker
// and consumes it, so that the next start must make a new one.
func markerRegistered(reg string) func(context.Context, string) error {
	return func(ctx context.Context, id string) error {
		p := filepath.Join(reg, id)
		for {
			if _, err := os.Stat(p); err == nil {
				return os.Remove(p)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func randomSecret(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "s3cr3t-" + hex.EncodeToString(b)
}

// issuer stands in for the master as Config.Credential: every secret it
// issues holds base (for watchProcs), the worker ID and a count.
type issuer struct {
	base   string
	mu     sync.Mutex
	issued map[string][]string // by worker ID, in order
	before func(id string)     // called before issuing, when set
	fail   error               // returned instead, when set
}

func newIssuer(t *testing.T) *issuer {
	return &issuer{base: randomSecret(t), issued: map[string][]string{}}
}

func (i *issuer) issue(ctx context.Context, id string) (conf.Secret, error) {
	if i.before != nil {
		i.before(id)
	}
	if i.fail != nil {
		return "", i.fail
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	s := fmt.Sprintf("%s-%s-%d", i.base, id, len(i.issued[id]))
	i.issued[id] = append(i.issued[id], s)
	return conf.Secret(s), nil
}

// last is the last secret issued to id ("" none).
func (i *issuer) last(id string) string {
	i.mu.Lock()
	defer i.mu.Unlock()
	if s := i.issued[id]; len(s) > 0 {
		return s[len(s)-1]
	}
	return ""
}

// all is every secret issued.
func (i *issuer) all() []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []string
	for _, s := range i.issued {
		out = append(out, s...)
	}
	return out
}

// keyConfig deploys to the cluster with its client key, with credentials
// from the issuer it returns.
func keyConfig(t *testing.T, c *netns.Cluster, bin, reg string) (Config, *issuer) {
	iss := newIssuer(t)
	return Config{
		User: "root", PrivateKeyFile: c.ClientKeyFile(), KnownHostsFile: c.KnownHostsFile(),
		WorkingDir: "ferry", Binary: bin, MasterAddress: c.BridgeAddr() + ":7790",
		Credential: iss.issue, SysProperties: []byte("workingDir=.\nworkerTaskThreadNum=4\n"),
		ConnectTimeout: 10 * time.Second, RegisterTimeout: 15 * time.Second, StopTimeout: 5 * time.Second,
		Registered: markerRegistered(reg),
	}, iss
}

func target(h netns.HostInfo) Target { return Target{Host: conf.Host{Addr: h.Addr}} }

// workDir is where host h keeps the deployed files ("ferry" in its home).
func workDir(h netns.HostInfo) string { return filepath.Join(h.Home, "ferry") }

// fakeOut reads what the fake binary recorded on host h.
func fakeOut(t *testing.T, h netns.HostInfo) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(workDir(h), "fake.out"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// running reports whether pid is a live (not zombie) process.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; running(pid); i++ {
		if i > 100 {
			t.Fatalf("pid %d still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// procWatch samples the command line and environment of every process on
// this machine (hosts share the pid namespace) until stopped, and records
// the processes that show one of the secrets.
type procWatch struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	hits    []string
	samples int
}

func watchProcs(secrets ...string) *procWatch {
	w := &procWatch{stop: make(chan struct{})}
	self := strconv.Itoa(os.Getpid())
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			select {
			case <-w.stop:
				return
			default:
			}
			ents, _ := os.ReadDir("/proc")
			for _, e := range ents {
				if e.Name() == self || e.Name()[0] < '0' || e.Name()[0] > '9' {
					continue
				}
				for _, f := range []string{"cmdline", "environ"} {
					b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), f))
					for _, s := range secrets {
						if bytes.Contains(b, []byte(s)) {
							w.mu.Lock()
							w.hits = append(w.hits, fmt.Sprintf("pid %s %s", e.Name(), f))
							w.mu.Unlock()
						}
					}
				}
			}
			w.mu.Lock()
			w.samples++
			w.mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	}()
	return w
}

func (w *procWatch) done() (hits []string, samples int) {
	close(w.stop)
	w.wg.Wait()
	return w.hits, w.samples
}

// checkNoSecret fails t when a result shows a secret.
func checkNoSecret(t *testing.T, rs []Result, secrets ...string) {
	t.Helper()
	for _, r := range rs {
		text := fmt.Sprintf("%v %+v %#v", r, r, r)
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("result for %s shows a secret: %s", r.Host, r)
			}
		}
	}
}
