package dbtest

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// pgPassword is the test superuser's password (the server is on loopback
// and lives for one test binary).
const pgPassword = "ferry-test-pw"

// PostgresBin finds a PostgreSQL server program (initdb, postgres): in
// Debian's /usr/lib/postgresql/<version>/bin, the newest first, else on
// PATH.
func PostgresBin(name string) (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgVersion(dirs[i]) > pgVersion(dirs[j]) })
	for _, d := range dirs {
		if p := filepath.Join(d, name); isExec(p) {
			return p, nil
		}
	}
	return exec.LookPath(name)
}

func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// startPostgres runs initdb in a fresh private directory and starts the
// server on a free loopback port, with password (SCRAM) authentication.
// PostgreSQL refuses to run as root: as root, both run as the user nobody,
// who owns the directory.
func startPostgres() (*Server, error) {
	initdb, err := PostgresBin("initdb")
	if err != nil {
		return nil, err
	}
	postgres, err := PostgresBin("postgres")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "ferry-pg-")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	cred, err := unprivileged(dir)
	if err != nil {
		return nil, err
	}
	pwfile := filepath.Join(dir, "pw")
	if err := writeOwned(pwfile, pgPassword+"\n", cred); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--pwfile", pwfile, "--auth", "scram-sha-256",
		"-E", "UTF8", "--no-locale", "--no-sync")
	cmd.Dir, cmd.Env = dir, []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "TZ=UTC"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	srv := exec.Command(postgres, "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "TimeZone=UTC")
	srv.Dir, srv.Env = dir, []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "TZ=UTC"}
	srv.Stdout, srv.Stderr = logf, logf
	srv.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	s := &Server{Engine: "postgres", Host: "127.0.0.1", Port: port, User: "postgres", Password: pgPassword, dir: dir, pid: srv.Process.Pid}
	s.stop = func() error { return stopProcess(srv.Process, exited, syscall.SIGINT) }
	s.admin, err = waitUp(func() (*sql.DB, error) { return s.Open("") }, exited, 60*time.Second)
	if err != nil {
		s.stop()
		log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
		return nil, fmt.Errorf("postgres: %v\n%s", err, tail(log))
	}
	ok = true
	return s, nil
}

func openPostgres(s *Server, db string) (*sql.DB, error) {
	if db == "" {
		db = "postgres"
	}
	return sql.Open("pgx", fmt.Sprintf("host=%s port=%d user=%s password=%s dbname=%s sslmode=disable",
		s.Host, s.Port, s.User, s.Password, db))
}

// unprivileged returns the credential to run PostgreSQL with: nil when
// this process is not root, else the user nobody's, after giving dir to
// that user.
func unprivileged(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root, PostgreSQL needs another user: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
}

func writeOwned(path, content string, cred *syscall.Credential) error {
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		return err
	}
	if cred != nil {
		return os.Chown(path, int(cred.Uid), int(cred.Gid))
	}
	return nil
}

// stopProcess sends sig, waits up to 20 s for the process to exit, then
// kills it.
func stopProcess(p *os.Process, exited <-chan error, sig os.Signal) error {
	if err := p.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case <-exited:
		return nil
	case <-time.After(20 * time.Second):
		p.Kill()
		<-exited
		return fmt.Errorf("pid %d did not stop within 20s; killed", p.Pid)
	}
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}
