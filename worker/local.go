package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"ferry/master"
	"ferry/tracker"
)

// Local is the Client of a worker that runs in its master's process
// (`console run`, and `start` in standalone mode): it calls the master's
// methods directly. Over gRPC on loopback, the same calls cost a protobuf
// encoding and decoding of every manifest entry and audit record, TLS and
// HTTP/2: on the bench's small files, a tenth of the CPU of the whole
// copy. A worker sees the same answers either way: the master's errors map
// to the same sentinel errors as GRPC's status codes, and leases are
// handed over as the copies a decoded reply would be. There is no token to
// check: nothing crosses a process boundary.
type Local struct {
	m *master.Master
}

var _ Client = (*Local)(nil)

// NewLocal returns a Client calling m.
func NewLocal(m *master.Master) *Local { return &Local{m: m} }

func (c *Local) Register(ctx context.Context, id, host string, threads int) (time.Duration, error) {
	if id == "" {
		return 0, errors.New("register: worker id is empty")
	}
	if err := c.m.Register(ctx, id, host, threads); err != nil {
		return 0, err
	}
	return c.m.LeaseDuration(), nil
}

func (c *Local) Lease(ctx context.Context, id string, max int) ([]master.Lease, error) {
	rep, err := c.m.LeaseFor(ctx, id, max)
	if err != nil {
		return nil, err
	}
	if len(rep.Leases) == 0 {
		if rep.Stop {
			return nil, ErrStopping
		}
		sleep(ctx, rep.RetryAfter)
		return nil, nil
	}
	for i := range rep.Leases {
		l := &rep.Leases[i]
		// The entries and uploads are decoded for this lease. The spec
		// keeps what the wire carries, in a map of its own (the master's
		// may be shared with its job cache).
		l.Spec = master.SpecFromPB(master.SpecToPB(l.Spec))
		l.Spec.Extra = maps.Clone(l.Spec.Extra)
		l.Deadline = time.UnixMilli(l.Deadline.UnixMilli())
		l.Limits = rep.Limits[l.Job]
	}
	return rep.Leases, nil
}

func (c *Local) Renew(ctx context.Context, id string, refs []master.LeaseRef) ([]master.LeaseRef, error) {
	lost, _, err := c.m.Renew(ctx, id, refs)
	if err != nil {
		return nil, err
	}
	if c.m.Stopping() {
		return lost, ErrStopping
	}
	return lost, nil
}

func (c *Local) Complete(ctx context.Context, id string, ref master.LeaseRef, results []master.EntryResult, started time.Time) error {
	_, err := c.m.Complete(ctx, id, ref, results, time.UnixMilli(started.UnixMilli()))
	return staleErr(err)
}

func (c *Local) Report(ctx context.Context, id string, copied int64, audits map[master.LeaseRef][]tracker.Record, progress []tracker.TaskProgress) (map[string]master.Limits, error) {
	limits, stop, err := c.m.ReportFor(ctx, id, copied, audits, progress)
	if err != nil {
		return nil, err
	}
	if stop {
		return limits, ErrStopping
	}
	return limits, nil
}

func (c *Local) Leave(ctx context.Context, id string) error { return c.m.Leave(ctx, id) }

func (c *Local) SaveUpload(ctx context.Context, id string, ref master.LeaseRef, u master.UploadState) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return staleErr(c.m.SaveUpload(id, ref, u))
}

// staleErr is ErrStale for the master's errors that GRPC maps to it (a
// lease that is not current, a job that is gone), else err.
func staleErr(err error) error {
	if errors.Is(err, master.ErrStaleLease) || errors.Is(err, master.ErrNoJob) || errors.Is(err, master.ErrJobActive) {
		return fmt.Errorf("%w: %v", ErrStale, err)
	}
	return err
}
