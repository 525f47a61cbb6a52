package dbtest

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
)

// mariaPassword is the test superuser's password.
const mariaPassword = "ferry-test-pw"

// startMariaDB makes a private data directory with mariadb-install-db and
// starts mariadbd on it, on a free loopback port and a socket in the
// directory, reading no configuration file; then it creates the TCP
// superuser "ferry".
func startMariaDB() (*Server, error) {
	install, err := exec.LookPath("mariadb-install-db")
	if err != nil {
		return nil, err
	}
	mariadbd, err := exec.LookPath("mariadbd")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/mariadbd"); serr != nil {
			return nil, err
		}
		mariadbd = "/usr/sbin/mariadbd"
	}
	dir, err := os.MkdirTemp("", "ferry-maria-")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	data := filepath.Join(dir, "data")
	args := []string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=socket", "--skip-test-db"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	cmd := exec.Command(install, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mariadb-install-db: %v: %s", err, tail(out))
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "mysqld.sock")
	logPath := filepath.Join(dir, "server.log")
	sargs := []string{"--no-defaults", "--datadir=" + data, "--socket=" + sock, "--port=" + strconv.Itoa(port),
		"--bind-address=127.0.0.1", "--pid-file=" + filepath.Join(dir, "mysqld.pid"), "--log-error=" + logPath,
		"--skip-log-bin", "--innodb-flush-log-at-trx-commit=2", "--innodb-buffer-pool-size=256M",
		"--innodb-log-file-size=256M", "--max-connections=300", "--default-time-zone=+00:00",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin", "--max-allowed-packet=64M"}
	if os.Geteuid() == 0 {
		sargs = append(sargs, "--user=root")
	}
	srv := exec.Command(mariadbd, sargs...)
	srv.Dir = dir
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	s := &Server{Engine: "mysql", Host: "127.0.0.1", Port: port, User: "ferry", Password: mariaPassword, dir: dir, pid: srv.Process.Pid}
	s.stop = func() error { return stopProcess(srv.Process, exited, syscall.SIGTERM) }
	fail := func(err error) (*Server, error) {
		s.stop()
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("mariadbd: %v\n%s", err, tail(log))
	}
	root, err := waitUp(func() (*sql.DB, error) {
		c := mysql.NewConfig()
		c.User, c.Net, c.Addr = "root", "unix", sock
		return openConfig(c)
	}, exited, 60*time.Second)
	if err != nil {
		return fail(err)
	}
	defer root.Close()
	for _, q := range []string{
		"CREATE USER 'ferry'@'%' IDENTIFIED BY '" + mariaPassword + "'",
		"GRANT ALL ON *.* TO 'ferry'@'%' WITH GRANT OPTION",
	} {
		if _, err := root.Exec(q); err != nil {
			return fail(fmt.Errorf("%s: %v", q, err))
		}
	}
	if s.admin, err = s.Open(""); err != nil {
		return fail(err)
	}
	ok = true
	return s, nil
}

// Socket is a MariaDB server's Unix socket.
func (s *Server) Socket() string { return filepath.Join(s.dir, "mysqld.sock") }

func openMariaDB(s *Server, db string) (*sql.DB, error) {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = s.User, s.Password, "tcp", s.Addr(), db
	c.ParseTime, c.Loc = true, time.UTC
	c.Params = map[string]string{"time_zone": "'+00:00'"}
	return openConfig(c)
}

func openConfig(c *mysql.Config) (*sql.DB, error) {
	conn, err := mysql.NewConnector(c)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(conn), nil
}
