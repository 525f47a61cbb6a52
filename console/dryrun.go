package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"ferry/conf"
	"ferry/plan"
	"ferry/store"
	"ferry/store/backend"
	"ferry/task"
	"ferry/tracker"
)

// dryRun prints what a job would do, without writing anything: it merges
// the source and destination listings under the job's filters, update rule
// and mirror setting, and counts the entries and bytes it would copy,
// skip, exclude and delete, with the first few keys of each.
func (e *env) dryRun(ctx context.Context, j *conf.Job) error {
	if conf.IsTableType(j.SrcType) {
		return e.dryRunTable(ctx, j)
	}
	spec := j.Spec()
	opt, err := plan.OptionsOf(spec)
	if err != nil {
		return usageErr("%s: %v", j.File, err)
	}
	src, err := openSource(spec)
	if err != nil {
		return failErr("open source: %v", err)
	}
	defer store.Close(src)
	dst, err := openDestReadOnly(spec)
	if err != nil {
		return failErr("open destination: %v", err)
	}
	defer store.Close(dst)
	const show = 5
	type tally struct {
		n, bytes int64
		first    []plan.Item
	}
	var t [4]tally
	err = plan.Diff(ctx, src, dst, opt, "", func(it plan.Item) error {
		x := &t[it.Action]
		x.n++
		x.bytes += it.Entry.Size
		if len(x.first) < show {
			x.first = append(x.first, it)
		}
		return nil
	})
	if err != nil {
		return failErr("dry run of job %s: %v", j.Name, err)
	}
	maxDelete := spec.MaxDelete
	fmt.Fprintf(e.out, "dry run of job %s: %s -> %s (nothing written)\n", j.Name, spec.Src.Prefix, spec.Dest.Prefix)
	for _, a := range []plan.Action{plan.Copy, plan.Skip, plan.Exclude, plan.Delete} {
		x := t[a]
		fmt.Fprintf(e.out, "  %-8s %8d entries  %10s\n", a, x.n, humanBytes(float64(x.bytes)))
		printFirst(e.out, x.first, x.n)
	}
	if opt.Mirror && t[plan.Delete].n > maxDelete {
		fmt.Fprintf(e.out, "  note: the mirror would stop before deleting anything: %d deletions exceed maxDelete=%d\n", t[plan.Delete].n, maxDelete)
	}
	return nil
}

func printFirst(w io.Writer, items []plan.Item, total int64) {
	for _, it := range items {
		if it.Reason != "" {
			fmt.Fprintf(w, "           %s  (%s)\n", tracker.Escape(it.Entry.Key), it.Reason)
		} else {
			fmt.Fprintf(w, "           %s\n", tracker.Escape(it.Entry.Key))
		}
	}
	if total > int64(len(items)) {
		fmt.Fprintf(w, "           ... and %d more\n", total-int64(len(items)))
	}
}

// openDestReadOnly opens a job's destination without creating anything:
// a local destination that does not exist yet lists as empty.
func openDestReadOnly(s task.Spec) (store.Store, error) {
	if s.Dest.Type == "local" {
		if _, err := os.Stat(s.Dest.Prefix); errors.Is(err, fs.ErrNotExist) {
			return emptyStore{}, nil
		}
		return backend.Source("local", s.Dest.Prefix, backend.Options{})
	}
	return openDest(s)
}

// emptyStore is a destination that does not exist yet.
type emptyStore struct{}

var errEmpty = fmt.Errorf("destination does not exist yet: %w", store.ErrNotExist)

func (emptyStore) List(context.Context, string, string, func(store.Entry) error) error { return nil }
func (emptyStore) Stat(context.Context, string) (store.Entry, error)                   { return store.Entry{}, errEmpty }
func (emptyStore) Open(context.Context, string, int64, int64) (io.ReadCloser, error) {
	return nil, errEmpty
}
func (emptyStore) Put(context.Context, string, io.Reader, store.Entry, store.PutOptions) (store.Entry, error) {
	return store.Entry{}, errors.New("dry run writes nothing")
}
