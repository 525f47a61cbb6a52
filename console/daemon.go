package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"ferry/conf"
	pb "ferry/proto"
	"ferry/rpc"
)

func (e *env) pidFile() string { return filepath.Join(e.masterDir, "master.pid") }

func startCommand() *cli.Command {
	return &cli.Command{
		Name:  "start",
		Usage: "start the master daemon (with a local worker when conf/workers lists no host)",
		Description: "The master listens on masterAddress from sys.properties and logs to\n" +
			"workdir/logs/master.log. Submit jobs with `console.sh submit`, follow them with\n" +
			"`console.sh stat`, stop it with `console.sh stop`.",
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			if cl, err := e.dialRunning(c.Context); err == nil {
				cl.close()
				fmt.Fprintf(e.out, "master already running at %s\n", e.readAddress())
				return nil
			}
			return e.startDaemon(c.Context)
		},
	}
}

// startDaemon starts `ferry master` in the background and waits until it
// holds the workdir (the master's database lock) and serves: only then
// does it say "master started". A daemon that finds the workdir locked (a
// second start at the same moment, a `run`) says so on the pipe and
// exits; start then says the master is already running.
func (e *env) startDaemon(ctx context.Context) error {
	exe, err := os.Executable()
	if err != nil {
		return failErr("find ferry binary: %v", err)
	}
	if err := os.MkdirAll(e.logsDir, 0o755); err != nil {
		return failErr("create %s: %v", e.logsDir, err)
	}
	logPath := filepath.Join(e.logsDir, "master.log")
	out, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return failErr("open master log: %v", err)
	}
	defer out.Close()
	args := []string{"--home", e.home, "--sys", e.sys.File}
	if e.freshState {
		args = append(args, "--fresh-state")
	}
	cmd := exec.Command(exe, append(args, "master")...)
	cmd.Stdout, cmd.Stderr = out, out
	detach(cmd)
	r, w, ready, err := readyPipe(cmd)
	if err != nil {
		return failErr("start master: %v", err)
	}
	cmd.Args = append(cmd.Args, ready...)
	if r == nil {
		// No pipe: an address file left by another master would answer.
		os.Remove(e.addressFile())
	}
	err = cmd.Start()
	if w != nil {
		w.Close() // the daemon has its copy
	}
	if err != nil {
		if r != nil {
			r.Close()
		}
		return failErr("start master: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	said := make(chan string, 1) // what the daemon says on the pipe
	if r != nil {
		go func() {
			defer r.Close()
			line, _ := bufio.NewReader(r).ReadString('\n')
			said <- strings.TrimSpace(line)
		}()
	}
	deadline := time.After(20 * time.Second)
	for {
		var poll <-chan time.Time
		if r == nil {
			poll = time.After(100 * time.Millisecond)
		}
		select {
		case s := <-said:
			switch s {
			case readyServing:
				e.sayStarted(cmd.Process.Pid)
				return nil
			case readyLocked:
				<-exited
				return e.alreadyRunning(ctx)
			}
			// The pipe closed unsaid: the daemon failed before it served.
			return failErr("master exited at start (%v); see %s", <-exited, rel(logPath))
		case err := <-exited:
			if r != nil && <-said == readyLocked {
				// Its last words were still in the pipe (closed now).
				return e.alreadyRunning(ctx)
			}
			return failErr("master exited at start (%v); see %s", err, rel(logPath))
		case <-deadline:
			return failErr("master did not answer within 20s; see %s", rel(logPath))
		case <-ctx.Done():
			return ctx.Err()
		case <-poll:
			if cl, err := e.dialRunning(ctx); err == nil {
				cl.close()
				e.sayStarted(cmd.Process.Pid)
				return nil
			}
		}
	}
}

// What the daemon says on its ready pipe: it holds the workdir and serves,
// or another process holds the workdir.
const (
	readyServing = "serving"
	readyLocked  = "locked"
)

func (e *env) sayStarted(pid int) {
	mode := "distributed: deploy workers with `console.sh deploy`"
	if e.standalone() {
		mode = "standalone: with a local worker"
	}
	fmt.Fprintf(e.out, "master started (pid %d) on %s, %s\n", pid, e.readAddress(), mode)
	if addr := e.sys.HTTPAddress; addr != "" {
		// The daemon serves the dashboard unless the address was taken; a
		// dial tells which, without a second ready message.
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			fmt.Fprintf(e.out, "dashboard and /metrics on http://%s/ (log in with the token in %s)\n", addr, rel(filepath.Join(e.workdir, "master", "token")))
		} else {
			fmt.Fprintf(e.out, "dashboard and /metrics not served on %s: see master.log\n", addr)
		}
	}
}

