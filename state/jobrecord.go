package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"sync"
	"time"

	"ferry/task"
)

// A job's record is two values in its meta bucket:
//
//   - spec: its task.Spec, gob-encoded (gob keeps every string's bytes,
//     UTF-8 or not, secrets included), written once when the job is
//     created. Specs never change, so each is decoded once and shared
//     (specCache).
//   - state: everything a transaction may change (state, times, scan
//     position, counters), in a small binary record (encodeState): every
//     lease and completion reads and rewrites it, hundreds of times a
//     second, and decoding it costs a few varints.
//
// A database from before has one JSON record under "job" instead; openJob
// reads it (decodeJobJSON) and the job's next save writes the two values
// and deletes it.

var (
	keySpec  = []byte("spec")
	keyState = []byte("state")
	keyJob   = []byte("job") // the JSON record of earlier versions
)

// stateVersion is the first byte of a state record.
const stateVersion = 1

func encodeSpec(s task.Spec) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func decodeSpec(raw []byte) (task.Spec, error) {
	var s task.Spec
	err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&s)
	return s, err
}

// specCache holds each job's decoded spec, with the bytes it was decoded
// from: a spec is used only for exactly those bytes.
type specCache struct {
	mu    sync.Mutex
	specs map[string]cachedSpec
}

type cachedSpec struct {
	raw  []byte
	spec task.Spec // shared: nobody changes a decoded spec
}

func (c *specCache) load(name string, raw []byte) (task.Spec, error) {
	c.mu.Lock()
	e, ok := c.specs[name]
	c.mu.Unlock()
	if ok && bytes.Equal(e.raw, raw) {
		return e.spec, nil
	}
	s, err := decodeSpec(raw)
	if err != nil {
		return s, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.specs == nil {
		c.specs = make(map[string]cachedSpec)
	}
	c.specs[name] = cachedSpec{raw: bytes.Clone(raw), spec: s}
	return s, nil
}

func (c *specCache) forget(name string) {
	c.mu.Lock()
	delete(c.specs, name)
	c.mu.Unlock()
}

// appendState appends the record of everything in j but its spec.
func appendState(b []byte, j *Job) ([]byte, error) {
	b = append(b, stateVersion)
	b = appendString(b, j.State)
	for _, t := range []time.Time{j.Submitted, j.Finished, j.NextRound} {
		tb, err := t.MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = appendString(b, string(tb))
	}
	b = append(b, boolByte(j.ScanFinished), boolByte(j.Throttle != nil))
	b = appendString(b, j.ScanAfter)
	b = appendString(b, j.Error)
	b = binary.AppendVarint(b, int64(j.Round))
	if j.Throttle != nil {
		b = binary.AppendVarint(b, *j.Throttle)
	}
	for _, n := range j.Counters.fields() {
		b = binary.AppendVarint(b, *n)
	}
	return b, nil
}

// decodeState fills j, but its spec, from a state record. It reads with
// the manifests' decoder (manifest.go).
func decodeState(raw []byte, j *Job) error {
	d := decoder{b: raw}
	if v := d.byte(); d.err == nil && v != stateVersion {
		return fmt.Errorf("job record version %d, want %d (a newer ferry wrote it?)", v, stateVersion)
	}
	j.State = string(d.bytes())
	var terr error
	for _, t := range []*time.Time{&j.Submitted, &j.Finished, &j.NextRound} {
		if b := d.bytes(); d.err == nil {
			terr = cmp.Or(terr, t.UnmarshalBinary(b))
		}
	}
	j.ScanFinished = d.byte() == 1
	throttled := d.byte() == 1
	j.ScanAfter = string(d.bytes())
	j.Error = string(d.bytes())
	j.Round = int(d.varint())
	if throttled {
		n := d.varint()
		j.Throttle = &n
	}
	for _, n := range j.Counters.fields() {
		*n = d.varint()
	}
	switch {
	case d.err != nil:
		return errShort
	case terr != nil:
		return terr
	case len(d.b) != 0:
		return fmt.Errorf("%d bytes after the job record", len(d.b))
	}
	return nil
}

// fields lists the counters in the order of the state record: append
// only.
func (c *Counters) fields() []*int64 {
	return []*int64{&c.FilesTotal, &c.BytesTotal, &c.FilesDone, &c.BytesDone, &c.FilesFailed, &c.BytesFailed,
		&c.FilesSkipped, &c.BytesSkipped, &c.FilesExcluded, &c.BytesExcluded, &c.FilesUnchanged, &c.BytesUnchanged,
		&c.FilesDeleted, &c.Tasks[Pending], &c.Tasks[Dispatched], &c.Tasks[Failed], &c.Tasks[Succeeded]}
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

var errShort = errors.New("job record cut short")

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
