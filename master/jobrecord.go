package master

import (
	"bytes"
	"encoding/json"
	"ferry/task"
	"sync"
	"time"
	"unicode/utf8"
)

// A job's record: its stored form, and a cache of decoded records. Every
// lease and every completion reads and rewrites its job's record (the
// counters move with each task), hundreds of times a second; the cache
// spares each of those transactions decoding the JSON the previous one
// wrote.

// storedJob is a job as the database holds it. JSON would replace the
// bytes of a string that is not UTF-8 with U+FFFD: a scan resumed after such
// a checkpoint would list entries twice or skip some, and a non-UTF-8
// source or destination path would silently name another directory. The
// Raw fields keep those strings' bytes exactly.
type storedJob struct {
	*Job
	ScanAfterRaw  []byte `json:",omitempty"`
	SrcPrefixRaw  []byte `json:",omitempty"`
	DestPrefixRaw []byte `json:",omitempty"`
	ErrorRaw      []byte `json:",omitempty"`
	// The stores' secret keys, which task.Secret does not encode.
	SrcSecretRaw  []byte `json:",omitempty"`
	DestSecretRaw []byte `json:",omitempty"`
}

func encodeJob(j *Job) ([]byte, error) {
	return json.Marshal(storedJob{Job: j, ScanAfterRaw: []byte(j.ScanAfter),
		SrcPrefixRaw: []byte(j.Spec.Src.Prefix), DestPrefixRaw: []byte(j.Spec.Dest.Prefix), ErrorRaw: []byte(j.Error),
		SrcSecretRaw: []byte(j.Spec.Src.SecretKey), DestSecretRaw: []byte(j.Spec.Dest.SecretKey)})
}

func decodeJob(raw []byte) (*Job, error) {
	var j Job
	sj := storedJob{Job: &j}
	if err := json.Unmarshal(raw, &sj); err != nil {
		return nil, err
	}
	old := false
	if j.Spec.Src.Type == "" { // perhaps a record of an earlier ferry
		spec, legacy, err := legacyJob(raw)
		if err != nil {
			return nil, err
		}
		if old = legacy; old {
			j.Spec = spec
		}
	}
	for _, f := range []struct {
		raw []byte
		dst *string
	}{{sj.ScanAfterRaw, &j.ScanAfter}, {sj.SrcPrefixRaw, &j.Spec.Src.Prefix}, {sj.DestPrefixRaw, &j.Spec.Dest.Prefix}, {sj.ErrorRaw, &j.Error}} {
		if f.raw != nil {
			*f.dst = string(f.raw)
		}
	}
	if !old {
		j.Spec.Src.SecretKey, j.Spec.Dest.SecretKey = task.Secret(sj.SrcSecretRaw), task.Secret(sj.DestSecretRaw)
	}
	return &j, nil
}

// clone returns a copy of j that shares nothing with it. (A reference
// field added to Job must be copied here, one added to task.Spec in
// Spec.Clone.)
func (j *Job) clone() *Job {
	c := *j
	c.Spec = j.Spec.Clone()
	if j.Throttle != nil {
		v := *j.Throttle
		c.Throttle = &v
	}
	return &c
}

// decoded returns what decodeJob(encodeJob(j)) would, without the round
// trip, or false where it cannot tell cheaply: a string outside the Raw
// fields that is not UTF-8, a time in a location other than UTC or Local.
func (j *Job) decoded() (*Job, bool) {
	c := j.clone()
	for _, s := range append(c.Spec.Strings(), c.State) {
		if !utf8.ValidString(s) {
			return nil, false
		}
	}
	for _, t := range append(c.Spec.Times(), &c.Submitted, &c.Finished, &c.NextRound) {
		if !decodedTime(t) {
			return nil, false
		}
	}
	return c, true
}

// decodedTime sets *t to what its JSON form decodes to: no monotonic
// reading, UTC for a zero offset ("Z"), Local for Local's offset.
func decodedTime(t *time.Time) bool {
	if t.IsZero() {
		ok := t.Location() == time.UTC
		*t = time.Time{}
		return ok
	}
	*t = t.Round(0)
	switch t.Location() {
	case time.UTC:
	case time.Local:
		if _, off := t.Zone(); off == 0 {
			*t = t.UTC()
		}
	default:
		return false
	}
	return true
}

// jobCache remembers, for each job, the last record decoded or saved and
// the bytes it was decoded from or encoded to. A record is used only for
// exactly those bytes, read in the transaction at hand: whatever commits,
// rolls back or runs concurrently, a transaction sees the record its own
// bytes hold.
type jobCache struct {
	mu   sync.Mutex
	jobs map[string]*cachedJob
}

type cachedJob struct {
	raw []byte
	job *Job // never changed: readers get clones
}

// load returns the record raw holds, a copy the caller may change.
func (c *jobCache) load(name string, raw []byte) (*Job, error) {
	c.mu.Lock()
	e := c.jobs[name]
	c.mu.Unlock()
	if e != nil && bytes.Equal(e.raw, raw) {
		return e.job.clone(), nil
	}
	j, err := decodeJob(raw)
	if err != nil {
		return nil, err
	}
	c.put(name, &cachedJob{raw: bytes.Clone(raw), job: j.clone()})
	return j, nil
}

// saved notes that raw, which the caller will not change, was encoded
// from j.
func (c *jobCache) saved(name string, raw []byte, j *Job) {
	d, ok := j.decoded()
	if !ok {
		c.put(name, nil) // the next load decodes
		return
	}
	c.put(name, &cachedJob{raw: raw, job: d})
}

func (c *jobCache) put(name string, e *cachedJob) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e == nil {
		delete(c.jobs, name)
		return
	}
	if c.jobs == nil {
		c.jobs = make(map[string]*cachedJob)
	}
	c.jobs[name] = e
}
