package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"ferry/conf"
	"ferry/store"
	"ferry/store/backend"
	"ferry/stream/kafka"
	"ferry/task"
	"ferry/worker"
)

// env is what every command needs: the home, sys.properties, the workdir.
type env struct {
	home      string
	sys       *conf.Sys
	workdir   string
	masterDir string
	logsDir   string
	out, errw io.Writer
	// freshState is --fresh-state: a master may start with a new database
	// though jobs' audit directories remain.
	freshState bool
}

func loadEnv(c *cli.Context) (*env, error) {
	home, err := filepath.Abs(c.String("home"))
	if err != nil {
		return nil, usageErr("--home %s: %v", c.String("home"), err)
	}
	sysPath := c.String("sys")
	if sysPath == "" {
		sysPath = filepath.Join(home, "conf", "sys.properties")
	} else if _, err := os.Stat(sysPath); err != nil {
		// Only the default file may be missing (then defaults apply).
		return nil, usageErr("%s: cannot read: %v", sysPath, errors.Unwrap(err))
	}
	sys, err := conf.LoadSys(sysPath)
	if err != nil {
		return nil, confErr(err)
	}
	if err := sys.Resolve(home); err != nil {
		return nil, confErr(err)
	}
	e := &env{home: home, sys: sys, workdir: sys.WorkingDir, out: c.App.Writer, errw: c.App.ErrWriter, freshState: c.Bool("fresh-state")}
	e.masterDir = filepath.Join(e.workdir, "master")
	e.logsDir = filepath.Join(e.workdir, "logs")
	for _, w := range sys.Warnings {
		fmt.Fprintln(e.errw, "warning: "+w)
	}
	return e, nil
}

// confErr turns a configuration error into exit status 2.
func confErr(err error) error {
	var ce *conf.Error
	if errors.As(err, &ce) {
		return usageErr("%s", ce.Error())
	}
	return usageErr("%v", err)
}

// jobPath is the job.cfg named on the command line, or the default one.
func (e *env) jobPath(arg string) string {
	if arg == "" {
		return filepath.Join(e.home, "conf", "job.cfg")
	}
	return arg
}

// loadJob reads and checks a job.cfg, keeping its local paths out of the
// working directory; warnings go to stderr.
func (e *env) loadJob(path string) (*conf.Job, error) {
	j, err := conf.LoadJobWith(path, e.sys)
	if err != nil {
		return nil, confErr(err)
	}
	if err := j.Resolve(e.home); err != nil {
		return nil, confErr(err)
	}
	if err := j.CheckWorkingDir(e.sys); err != nil {
		return nil, confErr(err)
	}
	if err := checkSource(j); err != nil {
		return nil, err
	}
	for _, w := range j.Warnings {
		fmt.Fprintln(e.errw, "warning: "+w)
	}
	return j, nil
}

func openSource(s task.Spec) (store.Store, error) {
	opt := storeOptions(s, s.Src)
	opt.ListFile = s.SrcList
	return backend.Source(s.Src.Type, s.Src.Prefix, opt)
}

func openDest(s task.Spec) (store.Store, error) {
	return backend.Dest(s.Dest.Type, s.Dest.Prefix, storeOptions(s, s.Dest))
}

// storeOptions are the settings of a job's store at endpoint e.
func storeOptions(s task.Spec, e task.Endpoint) backend.Options {
	return backend.Options{
		FollowSymlinks: s.FollowSymlinks,
		Domain:         e.Domain, Bucket: e.Bucket,
		AccessKey: e.AccessKey, SecretKey: e.SecretKey.Reveal(),
		Region: e.Region, PathStyle: e.PathStyle,
		// Files above multipartUploadThreshold are resumable multipart
		// uploads driven by the worker; below it, the store's Put buffers at
		// most its own default (32 MiB) at a time, so memory stays bounded.
		PartSize:         s.Multipart.PartSize,
		HTTPListFile:     s.HTTPList.File,
		HTTPPrefixColumn: s.HTTPList.PrefixColumn, RelativePathColumn: s.HTTPList.RelativePathColumn,
		HTTPFollowRedirects: s.HTTPList.FollowRedirects,
		ScanThreads:         s.ScanThreads, ScanDepth: s.ScanDepth,
	}
}

// logger opens workdir/logs/<name>.log for appending.
func (e *env) logger(name string) (*slog.Logger, io.Closer, error) {
	if err := os.MkdirAll(e.logsDir, 0o755); err != nil {
		return nil, nil, failErr("create %s: %v", e.logsDir, err)
	}
	path := filepath.Join(e.logsDir, name+".log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, failErr("open log %s: %v", path, err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})), f, nil
}

// rel shows path relative to the current directory when that is shorter.
func rel(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	r, err := filepath.Rel(wd, path)
	if err != nil || strings.HasPrefix(r, "../..") {
		return path
	}
	return r
}

// newWorker is a worker configured from sys.properties, talking to its
// master through c.
func (e *env) newWorker(id, host string, c worker.Client, log *slog.Logger, taskDone func()) *worker.Worker {
	return worker.New(worker.Config{ID: id, Host: host, Threads: e.sys.WorkerTaskThreadNum,
		MaxTasks: e.sys.WorkerMaxTaskNum, RecordMD5: e.sys.WorkerRecordMd5, MaxThroughput: e.sys.WorkerRate(), Log: log,
		OpenSource: openSource, OpenDest: openDest, Streams: kafka.Runner{}, Tables: tables, TaskDone: taskDone}, c)
}

// checkSource refuses, as a configuration error, a local source directory
// that does not exist or is not a directory: better than a job that fails
// at once and must be cleaned before it can be fixed.
func checkSource(j *conf.Job) error {
	if j.SrcType != "local" {
		return nil
	}
	_, line, _ := j.Get("srcPrefix")
	fi, err := os.Stat(j.SrcPrefix)
	switch {
	case err != nil:
		return usageErr("%s:%d: srcPrefix: %s: %v", j.File, line, j.SrcPrefix, errors.Unwrap(err))
	case !fi.IsDir():
		return usageErr("%s:%d: srcPrefix: %s is not a directory", j.File, line, j.SrcPrefix)
	}
	return nil
}

// probeStores opens a job's object-store and URL-list sides before anything
// is written, so that the classic mistakes (wrong keys, a missing bucket,
// the bucket in the endpoint, a skewed clock) stop the command with one
// line and exit status 2 instead of a job that fails at once.
func probeStores(j *conf.Job) error {
	if conf.IsTableType(j.SrcType) {
		return probeTables(j)
	}
	spec := j.Spec()
	if spec.IsStream() {
		// Both clusters answer, every named topic is there and no
		// destination topic has too few partitions.
		if _, err := kafka.Discover(context.Background(), spec); err != nil {
			return usageErr("%s: %v", j.File, err)
		}
		return nil
	}
	if j.SrcType != "local" {
		s, err := openSource(spec)
		if err != nil {
			return usageErr("%s: source: %v", j.File, err)
		}
		store.Close(s)
	}
	if j.DestType != "local" {
		s, err := openDest(spec)
		if err != nil {
			return usageErr("%s: destination: %v", j.File, err)
		}
		store.Close(s)
	}
	return nil
}
