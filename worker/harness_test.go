package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ferry/master"
	"ferry/store"
	"ferry/store/local"
	"ferry/task"
	"ferry/worker"
)

// cluster is a real master, keeping its state in dir/master and scanning
// local sources, run until the test ends; tests submit jobs to it and run
// real workers (in process: master.NewInProcess) until a job ends.
type cluster struct {
	t   *testing.T
	dir string
	m   *master.Master
	ctx context.Context // ends with the test, or after 30 s
}

func newCluster(t *testing.T, dir string) *cluster {
	t.Helper()
	m, err := master.Open(master.Config{Dir: filepath.Join(dir, "master"), LeaseDur: time.Minute,
		OpenSource: func(s task.Spec) (store.Store, error) { return local.New(s.Src.Prefix, local.Options{}) }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	ran := make(chan struct{})
	go func() { defer close(ran); m.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-ran; m.Close() })
	return &cluster{t: t, dir: dir, m: m, ctx: ctx}
}

// submit submits spec and waits until its scan has finished.
func (c *cluster) submit(spec task.Spec) {
	c.t.Helper()
	if err := c.m.Submit(c.ctx, spec); err != nil {
		c.t.Fatal(err)
	}
	for !c.stat(spec.Name).ScanFinished {
		if c.ctx.Err() != nil {
			c.t.Fatalf("the scan of %s did not finish", spec.Name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *cluster) stat(job string) master.JobStat {
	c.t.Helper()
	st, err := c.m.Stat(c.ctx, job)
	if err != nil {
		c.t.Fatal(err)
	}
	return st[0]
}

// work runs a worker with cfg (ID and Host defaulted) until job is no
// longer active, and returns the job's state then.
func (c *cluster) work(job string, cfg worker.Config) master.JobStat {
	c.t.Helper()
	if cfg.ID == "" {
		cfg.ID, cfg.Host = "w", "h"
	}
	w := worker.New(cfg, master.NewInProcess(c.m))
	ctx, cancel := context.WithCancel(c.ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for {
		if st := c.stat(job); !st.Active() {
			return st
		}
		if c.ctx.Err() != nil {
			c.t.Fatalf("job %s did not end", job)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// attemptFiles returns the concatenated contents of the file named name in
// each of job's audit directories under parent ("failed_tasks",
// "succeed_tasks").
func (c *cluster) attemptFiles(job, parent, name string) string {
	paths, _ := filepath.Glob(filepath.Join(c.dir, "master", "jobs", job, parent, "*", name))
	var all string
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		all += string(b)
	}
	return all
}
