package state

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"ferry/task"

	"ferry/store"
	"ferry/tracker"
)

// The operations of the property test: each calls the database, checks
// what it returned against the model, and moves the model along.

var keySuffixes = []string{"", "", "", "\xff", "\ttab", "\nnl", " é", "\\"}

func (p *prop) addTask(name string, n int, final bool) error {
	j := p.jobs[name]
	entries := make([]store.Entry, n)
	for i := range entries {
		j.nextKey++
		entries[i] = store.Entry{
			Key:   fmt.Sprintf("%s/%06d%s", name, j.nextKey, keySuffixes[p.r.IntN(len(keySuffixes))]),
			Size:  p.r.Int64N(5000),
			MTime: time.Unix(1_700_000_000+int64(j.nextKey), 0),
		}
	}
	p.logf("AddTask(%s, %d entries, final=%v)", name, n, final)
	if err := p.d.AddTask(name, entries, final); err != nil {
		return fmt.Errorf("AddTask: %w", err)
	}
	if n > 0 {
		j.nextTask++
		j.tasks[j.nextTask] = &propTask{id: j.nextTask, state: Pending, entries: entries}
		for _, e := range entries {
			if _, dup := j.keys[e.Key]; dup {
				return fmt.Errorf("test bug: key %q scanned twice", e.Key)
			}
			j.keys[e.Key], j.sizes[e.Key] = kQueued, e.Size
			j.everScanned++
			j.everScannedSz += e.Size
		}
		j.scanAfter = entries[n-1].Key
	}
	j.scanFinished = j.scanFinished || final
	return nil
}

func (p *prop) lease(w string, max int, after string) error {
	i, _ := slices.BinarySearch(p.names, after)
	if i < len(p.names) && p.names[i] == after {
		i++
	}
	order := append(slices.Clone(p.names[i:]), p.names[:i]...)
	var want []*propTask
	var wantJob []string
	for _, name := range order {
		for _, t := range p.jobs[name].sortedTasks(Pending) {
			if len(want) < max {
				want, wantJob = append(want, t), append(wantJob, name)
			}
		}
	}
	p.logf("LeaseTasks(%s, %d, %q) want %d", w, max, after, len(want))
	got, err := p.d.LeaseTasks(w, max, after)
	if err != nil {
		return fmt.Errorf("LeaseTasks: %w", err)
	}
	if len(got) != len(want) {
		return fmt.Errorf("LeaseTasks(%s, %d, %q) granted %d tasks, want %d", w, max, after, len(got), len(want))
	}
	deadline := p.now.Add(propLeaseDur).UnixMilli()
	for k, l := range got {
		t := want[k]
		p.nextLease++
		t.state, t.attempt, t.lease, t.worker, t.deadline = Dispatched, t.attempt+1, p.nextLease, w, deadline
		ref := task.LeaseRef{Job: wantJob[k], TaskID: t.id, LeaseID: p.nextLease}
		if l.Job != ref.Job || l.TaskID != ref.TaskID || l.LeaseID != ref.LeaseID || l.Attempt != t.attempt ||
			l.Deadline.UnixMilli() != deadline || l.Spec.Name != ref.Job {
			return fmt.Errorf("lease %d: got %s/%d lease %d attempt %d deadline %d, want %s/%d lease %d attempt %d deadline %d",
				k, l.Job, l.TaskID, l.LeaseID, l.Attempt, l.Deadline.UnixMilli(), ref.Job, ref.TaskID, ref.LeaseID, t.attempt, deadline)
		}
		if err := sameEntries(l.Entries, t.entries); err != nil {
			return fmt.Errorf("lease %v entries: %w", ref, err)
		}
		p.granted = append(p.granted, ref)
		p.held[w] = append(p.held[w], ref)
	}
	return nil
}

func sameEntries(got, want []store.Entry) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d entries, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Key != want[i].Key || got[i].Size != want[i].Size || !got[i].MTime.Equal(want[i].MTime) {
			return fmt.Errorf("entry %d: got %q/%d/%v, want %q/%d/%v", i,
				got[i].Key, got[i].Size, got[i].MTime, want[i].Key, want[i].Size, want[i].MTime)
		}
	}
	return nil
}

