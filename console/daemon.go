package console

import (
	"context"
	"errors"
	"fmt"
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
// answers.
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
	os.Remove(e.addressFile())
	args := []string{"--home", e.home, "--sys", e.sys.File}
	if e.freshState {
		args = append(args, "--fresh-state")
	}
	cmd := exec.Command(exe, append(args, "master")...)
	cmd.Stdout, cmd.Stderr = out, out
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return failErr("start master: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case err := <-exited:
			return failErr("master exited at start (%v); see %s", err, rel(logPath))
		case <-deadline:
			return failErr("master did not answer within 20s; see %s", rel(logPath))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if cl, err := e.dialRunning(ctx); err == nil {
			cl.close()
			mode := "distributed: deploy workers with `console.sh deploy`"
			if e.standalone() {
				mode = "standalone: with a local worker"
			}
			fmt.Fprintf(e.out, "master started (pid %d) on %s, %s\n", cmd.Process.Pid, e.readAddress(), mode)
			return nil
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
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			eng, err := e.startEngine(ctx, engineOpts{listen: e.sys.MasterAddress, schedule: true, advertise: true, stop: cancel})
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
			&cli.StringFlag{Name: "token-file", Usage: "file holding the master's token (mode 0600; default workdir/master/token)"},
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
