// Package azuritetest starts Azurite, Microsoft's Azure Storage emulator
// (npm package azurite), for the tests of the Azure Blob store and the
// end-to-end tests: each Start runs its own azurite-blob process on a free
// loopback port with a data directory of its own, and stops it (by PID)
// when the test ends.
package azuritetest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// Azurite's development account: its name and key are public, printed in
// Microsoft's documentation, and accepted by every Azurite.
const (
	Account = "devstoreaccount1"
	Key     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// Install says how to get Azurite, for the messages of a missing one.
const Install = "npm install -g azurite"

// Server is a running azurite-blob.
type Server struct {
	// URL is the blob service endpoint, http://127.0.0.1:PORT/devstoreaccount1.
	URL  string
	Host string // 127.0.0.1:PORT
	PID  int
}

// binary finds azurite-blob: on PATH, or $AZURITE_BLOB.
func binary() (string, error) {
	if p := os.Getenv("AZURITE_BLOB"); p != "" {
		return p, nil
	}
	return exec.LookPath("azurite-blob")
}

// Require skips t (or fails it under CI=true) unless azurite-blob can be
// found.
func Require(t testing.TB) string {
	t.Helper()
	p, err := binary()
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("azurite-blob not found (%v); CI must run the Azure tests: %s", err, Install)
	}
	t.Skipf("azurite-blob not found (%v); to run the Azure tests: %s", err, Install)
	return ""
}

// Start runs azurite-blob for the test: its own data directory, a free
// port on 127.0.0.1. It is killed when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	Require(t)
	s, stop, err := StartIn(t.TempDir())
	if err != nil {
		t.Fatalf("azurite: %v", err)
	}
	t.Cleanup(stop)
	return s
}

// StartIn runs azurite-blob with its data under dir, for a TestMain that
// shares one among a package's tests; stop kills it.
func StartIn(dir string) (s *Server, stop func(), err error) {
	bin, err := binary()
	if err != nil {
		return nil, nil, fmt.Errorf("azurite-blob not found (%v): %s", err, Install)
	}
	for range 3 { // the free port can be taken between the probe and the start
		if s, stop, err = start(dir, bin); err == nil {
			return s, stop, nil
		}
	}
	return nil, nil, err
}

func start(dir, bin string) (*Server, func(), error) {
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port),
		"--location", filepath.Join(dir, "data"), "--silent", "--disableTelemetry",
		"--skipApiVersionCheck", "--loose", "--disableProductStyleUrl")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS=") // the development account only
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = cmd.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start %s: %v", bin, err)
	}
	s := &Server{Host: fmt.Sprintf("127.0.0.1:%d", port), PID: cmd.Process.Pid}
	s.URL = "http://" + s.Host + "/" + Account
	done := make(chan struct{})
	var said strings.Builder
	ready := make(chan bool, 1)
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if said.Len() < 4096 {
				said.WriteString(line + "\n")
			}
			if strings.Contains(line, "successfully listens") {
				select {
				case ready <- true:
				default:
				}
			}
		}
		io.Copy(io.Discard, out)
	}()
	stop := func() {
		// azurite-blob runs node, which may start children: end its group.
		syscall.Kill(-s.PID, syscall.SIGKILL)
		cmd.Wait()
	}
	select {
	case <-ready:
	case <-done:
		stop()
		return nil, nil, fmt.Errorf("azurite-blob exited before listening:\n%s", said.String())
	case <-time.After(60 * time.Second):
		stop()
		return nil, nil, fmt.Errorf("azurite-blob did not listen within 60s:\n%s", said.String())
	}
	return s, stop, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ConnectionString is the Azure connection string of the server, as a
// job.cfg's srcDomain takes it (without the account key, which goes in
// srcSecretKey).
func (s *Server) ConnectionString() string {
	return "DefaultEndpointsProtocol=http;BlobEndpoint=" + s.URL + ";"
}

// Container returns a client of a new container name in the server,
// created.
func (s *Server) Container(t testing.TB, name string) *container.Client {
	t.Helper()
	cred, err := container.NewSharedKeyCredential(Account, Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := container.NewClientWithSharedKeyCredential(s.URL+"/"+name, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.Create(ctx, nil); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	return c
}