func (p *prop) renew(w string) error {
	var refs []task.LeaseRef
	for _, h := range p.held[w] {
		if p.r.IntN(4) != 0 {
			refs = append(refs, h)
		}
	}
	if len(p.granted) > 0 && p.r.IntN(3) == 0 {
		refs = append(refs, p.granted[p.r.IntN(len(p.granted))])
	}
	if p.r.IntN(10) == 0 {
		refs = append(refs, task.LeaseRef{Job: "nojob", TaskID: 1, LeaseID: 1})
	}
	var wantLost []task.LeaseRef
	for _, r := range refs {
		if !p.isCurrent(r) {
			wantLost = append(wantLost, r)
		}
	}
	p.logf("Renew(%s, %v) want lost %v", w, refs, wantLost)
	var before map[string]string
	if len(wantLost) == len(refs) {
		var err error
		if before, err = snapshot(p.d); err != nil {
			return err
		}
	}
	lost, deadline, err := p.d.Renew(w, refs)
	if err != nil {
		return fmt.Errorf("Renew: %w", err)
	}
	if !slices.Equal(lost, wantLost) {
		return fmt.Errorf("Renew(%s, %v) lost %v, want %v", w, refs, lost, wantLost)
	}
	if !deadline.Equal(p.now.Add(propLeaseDur)) {
		return fmt.Errorf("Renew deadline %v, want %v", deadline, p.now.Add(propLeaseDur))
	}
	if before != nil {
		if err := sameSnapshot(p.d, before); err != nil {
			return fmt.Errorf("Renew of stale leases only changed the database: %w", err)
		}
	}
	for _, r := range refs {
		if p.isCurrent(r) {
			p.task(r).deadline = deadline.UnixMilli()
		}
	}
	for _, r := range lost {
		p.held[w] = slices.DeleteFunc(p.held[w], func(h task.LeaseRef) bool { return h == r })
	}
	return nil
}

// expire checks one of the calls that move dispatched tasks back to pending.
func (p *prop) expire(what string, call func() ([]task.LeaseRef, error), drop func(*propTask) bool) error {
	var want []task.LeaseRef
	for _, t := range p.dispatched() {
		if drop(t) {
			want = append(want, p.ref(t))
		}
	}
	p.logf("%s want %v", what, want)
	got, err := call()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s returned %v, want %v", what, got, want)
	}
	for _, r := range want {
		t := p.task(r)
		t.state, t.lease, t.worker, t.deadline = Pending, 0, "", 0
	}
	return nil
}

func (p *prop) advanceAndReap() error {
	switch ds := p.dispatched(); {
	case len(ds) > 0 && p.r.IntN(3) == 0:
		// Land exactly on a deadline (not expired) or just after it.
		dl := ds[p.r.IntN(len(ds))].deadline + p.r.Int64N(2)
		if t := time.UnixMilli(dl); t.After(p.now) {
			p.now = t
		}
	default:
		p.now = p.now.Add(time.Duration(p.r.Int64N(int64(propLeaseDur*3/2)/1e6)) * time.Millisecond)
	}
	now := p.now.UnixMilli()
	return p.expire(fmt.Sprintf("Reap(now=%d)", now), p.d.Reap, func(t *propTask) bool { return t.deadline < now })
}

func (p *prop) complete(t *propTask, results []task.Outcome) error {
	ref := p.ref(t)
	dir := fmt.Sprintf("succeed_tasks/%d_%d@%s", t.id, ref.LeaseID, t.worker)
	audit := tracker.Dir{Name: dir, Files: []tracker.File{{Name: "audit.log", Data: []byte(fmt.Sprint(ref, results))}}}
	p.logf("Complete(%v, %v)", ref, results)
	held, err := audit.MarshalBinary()
	if err != nil {
		return err
	}
	if err := p.d.Complete(ref, results, dir, held); err != nil {
		return fmt.Errorf("Complete(%v) of a current lease: %w", ref, err)
	}
	j := p.jobs[ref.Job]
	j.held[[2]uint64{ref.TaskID, ref.LeaseID}] = string(held)
	// One outcome per entry: a failure outranks a skip; repeats count once;
	// the failed list is in manifest order.
	outcome := make(map[uint32]bool) // index -> skipped
	for _, res := range results {
		if skip, seen := outcome[res.Index]; !seen || skip {
			outcome[res.Index] = res.Skip()
		}
	}
	failed := make(map[uint32]bool)
	for i, e := range t.entries {
		skip, seen := outcome[uint32(i)]
		switch {
		case seen && !skip:
			failed[uint32(i)] = true
			t.failed = append(t.failed, uint32(i))
		case seen && skip:
			j.skipped++
			j.skippedBytes += e.Size
		}
	}
	for i, e := range t.entries {
		if j.keys[e.Key] != kQueued {
			return fmt.Errorf("test bug: completed key %q was in state %d", e.Key, j.keys[e.Key])
		}
		j.keys[e.Key] = kDone
		if failed[uint32(i)] {
			j.keys[e.Key] = kFailed
		}
	}
	t.state = Succeeded
	if len(t.failed) > 0 {
		t.state = Failed
	}
	t.lease, t.worker, t.deadline, t.lastLease, t.attemptDir = 0, "", 0, ref.LeaseID, dir
	p.dropHeld(ref)
	return nil
}

