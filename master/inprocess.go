package master

import (
	"context"
	"errors"
	"fmt"
	"time"

	"ferry/task"
	"ferry/tracker"
)

// InProcess is the worker's client of a master in the same process
// (`console run`, and `start` in standalone mode): it calls the master's
// methods directly. Over gRPC on loopback, the same calls cost a protobuf
// encoding and decoding of every manifest entry and audit record, TLS and
// HTTP/2: on the bench's small files, a tenth of the CPU of the whole
// copy. A worker sees the same answers either way (rpc.Client gives the
// same task errors for the same status codes), and leases are handed over
// as copies that share nothing with the master's records. There is no
// token to check: nothing crosses a process boundary. It implements
// worker.Client, which the worker declares; console checks that it does.
type InProcess struct {
	m *Master
}

// NewInProcess returns the in-process client of m.
func NewInProcess(m *Master) *InProcess { return &InProcess{m: m} }

func (c *InProcess) Register(ctx context.Context, id, host string, threads int) (time.Duration, error) {
	if id == "" {
		return 0, errors.New("register: worker id is empty")
	}
	if err := c.m.Register(ctx, id, host, threads); err != nil {
		return 0, err
	}
	return c.m.LeaseDuration(), nil
}

func (c *InProcess) Lease(ctx context.Context, id string, max int) ([]task.Lease, error) {
	g, err := c.m.Grant(ctx, id, max)
	if err != nil {
		return nil, err
	}
	if len(g.Leases) == 0 {
		if g.Stop {
			return nil, task.ErrStopping
		}
		sleep(ctx, g.RetryAfter)
		return nil, nil
	}
	for i := range g.Leases {
		l := &g.Leases[i]
		// The entries and uploads are decoded for this lease; the spec's
		// lists may be shared with the job cache.
		l.Spec = l.Spec.Clone()
		l.Deadline = time.UnixMilli(l.Deadline.UnixMilli())
		l.Limits = g.Limits[l.Job]
	}
	return g.Leases, nil
}

func (c *InProcess) Renew(ctx context.Context, id string, refs []task.LeaseRef) ([]task.LeaseRef, error) {
	lost, _, err := c.m.Renew(ctx, id, refs)
	if err != nil {
		return nil, err
	}
	if c.m.Stopping() {
		return lost, task.ErrStopping
	}
	return lost, nil
}

func (c *InProcess) Complete(ctx context.Context, id string, ref task.LeaseRef, outcomes []task.Outcome, started time.Time) error {
	_, err := c.m.Complete(ctx, id, ref, outcomes, time.UnixMilli(started.UnixMilli()))
	return staleErr(err)
}

func (c *InProcess) Report(ctx context.Context, id string, copied int64, stats task.WorkerStats, audits map[task.LeaseRef][]tracker.Record, progress []tracker.TaskProgress) (map[string]task.Limits, error) {
	limits, stop, err := c.m.ReportFor(ctx, id, copied, audits, progress)
	if err != nil {
		return nil, err
	}
	c.m.NoteStats(id, stats)
	if stop {
		return limits, task.ErrStopping
	}
	return limits, nil
}

func (c *InProcess) Leave(ctx context.Context, id string) error { return c.m.Leave(ctx, id) }

func (c *InProcess) SaveUpload(ctx context.Context, id string, ref task.LeaseRef, u task.UploadState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return staleErr(c.m.SaveUpload(id, ref, u))
}

// staleErr wraps task.ErrStaleLease around the errors rpc.Client maps to
// it (a lease that is not current, a job that is gone or running again).
func staleErr(err error) error {
	if err != nil && !errors.Is(err, task.ErrStaleLease) && (errors.Is(err, task.ErrNoJob) || errors.Is(err, task.ErrJobActive)) {
		return fmt.Errorf("%w: %v", task.ErrStaleLease, err)
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
