package report

import (
	"encoding/binary"
	"errors"
	"time"
)

// Results of a row.
const (
	OK      = "OK"
	Skip    = "SKIP"
	Fail    = "FAIL"
	Exclude = "EXCLUDE"
	Delete  = "DELETE"
)

// Row is one entry of the report.
type Row struct {
	Key    string // the key's bytes; escaped as in audit.log when written
	Result string // OK, SKIP, FAIL, EXCLUDE or DELETE
	Kind   string // the failure kind's code for a FAIL, else ""
	Size   int64  // -1: unknown
	// CRC64s of the source (as read) and of the destination (as it answered
	// or was read back), when known.
	SrcCRC, DstCRC       uint64
	HasSrcCRC, HasDstCRC bool
	SrcMTime             time.Time // zero: unknown
	DstETag              string
	Worker               string // the worker of the latest attempt, "" for the master's decisions
	Time                 time.Time
	Detail               string
}

// class says what an event is: an outcome of the key (an attempt's
// record, an exclusion, a deletion) or a finding of the latest verify.
type class uint8

const (
	outcome class = iota
	finding
)

// event is what one source says of a key at a time: its row, and its
// order among the key's events (at, in ms since the epoch, then seq).
type event struct {
	at    int64
	seq   uint32
	class class
	row   Row
}

// Flags of an encoded event.
const (
	hasSrcCRC = 1 << iota
	hasDstCRC
	hasMTime
)

// appendEvent appends e's encoding to b: a 4-byte length, the key (first,
// for sorting), then the rest.
func appendEvent(b []byte, e *event) (out []byte, keyOff, keyLen int) {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	r := &e.row
	b = binary.AppendUvarint(b, uint64(len(r.Key)))
	keyOff, keyLen = len(b)-start, len(r.Key)
	b = append(b, r.Key...)
	b = binary.AppendVarint(b, e.at)
	b = binary.AppendUvarint(b, uint64(e.seq))
	b = append(b, byte(e.class))
	b = appendString(b, r.Result)
	b = appendString(b, r.Kind)
	b = binary.AppendVarint(b, r.Size)
	var flags byte
	if r.HasSrcCRC {
		flags |= hasSrcCRC
	}
	if r.HasDstCRC {
		flags |= hasDstCRC
	}
	if !r.SrcMTime.IsZero() {
		flags |= hasMTime
	}
	b = append(b, flags)
	if r.HasSrcCRC {
		b = binary.LittleEndian.AppendUint64(b, r.SrcCRC)
	}
	if r.HasDstCRC {
		b = binary.LittleEndian.AppendUint64(b, r.DstCRC)
	}
	if !r.SrcMTime.IsZero() {
		b = binary.AppendVarint(b, r.SrcMTime.Unix())
		b = binary.AppendUvarint(b, uint64(r.SrcMTime.Nanosecond()))
	}
	b = appendString(b, r.DstETag)
	b = appendString(b, r.Worker)
	b = binary.AppendVarint(b, r.Time.UnixMilli())
	b = appendString(b, r.Detail)
	binary.LittleEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b, keyOff, keyLen
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

var errCorrupt = errors.New("corrupt event in a sorted run")

// decoder reads an encoded event's fields in order.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = errCorrupt, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = errCorrupt, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if uint64(len(d.b)) < n {
		d.err, d.b = errCorrupt, nil
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u64() uint64 {
	if v := d.bytes(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) string() string { return string(d.bytes(d.uvarint())) }

func (d *decoder) byte() byte {
	if v := d.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

// decodeEvent decodes what appendEvent encoded, without its length.
func decodeEvent(b []byte, e *event) error {
	d := decoder{b: b}
	r := &e.row
	r.Key = d.string()
	e.at = d.varint()
	e.seq = uint32(d.uvarint())
	e.class = class(d.byte())
	r.Result = d.string()
	r.Kind = d.string()
	r.Size = d.varint()
	flags := d.byte()
	r.HasSrcCRC, r.HasDstCRC = flags&hasSrcCRC != 0, flags&hasDstCRC != 0
	r.SrcCRC, r.DstCRC, r.SrcMTime = 0, 0, time.Time{}
	if r.HasSrcCRC {
		r.SrcCRC = d.u64()
	}
	if r.HasDstCRC {
		r.DstCRC = d.u64()
	}
	if flags&hasMTime != 0 {
		sec := d.varint()
		r.SrcMTime = time.Unix(sec, int64(d.uvarint())).UTC()
	}
	r.DstETag = d.string()
	r.Worker = d.string()
	r.Time = time.UnixMilli(d.varint()).UTC()
	r.Detail = d.string()
	if d.err == nil && len(d.b) != 0 {
		d.err = errCorrupt
	}
	return d.err
}