func (p *prop) completeRandom() error {
	ds := p.dispatched()
	if len(ds) == 0 {
		return nil
	}
	t := ds[p.r.IntN(len(ds))]
	var results []task.Outcome
	for i := range t.entries {
		switch p.r.IntN(10) {
		case 0:
			results = append(results, task.Outcome{Index: uint32(i), Kind: task.ReadError, Detail: "READ_ERROR: boom"})
		case 1:
			results = append(results, task.Outcome{Index: uint32(i), Kind: task.Skipped, Detail: "exists"})
		}
	}
	for _, res := range results {
		if !res.Skip() && p.r.IntN(4) == 0 {
			results = append(results, res) // a failure reported twice counts once
		}
	}
	p.r.Shuffle(len(results), func(a, b int) { results[a], results[b] = results[b], results[a] })
	return p.complete(t, results)
}

func (p *prop) completeStale() error {
	var stale, fenced []task.LeaseRef
	for _, g := range p.granted {
		if !p.isCurrent(g) {
			stale = append(stale, g)
			if t := p.task(g); t != nil && t.state == Dispatched {
				fenced = append(fenced, g) // its task is out under a newer lease
			}
		}
	}
	if len(fenced) > 0 && p.r.IntN(2) == 0 {
		stale = fenced
	}
	if len(stale) == 0 {
		return nil
	}
	ref := stale[p.r.IntN(len(stale))]
	p.logf("Complete(%v) stale", ref)
	before, err := snapshot(p.d)
	if err != nil {
		return err
	}
	err = p.d.Complete(ref, []task.Outcome{{Index: 0, Kind: task.ReadError}}, "stale", []byte("stale"))
	if !errors.Is(err, task.ErrStaleLease) {
		return fmt.Errorf("Complete with stale lease %v: err %v, want task.ErrStaleLease", ref, err)
	}
	if err := sameSnapshot(p.d, before); err != nil {
		return fmt.Errorf("stale Complete(%v) changed the database: %w", ref, err)
	}
	return nil
}

func (p *prop) retry(name string) error {
	j := p.jobs[name]
	var wantTasks, wantEntries int64
	failed := j.sortedTasks(Failed)
	for _, t := range failed {
		wantTasks++
		wantEntries += int64(len(t.failed))
	}
	p.logf("Retry(%s) want %d tasks %d entries", name, wantTasks, wantEntries)
	tasks, entries, err := p.d.Retry(name)
	if err != nil {
		return fmt.Errorf("Retry: %w", err)
	}
	if tasks != wantTasks || entries != wantEntries {
		return fmt.Errorf("Retry(%s) = %d tasks %d entries, want %d, %d", name, tasks, entries, wantTasks, wantEntries)
	}
	for _, t := range failed {
		sub := make([]store.Entry, 0, len(t.failed))
		for _, i := range t.failed {
			sub = append(sub, t.entries[i])
			j.keys[t.entries[i].Key] = kQueued
		}
		t.entries, t.failed, t.state = sub, nil, Pending
	}
	return nil
}

// dropAudits drops some of the held audit directories, as the master does
// once they are durable, and some that are not held.
func (p *prop) dropAudits() error {
	var refs []task.LeaseRef
	for _, n := range p.names {
		for k := range p.jobs[n].held {
			if p.r.IntN(2) == 0 {
				refs = append(refs, task.LeaseRef{Job: n, TaskID: k[0], LeaseID: k[1]})
			}
		}
	}
	slices.SortFunc(refs, func(a, b task.LeaseRef) int { return int(a.LeaseID) - int(b.LeaseID) })
	refs = append(refs, task.LeaseRef{Job: "nojob", TaskID: 1, LeaseID: 1}, task.LeaseRef{Job: p.names[0], TaskID: 1, LeaseID: 1 << 40})
	p.logf("DropHeldDirs(%v)", refs)
	if err := p.d.DropHeldDirs(refs); err != nil {
		return fmt.Errorf("DropHeldDirs: %w", err)
	}
	for _, r := range refs {
		if j := p.jobs[r.Job]; j != nil {
			delete(j.held, [2]uint64{r.TaskID, r.LeaseID})
		}
	}
	return nil
}

func (p *prop) restart() error {
	p.logf("restart")
	if err := p.d.Close(); err != nil {
		return err
	}
	if err := p.open(); err != nil {
		return err
	}
	if err := p.d.ExtendLeases(); err != nil {
		return err
	}
	for _, t := range p.dispatched() {
		t.deadline = p.now.Add(propLeaseDur).UnixMilli()
	}
	return nil
}
