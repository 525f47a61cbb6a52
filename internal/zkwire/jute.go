package zkwire

import (
	"encoding/binary"

	"github.com/go-zookeeper/zk"
)

// The jute encoding: big-endian integers, a buffer or string as its int32
// length (-1: null) and bytes, a vector as its int32 count and items, a
// bool as one byte.

func be32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func be64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }

func appendBuf(b, p []byte) []byte {
	b = be32(b, uint32(len(p)))
	return append(b, p...)
}

func appendString(b []byte, s string) []byte {
	b = be32(b, uint32(len(s)))
	return append(b, s...)
}

// reader decodes an answer; the first short read sets err and every read
// after it returns zero values.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errBadAnswer
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) i32() int32 {
	p := r.take(4)
	if p == nil {
		return 0
	}
	return int32(binary.BigEndian.Uint32(p))
}

func (r *reader) i64() int64 {
	p := r.take(8)
	if p == nil {
		return 0
	}
	return int64(binary.BigEndian.Uint64(p))
}

func (r *reader) bool() bool {
	p := r.take(1)
	return p != nil && p[0] != 0
}

// buf reads a buffer, copied; a null one is nil, an empty one not.
func (r *reader) buf() []byte {
	n := r.i32()
	if n < 0 || r.err != nil {
		return nil
	}
	p := r.take(int(n))
	if p == nil {
		return nil
	}
	return append(make([]byte, 0, len(p)), p...)
}

func (r *reader) str() string {
	n := r.i32()
	if n <= 0 || r.err != nil {
		return ""
	}
	return string(r.take(int(n)))
}

func (r *reader) strings() []string {
	n := r.i32()
	if n < 0 || r.err != nil {
		return nil
	}
	if int(n) > len(r.b)/4 {
		r.err = errBadAnswer
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

func (r *reader) stat(st *zk.Stat) {
	st.Czxid = r.i64()
	st.Mzxid = r.i64()
	st.Ctime = r.i64()
	st.Mtime = r.i64()
	st.Version = r.i32()
	st.Cversion = r.i32()
	st.Aversion = r.i32()
	st.EphemeralOwner = r.i64()
	st.DataLength = r.i32()
	st.NumChildren = r.i32()
	st.Pzxid = r.i64()
}
