// Package dbtest starts real database servers for tests: PostgreSQL
// (initdb, then the postgres server itself, in a private directory on a
// free loopback port) and MariaDB (mariadb-install-db, then mariadbd with
// a private directory, socket and port). Each server is a child of the
// test process, stopped by its PID when the tests end (and killed by the
// kernel if the test process dies first). A test whose server cannot be
// started skips, naming the Debian package to install, or fails under
// CI=true.
//
// One server of each engine serves a whole test binary: tests create
// databases of their own on it (CreateDB). Call Run from TestMain so that
// the servers are stopped.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Server is one running database server.
type Server struct {
	Engine         string // "postgres" or "mysql"
	Host           string // 127.0.0.1
	Port           int
	User, Password string // a superuser that connects over TCP
	dir            string
	pid            int // the server's process, leader of its process group
	stop           func() error
	admin          *sql.DB
}

// Addr is host:port, as srcDomain takes it.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Dir is the server's private directory (data, socket, logs).
func (s *Server) Dir() string { return s.dir }

var (
	mu      sync.Mutex
	started = map[string]*Server{}
	failed  = map[string]error{}
)

// Run runs the tests, then stops every server they started. Use it as
// TestMain's os.Exit(dbtest.Run(m)).
func Run(m *testing.M) int {
	code := m.Run()
	StopAll()
	return code
}

// StopAll stops the servers started so far.
func StopAll() {
	mu.Lock()
	defer mu.Unlock()
	for k, s := range started {
		if s.admin != nil {
			s.admin.Close()
		}
		if err := s.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "dbtest: stop %s: %v\n", k, err)
		}
		os.RemoveAll(s.dir)
		delete(started, k)
	}
}

// Postgres returns the test binary's PostgreSQL server, starting it on
// first use.
func Postgres(t testing.TB) *Server { return shared(t, "postgres", startPostgres) }

// MariaDB returns the test binary's MariaDB server, starting it on first
// use.
func MariaDB(t testing.TB) *Server { return shared(t, "mysql", startMariaDB) }

func shared(t testing.TB, engine string, start func() (*Server, error)) *Server {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if s := started[engine]; s != nil {
		return s
	}
	if err := failed[engine]; err != nil {
		require(t, engine, err)
	}
	s, err := start()
	if err != nil {
		failed[engine] = err
		require(t, engine, err)
	}
	started[engine] = s
	return s
}

// require skips t, or fails it under CI=true, for a server that cannot
// start.
func require(t testing.TB, engine string, err error) {
	t.Helper()
	pkg := map[string]string{"postgres": "postgresql", "mysql": "mariadb-server"}[engine]
	if os.Getenv("CI") == "true" {
		t.Fatalf("dbtest: %s server: %v; CI must run these tests: apt-get install -y %s", engine, err, pkg)
	}
	t.Skipf("dbtest: %s server: %v; to run these tests: apt-get install -y %s", engine, err, pkg)
}

// freePort returns a loopback TCP port nobody listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitUp polls open until the server answers a ping, or timeout.
func waitUp(open func() (*sql.DB, error), exited <-chan error, timeout time.Duration) (*sql.DB, error) {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("server exited while starting: %v", err)
		default:
		}
		db, err := open()
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err = db.PingContext(ctx)
			cancel()
			if err == nil {
				return db, nil
			}
			db.Close()
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	return nil, fmt.Errorf("not answering after %s: %v", timeout, last)
}

// CreateDB creates a fresh database named name (dropping one of that
// name first) and returns its name.
func (s *Server) CreateDB(t testing.TB, name string) string {
	t.Helper()
	q := quote(s.Engine, name)
	s.MustExec(t, "", "DROP DATABASE IF EXISTS "+q)
	s.MustExec(t, "", "CREATE DATABASE "+q)
	return name
}

// Open connects to database db ("" the server's default) as the
// superuser.
func (s *Server) Open(db string) (*sql.DB, error) {
	if s.Engine == "postgres" {
		return openPostgres(s, db)
	}
	return openMariaDB(s, db)
}

// MustOpen is Open, closed when t ends.
func (s *Server) MustOpen(t testing.TB, db string) *sql.DB {
	t.Helper()
	c, err := s.Open(db)
	if err != nil {
		t.Fatalf("open %s %s: %v", s.Engine, db, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// MustExec runs each statement in database db ("" the default).
func (s *Server) MustExec(t testing.TB, db string, stmts ...string) {
	t.Helper()
	c := s.admin
	if db != "" {
		var err error
		if c, err = s.Open(db); err != nil {
			t.Fatalf("open %s %s: %v", s.Engine, db, err)
		}
		defer c.Close()
	}
	for _, q := range stmts {
		if _, err := c.Exec(q); err != nil {
			t.Fatalf("%s: %s: %v", s.Engine, q, err)
		}
	}
}

func quote(engine, name string) string {
	if engine == "postgres" {
		return `"` + name + `"`
	}
	return "`" + name + "`"
}
