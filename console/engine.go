package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"ferry/master"
	"ferry/rpc"
	"ferry/state"
	"ferry/store/observe"
	"ferry/stream/kafka"
	"ferry/worker"
)

// engine is a master in this process, serving gRPC: the daemon, the
// foreground `run`, or a short-lived offline one that lets commands like
// `stat` read the database when no master is running.
type engine struct {
	m      *master.Master
	addr   string
	token  string
	cert   []byte // the master's TLS certificate, pinned by clients
	cancel context.CancelFunc
	g      *errgroup.Group
	ctx    context.Context
	addrF  string // address file to remove on close, if written
	// httpAddr is where the dashboard and /metrics are served, if they are.
	httpAddr string
	closers  []io.Closer
}

type engineOpts struct {
	listen    string // address to listen on
	fallback  bool   // if listen is taken, use a free loopback port instead
	schedule  bool   // scan and reap: a real master, not an offline reader
	advertise bool   // write workdir/master/address for other commands
	stop      func() // what Control.Stop does
}

func (e *env) addressFile() string { return filepath.Join(e.masterDir, "address") }

func (e *env) startEngine(parent context.Context, o engineOpts) (*engine, error) {
	mlog, mcl, err := e.logger("master")
	if err != nil {
		return nil, err
	}
	tlog, tcl, err := e.logger("tracker")
	if err != nil {
		mcl.Close()
		return nil, err
	}
	own := observe.New() // the master's own store calls (its scans), for /metrics
	m, err := master.Open(master.Config{Dir: e.masterDir, LeaseDur: time.Duration(e.sys.TaskLeaseSeconds) * time.Second,
		Log: mlog, TrackerLog: tlog, OpenSource: observedSource(own), OpenDest: openDest, Streams: kafka.Runner{}, Tables: tables, FreshState: e.freshState})
	if err != nil {
		mcl.Close()
		tcl.Close()
		if errors.Is(err, state.ErrLocked) {
			return nil, &lockedErr{failErr("workdir %s is in use by another ferry process (a `run`, or the master started by `console.sh start`): %v", rel(e.workdir), err)}
		}
		if errors.Is(err, state.ErrLost) {
			return nil, &exitErr{ExitState, fmt.Sprintf("%v. Restore ferry.db from a backup, or start afresh on purpose with `console.sh --fresh-state ...` (the audit directories stay; the jobs are forgotten and copy again)", err)}
		}
		if errors.Is(err, state.ErrCorrupt) {
			return nil, &exitErr{ExitState, fmt.Sprintf("%v. Stop ferry, move ferry.db aside and restore it from a backup (or start afresh with `console.sh --fresh-state ...` after moving it)", err)}
		}
		return nil, failErr("open master state in %s: %v", rel(e.masterDir), err)
	}
	eng := &engine{m: m, closers: []io.Closer{mcl, tcl}}
	eng.token, err = rpc.LoadOrCreateToken(e.masterDir)
	if err != nil {
		eng.close()
		return nil, failErr("master token: %v", err)
	}
	var key []byte
	eng.cert, key, err = rpc.LoadOrCreateCert(e.masterDir)
	if err != nil {
		eng.close()
		return nil, failErr("master TLS certificate: %v", err)
	}
	creds, err := rpc.ServerTLS(eng.cert, key)
	if err != nil {
		eng.close()
		return nil, failErr("%v", err)
	}
	lis, err := net.Listen("tcp", o.listen)
	if err != nil && o.fallback {
		lis, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		eng.close()
		return nil, failErr("listen on %s (masterAddress in %s): %v", o.listen, rel(e.sys.File), err)
	}
	eng.addr = lis.Addr().String()
	ctx, cancel := context.WithCancel(parent)
	eng.ctx, eng.cancel = ctx, cancel
	g, gctx := errgroup.WithContext(ctx)
	eng.g = g
	stop := o.stop
	if stop == nil {
		stop = cancel
	}
	g.Go(func() error { return rpc.Serve(gctx, m, lis, eng.token, stop, mlog, creds) })
	if o.schedule {
		g.Go(func() error { return m.Run(gctx) })
		e.serveHTTP(gctx, eng, own, mlog)
	}
	if o.advertise {
		eng.addrF = e.addressFile()
		if err := writeFileAtomic(eng.addrF, eng.addr+"\n", 0o644); err != nil {
			eng.close()
			return nil, failErr("write %s: %v", eng.addrF, err)
		}
	}
	mlog.Info("master serving", "addr", eng.addr, "schedule", o.schedule)
	return eng, nil
}

// lockedErr is startEngine's error when another ferry process holds the
// workdir (the master's database lock).
type lockedErr struct{ error }

func (e *lockedErr) Unwrap() error { return e.error }

// close stops serving and scanning and closes the database.
func (eng *engine) close() error {
	if eng.cancel != nil {
		eng.cancel()
	}
	var err error
	if eng.g != nil {
		err = eng.g.Wait()
	}
	if eng.addrF != "" {
		os.Remove(eng.addrF)
	}
	if cerr := eng.m.Close(); err == nil {
		err = cerr
	}
	for _, c := range eng.closers {
		c.Close()
	}
	return err
}

func writeFileAtomic(path, body string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readAddress returns the address a running master advertised, if any.
func (e *env) readAddress() string {
	b, err := os.ReadFile(e.addressFile())
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

var errNoMaster = fmt.Errorf("no master is running")

// dial connects to this engine as its own clients do: TLS, pinned, token.
func (eng *engine) dial() (*grpc.ClientConn, error) {
	return rpc.DialPinned(eng.addr, eng.token, eng.cert)
}

// startLocalWorker runs a worker in this process against the engine, as
// standalone mode does, calling the master directly (master.InProcess). stop
// ends it and waits until it has left; given a job and a drain, it first
// waits that long at most for the worker to hold no task of the job, so
// that a completion the master has accepted also reaches the worker before
// it is told to go (else its log says the task was abandoned).
func (e *env) startLocalWorker(ctx context.Context, eng *engine, taskDone func()) (stop func(job string, drain time.Duration), err error) {
	wlog, wcl, err := e.logger("worker")
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	w := e.newWorker("local", host, master.NewInProcess(eng.m), wlog, taskDone)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	return func(job string, drain time.Duration) {
	wait:
		for end := time.Now().Add(drain); w.Holds(job) && time.Now().Before(end); {
			select {
			case <-done:
				break wait
			case <-time.After(2 * time.Millisecond):
			}
		}
		cancel()
		<-done
		wcl.Close()
	}, nil
}

// The two clients a worker is given, checked against the interface the
// worker declares.
var (
	_ worker.Client = (*master.InProcess)(nil)
	_ worker.Client = (*rpc.Client)(nil)
)
