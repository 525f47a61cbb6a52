package console

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"
	"google.golang.org/grpc/status"

	"ferry/conf"
	"ferry/deploy"
	pb "ferry/proto"
	"ferry/rpc"
)

func deployCommand() *cli.Command {
	return &cli.Command{
		Name:  "deploy",
		Usage: "ship bin/ferry and the worker config to every host in conf/workers over SSH and start the workers",
		Description: "Reads conf/workers (one [user@]host[:port] a line) and the SSH keys of sys.properties\n" +
			"(workerUser, workerPassword or privateKeyFile, sshPort, knownHostsFile, workingDir,\n" +
			"masterAddress). Host keys are checked against knownHostsFile. Starts the master first\n" +
			"when it is not running. Prints one line per host, OK or why not; exit 1 if any failed.\n" +
			"Each host gets a credential of its own (not the master's token): it lets that host's\n" +
			"worker lease and report as itself, nothing else; `console.sh revoke <host>` withdraws it.\n" +
			"Running it again is safe: it uploads only a changed binary, restarts the workers and\n" +
			"gives each a fresh credential.",
		Action: func(c *cli.Context) error {
			e, err := loadEnv(c)
			if err != nil {
				return err
			}
			hosts, err := conf.LoadWorkers(e.workersFile())
			if err != nil {
				return confErr(err)
			}
			if len(hosts) == 0 {
				return usageErr("%s lists no host: nothing to deploy (with no host, `console.sh start` runs a local worker)", rel(e.workersFile()))
			}
			cfg := deploy.ConfigFromSys(e.sys)
			cfg.Binary, err = os.Executable()
			if err != nil {
				return failErr("find ferry binary: %v", err)
			}
			// The certificate is the master's: made now if this is its
			// first start, read by the master when it starts.
			if cfg.CACert, _, err = rpc.LoadOrCreateCert(e.masterDir); err != nil {
				return failErr("master certificate: %v", err)
			}
			// Each host gets a credential of its own, issued by the master
			// once the host's old worker is stopped (deploy.Config).
			var cl *ctl
			cfg.Credential = func(ctx context.Context, id string) (conf.Secret, error) {
				r, err := cl.IssueCredential(ctx, &pb.IssueCredentialRequest{WorkerId: id})
				if err != nil {
					return "", fmt.Errorf("issue a credential: %s", status.Convert(err).Message())
				}
				return conf.Secret(r.Secret), nil
			}
			if err := cfg.Validate(); err != nil {
				return usageErr("%v", err)
			}
			cl, err = e.dialRunning(c.Context)
			if err != nil {
				if err := e.startDaemon(c.Context); err != nil {
					return err
				}
				if cl, err = e.dialRunning(c.Context); err != nil {
					return failErr("master started but does not answer: %v", err)
				}
			}
			defer cl.close()
			since := time.Now()
			cfg.Registered = func(ctx context.Context, id string) error { return registered(ctx, cl, id, since) }
			fmt.Fprintf(e.out, "deploying to %d host(s)...\n", len(hosts))
			failed := 0
			for _, r := range deploy.Deploy(c.Context, cfg, deploy.TargetsOf(hosts)) {
				fmt.Fprintln(e.out, r.String())
				if !r.OK {
					failed++
				}
			}
			if failed > 0 {
				return failErr("%d of %d host(s) failed", failed, len(hosts))
			}
			return nil
		},
	}
}

func (e *env) workersFile() string { return filepath.Join(e.home, "conf", "workers") }

// registered waits until the master has seen worker id register since t.
func registered(ctx context.Context, cl *ctl, id string, since time.Time) error {
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		r, err := cl.Stat(ctx, &pb.StatRequest{Job: "", Workers: true})
		if err == nil {
			for _, w := range r.Workers {
				if w.WorkerId == id && w.RegisteredUnixMs >= since.UnixMilli() {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// stopRemaining stops over SSH the workers a draining master could not
// reach, and reports each.
func (e *env) stopRemaining(ctx context.Context, remaining []string) {
	if len(remaining) == 0 {
		return
	}
	hosts, err := conf.LoadWorkers(e.workersFile())
	if err != nil || len(hosts) == 0 {
		return
	}
	left := make(map[string]bool, len(remaining))
	for _, id := range remaining {
		left[id] = true
	}
	var targets []deploy.Target
	for _, t := range deploy.TargetsOf(hosts) {
		if left[deploy.DefaultID(t.Host)] {
			targets = append(targets, t)
		}
	}
	if len(targets) == 0 {
		return
	}
	cfg := deploy.ConfigFromSys(e.sys)
	for _, r := range deploy.Stop(ctx, cfg, targets) {
		fmt.Fprintln(e.out, "stop worker "+r.String())
	}
}
