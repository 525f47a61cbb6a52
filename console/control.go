package console

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "ferry/proto"
	"ferry/rpc"
)

// ctl is a Control client: to the running master when there is one, else
// to an offline master opened on the database just for this command.
type ctl struct {
	pb.ControlClient
	conn    *grpc.ClientConn
	offline *engine
}

func (c *ctl) close() {
	c.conn.Close()
	if c.offline != nil {
		c.offline.close()
	}
}

// control connects to the running master, or opens the state offline.
func (e *env) control(ctx context.Context) (*ctl, error) {
	if c, err := e.dialRunning(ctx); err == nil {
		return c, nil
	}
	eng, err := e.startEngine(ctx, engineOpts{listen: "127.0.0.1:0"})
	if err != nil {
		return nil, err
	}
	conn, err := eng.dial()
	if err != nil {
		eng.close()
		return nil, failErr("connect to offline master: %v", err)
	}
	return &ctl{ControlClient: pb.NewControlClient(conn), conn: conn, offline: eng}, nil
}

// dialRunning connects to the master the workdir says is running.
func (e *env) dialRunning(ctx context.Context) (*ctl, error) {
	addr := e.readAddress()
	if addr == "" {
		return nil, errNoMaster
	}
	tok, err := rpc.ReadToken(rpc.TokenFile(e.masterDir))
	if err != nil {
		return nil, err
	}
	cert, err := os.ReadFile(rpc.CertFile(e.masterDir))
	if err != nil {
		return nil, err
	}
	conn, err := rpc.DialPinned(addr, tok, cert)
	if err != nil {
		return nil, err
	}
	c := &ctl{ControlClient: pb.NewControlClient(conn), conn: conn}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := c.Stat(pctx, &pb.StatRequest{Job: "\x00probe"}, grpc.WaitForReady(false)); status.Code(err) != codes.NotFound {
		conn.Close()
		if err == nil {
			err = fmt.Errorf("unexpected answer from %s", addr)
		}
		return nil, err
	}
	return c, nil
}

// rpcErr turns a Control error into a one-line console error.
func rpcErr(op string, err error) error {
	s := status.Convert(err)
	switch s.Code() {
	case codes.NotFound:
		return failErr("%s", s.Message())
	case codes.FailedPrecondition, codes.AlreadyExists:
		return failErr("%s", s.Message())
	case codes.InvalidArgument:
		return usageErr("%s", s.Message())
	case codes.Unauthenticated:
		return failErr("%s: the master refused our token (%s)", op, s.Message())
	}
	return failErr("%s: %s", op, s.Message())
}

func submitCommand() *cli.Command {
	return &cli.Command{
		Name:      "submit",
		Usage:     "submit a job to the master (default conf/job.cfg)",
		ArgsUsage: "[job.cfg]",
		Description: "Checks job.cfg and stores the job; the running master (console.sh start) scans\n" +
			"and copies it. Without a running master the job waits until one starts.",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "dry-run", Usage: "scan and print how many entries and bytes would be copied, skipped, excluded and deleted; write nothing"},
		},
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			if c.NArg() > 1 {
				return usageErr("submit takes one job.cfg, got %d arguments", c.NArg())
			}
			j, err := e.loadJob(e.jobPath(c.Args().First()))
			if err != nil {
				return err
			}
			if c.Bool("dry-run") && j.SrcType == "kafka" {
				return e.dryRunStream(c.Context, j)
			}
			if c.Bool("dry-run") {
				return e.dryRun(c.Context, j)
			}
			if err := probeStores(j); err != nil {
				return err
			}
			cl, err := e.control(c.Context)
			if err != nil {
				return err
			}
			defer cl.close()
			spec := j.Spec()
			_, err = cl.Submit(c.Context, &pb.SubmitRequest{Spec: rpc.SpecToPB(spec)})
			if status.Code(err) == codes.AlreadyExists {
				return failErr("job %s already exists; run `console.sh clean %s` first to submit it again, or give the job another jobName", j.Name, j.Name)
			}
			if err != nil {
				return rpcErr("submit", err)
			}
			fmt.Fprintf(e.out, "submit job:%s success!\n", j.Name)
			if cl.offline != nil {
				fmt.Fprintln(e.errw, "note: no master is running; start one with `console.sh start` (or use `console.sh run`) to copy it")
			}
			return nil
		},
	}
}

// defaultJob is the job a command means when none is named: the one in
// conf/job.cfg.
func (e *env) defaultJob(c *cli.Context) (string, error) {
	if c.NArg() > 1 {
		return "", usageErr("%s takes one job name, got %d arguments", c.Command.Name, c.NArg())
	}
	if name := c.Args().First(); name != "" {
		return name, nil
	}
	j, err := e.loadJob(e.jobPath(""))
	if err != nil {
		return "", err
	}
	return j.Name, nil
}

func retryCommand() *cli.Command {
	return &cli.Command{
		Name:      "retry",
		Usage:     "re-queue the failed entries (only those) of a job",
		ArgsUsage: "[job]",
		Description: "Default job: the jobName in conf/job.cfg. Only the entries listed in the failed\n" +
			"tasks' error.list are copied again; a job whose scan failed scans again from where it stopped.",
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			name, err := e.defaultJob(c)
			if err != nil {
				return err
			}
			cl, err := e.control(c.Context)
			if err != nil {
				return err
			}
			defer cl.close()
			r, err := cl.Retry(c.Context, &pb.RetryRequest{Job: name})
			if err != nil {
				return rpcErr("retry", err)
			}
			if r.Tasks == 0 {
				fmt.Fprintf(e.out, "None failed tasks for job:%s\n", name)
				return nil
			}
			fmt.Fprintln(e.out, "Retry has been submitted.")
			if cl.offline != nil {
				fmt.Fprintf(e.errw, "note: no master is running; `console.sh run` (or `console.sh start`) copies the %d re-queued entries\n", r.Entries)
			}
			return nil
		},
	}
}

func cleanCommand() *cli.Command {
	return &cli.Command{
		Name:      "clean",
		Usage:     "forget a job: its tasks, counters and audit logs (the copied data stays)",
		ArgsUsage: "<job>",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "force", Usage: "clean even a job that is still scanning or running"},
		},
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			if c.NArg() != 1 {
				return usageErr("clean needs exactly one job name (see `console.sh stat` for the jobs)")
			}
			name := c.Args().First()
			cl, err := e.control(c.Context)
			if err != nil {
				return err
			}
			defer cl.close()
			_, err = cl.Clean(c.Context, &pb.CleanRequest{Job: name, Force: c.Bool("force")})
			if status.Code(err) == codes.FailedPrecondition {
				return failErr("job %s is still running; wait for it, stop the master, or use `clean --force %s`", name, name)
			}
			if err != nil {
				return rpcErr("clean", err)
			}
			fmt.Fprintf(e.out, "clean job:%s success!\n", name)
			return nil
		},
	}
}