// alreadyRunning is start's answer when another process holds the
// workdir: the master already running, once it answers (it may be
// starting at this very moment), or the other process named.
func (e *env) alreadyRunning(ctx context.Context) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		if cl, err := e.dialRunning(ctx); err == nil {
			cl.close()
			fmt.Fprintf(e.out, "master already running at %s\n", e.readAddress())
			return nil
		}
		if time.Now().After(deadline) {
			return failErr("workdir %s is in use by another ferry process (a `run`, or a master that does not answer); see %s",
				rel(e.workdir), rel(filepath.Join(e.logsDir, "master.log")))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// standalone reports whether conf/workers lists no host.
func (e *env) standalone() bool {
	hosts, err := conf.LoadWorkers(e.workersFile())
	return err != nil || len(hosts) == 0
}

func stopCommand() *cli.Command {
	return &cli.Command{
		Name:  "stop",
		Usage: "stop the master daemon gracefully (in-flight tasks are abandoned cleanly and resumed at the next start)",
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			pid := e.readPid()
			cl, err := e.dialRunning(c.Context)
			if err == nil {
				fmt.Fprintln(e.out, "stopping: asking the workers to leave...")
				var r *pb.StopReply
				r, err = cl.Stop(c.Context, &pb.StopRequest{})
				cl.close()
				if err == nil {
					e.stopRemaining(c.Context, r.Remaining)
				}
			}
			if err != nil {
				if pid == 0 || !alive(pid) {
					fmt.Fprintln(e.out, "no master is running")
					return nil
				}
				terminate(pid)
			}
			for i := 0; i < 300 && pid != 0 && alive(pid); i++ {
				time.Sleep(100 * time.Millisecond)
			}
			if pid != 0 && alive(pid) {
				return failErr("master (pid %d) did not stop within 30s", pid)
			}
			fmt.Fprintln(e.out, "master stopped")
			return nil
		},
	}
}

func (e *env) readPid() int {
	b, err := os.ReadFile(e.pidFile())
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func masterCommand() *cli.Command {
	return &cli.Command{
		Name:   "master",
		Usage:  "run the master daemon in the foreground (what `start` runs)",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "ready-fd", Usage: "say on this file descriptor when serving (or that the workdir is locked), then close it"},
		},
		Action: func(c *cli.Context) error {
			// What `start` waits for: one line, then the pipe closes.
			say := func(string) {}
			if fd := c.Int("ready-fd"); fd > 0 {
				ready := os.NewFile(uintptr(fd), "ready")
				defer ready.Close()
				say = func(s string) { fmt.Fprintln(ready, s); ready.Close() }
			}
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			eng, err := e.startEngine(ctx, engineOpts{listen: e.sys.MasterAddress, schedule: true, advertise: true, stop: cancel})
			var locked *lockedErr
			if errors.As(err, &locked) {
				say(readyLocked)
			}
			if err != nil {
				return err
			}
			defer eng.close()
			if err := writeFileAtomic(e.pidFile(), strconv.Itoa(os.Getpid())+"\n", 0o644); err != nil {
				return failErr("write pid file: %v", err)
			}
			defer os.Remove(e.pidFile())
			if e.standalone() {
				stopWorker, err := e.startLocalWorker(ctx, eng, nil)
				if err != nil {
					return err
				}
				defer stopWorker("", 0)
			}
			say(readyServing)
			<-ctx.Done()
			return nil
		},
	}
}

func workerCommand() *cli.Command {
	return &cli.Command{
		Name:   "worker",
		Usage:  "run a worker in the foreground against a master",
		Hidden: true,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "master", Usage: "master address host:port (default masterAddress)"},
			&cli.StringFlag{Name: "token-file", Usage: "file holding this host's worker credential, as deploy writes it (mode 0600; default workdir/master/token, the master's token)"},
			&cli.StringFlag{Name: "cert-file", Usage: "the master's TLS certificate to pin (default workdir/master/tls.crt)"},
			&cli.StringFlag{Name: "id", Usage: "worker ID (default: the host name)"},
		},
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			addr := c.String("master")
			if addr == "" {
				addr = e.sys.MasterAddress
			}
			tf := c.String("token-file")
			if tf == "" {
				tf = rpc.TokenFile(e.masterDir)
			}
			tok, err := rpc.ReadToken(tf)
			if err != nil {
				return failErr("read token: %v", err)
			}
			cf := c.String("cert-file")
			if cf == "" {
				cf = rpc.CertFile(e.masterDir)
			}
			cert, err := os.ReadFile(cf)
			if err != nil {
				return failErr("read master certificate: %v", err)
			}
			host, _ := os.Hostname()
			id := c.String("id")
			if id == "" {
				id = host
			}
			wlog, wcl, err := e.logger("worker")
			if err != nil {
				return err
			}
			defer wcl.Close()
			conn, err := rpc.DialPinned(addr, tok, cert)
			if err != nil {
				return failErr("connect to master %s: %v", addr, err)
			}
			defer conn.Close()
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			w := e.newWorker(id, host, rpc.NewClient(conn), wlog, nil)
			if err := w.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return failErr("worker %s: %v", id, err)
			}
			return nil
		},
	}
}
