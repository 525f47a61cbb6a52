package state

import (
	"sort"

	bolt "go.etcd.io/bbolt"

	"ferry/task"
)

// Rebalance makes room for worker in the continuous stream jobs whose
// tasks are all held by others: a worker that joins after such a job
// started would otherwise idle while the first ones keep every
// partition until the job is stopped. Where worker holds fewer than its
// share (SpreadShare) and no task is pending for it, the tasks that
// other workers hold beyond their own share go back to pending, the
// most loaded worker's first, as many as worker lacks, for its next
// lease to take. Their holders learn it at their next renewal (the
// lease is no longer current) and stop; a stream's fencing keeps an old
// holder and the new one from writing at once. It names the leases
// ended.
func (d *DB) Rebalance(worker string) ([]task.LeaseRef, error) {
	alive := d.workers.Load()
	if alive == nil {
		return nil, nil
	}
	// Reads first: most calls find no continuous job, or nothing to
	// move, and a write would cost a commit. The count of workers alive
	// is asked for only when there is such a job.
	var jobs []string
	workers := 0
	err := d.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bktJobs).ForEachBucket(func(k []byte) error {
			jt, err := d.openJob(tx, string(k))
			if err != nil || !jt.continuous() {
				return err
			}
			if workers == 0 {
				workers = (*alive)()
			}
			moves, err := jt.extra(worker, workers)
			if err == nil && len(moves) > 0 {
				jobs = append(jobs, string(k))
			}
			return err
		})
	})
	if err != nil || len(jobs) == 0 {
		return nil, err
	}
	var refs []task.LeaseRef
	err = d.write(func(tx *bolt.Tx) error {
		refs = refs[:0] // a batched transaction may run again
		for _, name := range jobs {
			jt, err := d.openJob(tx, name)
			if err != nil {
				return err
			}
			moves, err := jt.extra(worker, workers)
			if err != nil || len(moves) == 0 {
				if err != nil {
					return err
				}
				continue
			}
			for _, t := range moves {
				refs = append(refs, task.LeaseRef{Job: name, TaskID: t.ID, LeaseID: t.LeaseID})
				t.LeaseID, t.Deadline, t.Worker = 0, 0, ""
				if err := jt.move(t, Dispatched, Pending); err != nil {
					return err
				}
			}
			if err := jt.save(); err != nil {
				return err
			}
		}
		return nil
	})
	return refs, err
}

// extra returns the dispatched tasks of jt that Rebalance gives back to
// pending for worker, out of `workers` alive: none unless jt is an active
// continuous stream job where worker holds less than its share with
// nothing pending.
func (jt *jobTx) extra(worker string, workers int) ([]*Task, error) {
	if !jt.continuous() || workers <= 1 {
		return nil, nil
	}
	c := jt.job.Counters.Tasks
	share := SpreadShare(int(c[Pending]+c[Dispatched]+c[Failed]+c[Succeeded]), workers)
	held := map[string][]*Task{}
	err := jt.bucket(Dispatched).ForEach(func(k, _ []byte) error {
		t, err := jt.get(Dispatched, be64(k))
		if err == nil && t != nil {
			held[t.Worker] = append(held[t.Worker], t)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	lack := share - len(held[worker]) - int(c[Pending])
	if lack <= 0 {
		return nil, nil
	}
	var donors []string
	for w, ts := range held {
		if w != worker && len(ts) > share {
			donors = append(donors, w)
		}
	}
	sort.Slice(donors, func(i, j int) bool {
		if a, b := len(held[donors[i]]), len(held[donors[j]]); a != b {
			return a > b
		}
		return donors[i] < donors[j]
	})
	var out []*Task
	for _, w := range donors {
		ts := held[w]
		for _, t := range ts[share:] { // the ones with the highest IDs
			if len(out) == lack {
				return out, nil
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// continuous reports whether jt is an active continuous stream job.
func (jt *jobTx) continuous() bool {
	return jt.job.Active() && jt.job.Spec.IsStream() && jt.job.Spec.Stream.Continuous
}
