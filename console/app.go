// Package console is ferry's command line (urfave/cli/v2): the only place
// that prints for people and decides exit codes. Exit 0 means everything
// asked for was done, 1 that some of it failed (entries of a job, a
// daemon), 2 bad usage or configuration, 3 that the master's database is
// damaged, or gone while its jobs' audit directories remain.
package console

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"ferry/internal/gctune"
	"ferry/task"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
	ExitState  = 3
)

// exitErr carries a one-line message and an exit code out of a command.
type exitErr struct {
	code int
	msg  string
}

func (e *exitErr) Error() string { return e.msg }

func usageErr(format string, a ...any) error {
	return &exitErr{ExitUsage, fmt.Sprintf(format, a...)}
}

func failErr(format string, a ...any) error {
	return &exitErr{ExitFailed, fmt.Sprintf(format, a...)}
}

// silentExit ends a command with a code after it printed its own output.
func silentExit(code int) error { return &exitErr{code: code} }

// Main runs the console with args (os.Args) and returns the exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	gctune.Apply()
	app := newApp(stdout, stderr)
	err := app.Run(permuteArgs(app, args))
	if err == nil {
		return ExitOK
	}
	var ee *exitErr
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "ferry: "+ee.msg)
		}
		return ee.code
	}
	// urfave/cli's own usage errors (unknown flag, ...).
	fmt.Fprintln(stderr, "ferry: "+err.Error())
	return ExitUsage
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:  "ferry",
		Usage: "move millions of files between storage systems, verified, resumable, across many hosts",
		Description: "ferry is a successor to Alibaba Cloud's ossimport: it reads the same conf/job.cfg,\n" +
			"conf/sys.properties and conf/workers files and answers the same console commands.\n" +
			"Quick start: ./console.sh run   (copies the bundled sample/ tree into workdir/dest/)",
		Version:         task.Version,
		Writer:          stdout,
		ErrWriter:       stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {}, // Main prints and exits
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "home", Usage: "ferry's home: holds conf/ and workdir/ (relative paths in config files are resolved against it)", EnvVars: []string{"FERRY_HOME"}, Value: "."},
			&cli.StringFlag{Name: "sys", Usage: "sys.properties to use (default HOME/conf/sys.properties)"},
			&cli.BoolFlag{Name: "fresh-state", Usage: "start with a new master database although the old one is missing or empty and jobs' audit directories remain (they are kept; the jobs are forgotten)"},
		},
		Commands: []*cli.Command{
			runCommand(),
			startCommand(),
			stopCommand(),
			deployCommand(),
			verifyCommand(),
			reportCommand(),
			throttleCommand(),
			submitCommand(),
			statCommand(),
			retryCommand(),
			cleanCommand(),
			revokeCommand(),
			versionCommand(),
			masterCommand(),
			workerCommand(),
		},
		CommandNotFound: func(c *cli.Context, name string) {
			fmt.Fprintf(stderr, "ferry: unknown command %q; see `console.sh --help`\n", name)
			os.Exit(ExitUsage)
		},
	}
}

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print ferry's version",
		Action: func(c *cli.Context) error {
			fmt.Fprintf(c.App.Writer, "ferry %s\n", task.Version)
			return nil
		},
	}
}
