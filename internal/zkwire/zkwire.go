// Package zkwire is a small ZooKeeper client for reads: one session over
// one connection, speaking the jute wire protocol (connect, digest auth,
// pings) and sending getData, getACL, getChildren and multiRead (opcode
// 22, ZooKeeper 3.6 and later: many getData and getChildren in one
// request) pipelined: every request in flight at once, written in as few
// system calls as the callers' pace allows, the answers matched in the
// order the server sends them (one session's answers come in its
// requests' order).
//
// store/zk lists and reads through it; its writes stay on
// github.com/go-zookeeper/zk, which sends a connection's requests one
// write at a time and decodes every answer by reflection (some 13,000
// reads a second per connection here), and lacks multiRead. Errors are
// go-zookeeper's (zk.ErrNoNode, zk.ErrNoAuth, zk.ErrConnectionClosed...)
// and so are Stat and ACL, so that both clients are handled alike.
//
// A session that loses its connection is not resumed: every call in
// flight and after fails with zk.ErrConnectionClosed, and the caller
// reads through another session.
package zkwire

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
)

// Opcodes and special xids of the protocol.
const (
	opGetData     = 4
	opGetACL      = 6
	opGetChildren = 8
	opPing        = 11
	opMultiRead   = 22
	opAuth        = 100
	opClose       = -11
	opError       = -1

	xidWatch = -1
	xidPing  = -2
	xidAuth  = -4
)

// MaxFrame bounds one answer: a multiRead of many znodes of up to 1 MiB
// each must fit.
const MaxFrame = 256 << 20

// Conn is one session.
type Conn struct {
	nc      net.Conn
	addr    string
	timeout time.Duration // the session's, as the server granted it
	id      int64

	mu      sync.Mutex
	w       *bufio.Writer
	xid     int32
	pending []*Call // sent, unanswered, in order
	err     error   // set once the connection is lost or closed
	dirty   bool    // w holds bytes not flushed
	held    int     // Groups running: no flush is asked for meanwhile
	flushes int64   // flushes of w (system calls, unless w overflowed)
	flush   chan struct{}

	done chan struct{}
}

// Call is one request in flight; Wait returns its answer.
type Call struct {
	op     int32
	xid    int32
	done   chan struct{}
	err    error
	decode func(b []byte) error // reads the answer's body
}

// Done is closed once the answer is in (or the connection lost).
func (c *Call) Done() <-chan struct{} { return c.done }

// Err is the call's error, once Done.
func (c *Call) Err() error { return c.err }

// Wait waits for the answer and returns its error.
func (c *Call) Wait() error {
	<-c.done
	return c.err
}

// Dial opens a session to addr (host:port) asking for timeout, within
// ctx. A server that refuses (a read-only one, one out of its quorum) is
// an error.
func Dial(ctx context.Context, addr string, timeout time.Duration) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	// ConnectRequest: protocolVersion, lastZxidSeen, timeOut, sessionId,
	// passwd, readOnly.
	var b []byte
	b = be32(b, 0)
	b = be64(b, 0)
	b = be32(b, uint32(timeout/time.Millisecond))
	b = be64(b, 0)
	b = appendBuf(b, make([]byte, 16))
	b = append(b, 0)
	if err := writeFrame(nc, b); err != nil {
		nc.Close()
		return nil, err
	}
	br := bufio.NewReaderSize(nc, 256<<10)
	resp, err := readFrame(br, nil)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("zookeeper %s: no session: %w", addr, err)
	}
	r := reader{b: resp}
	r.i32() // protocolVersion
	granted := r.i32()
	id := r.i64()
	r.buf() // passwd
	if r.err != nil || granted <= 0 {
		nc.Close()
		return nil, fmt.Errorf("zookeeper %s: session refused (timeout %d)", addr, granted)
	}
	nc.SetDeadline(time.Time{})
	c := &Conn{nc: nc, addr: addr, timeout: time.Duration(granted) * time.Millisecond, id: id,
		w: bufio.NewWriterSize(nc, 256<<10), flush: make(chan struct{}, 1), done: make(chan struct{})}
	go c.writeLoop()
	go c.readLoop(br)
	go c.pingLoop()
	return c, nil
}

// SessionID is the session's id.
func (c *Conn) SessionID() int64 { return c.id }

// Server is the address the session was dialed to, as given to Dial.
func (c *Conn) Server() string { return c.addr }

// Close ends the session (a closeSession request, then the connection).
func (c *Conn) Close() error {
	// Done at once when the connection had already failed; call.err is
	// not read here: the read loop may be setting it.
	call := c.send(opClose, nil, nil)
	t := time.NewTimer(time.Second)
	select {
	case <-call.done:
	case <-t.C:
	}
	t.Stop()
	c.fail(zk.ErrClosing)
	return nil
}

// Err returns why the connection is unusable, or nil.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AddAuth adds a credential to the session ("digest", "user:password").
// A refused one ends the session: the server closes the connection. It is
// called with nothing else in flight: the server answers it out of turn.
func (c *Conn) AddAuth(scheme string, auth []byte) error {
	var b []byte
	b = be32(b, 0)
	b = appendString(b, scheme)
	b = appendBuf(b, auth)
	return c.sendXid(xidAuth, opAuth, b, nil).Wait()
}

// GetData reads a znode's data and stat.
func (c *Conn) GetData(path string) (data []byte, st zk.Stat, err error) {
	err = c.GoGetData(path, &data, &st).Wait()
	return data, st, err
}

// GoGetData sends a getData of path; its answer fills data and st.
func (c *Conn) GoGetData(path string, data *[]byte, st *zk.Stat) *Call {
	b := appendString(nil, path)
	b = append(b, 0) // no watch
	return c.send(opGetData, b, func(body []byte) error {
		r := reader{b: body}
		*data = r.buf()
		r.stat(st)
		return r.err
	})
}

// GoGetACL sends a getACL of path; its answer fills acl and st.
func (c *Conn) GoGetACL(path string, acl *[]zk.ACL, st *zk.Stat) *Call {
	return c.send(opGetACL, appendString(nil, path), func(body []byte) error {
		r := reader{b: body}
		n := r.i32()
		if n < 0 || int(n) > len(body) {
			return errBadAnswer
		}
		out := make([]zk.ACL, n)
		for i := range out {
			out[i].Perms = r.i32()
			out[i].Scheme = r.str()
			out[i].ID = r.str()
		}
		*acl = out
		r.stat(st)
		return r.err
	})
}

// GetACL reads a znode's ACL and stat.
func (c *Conn) GetACL(path string) (acl []zk.ACL, st zk.Stat, err error) {
	err = c.GoGetACL(path, &acl, &st).Wait()
	return acl, st, err
}

// Children lists a znode's children (in no order).
func (c *Conn) Children(path string) ([]string, error) {
	var names []string
	err := c.GoChildren(path, &names).Wait()
	return names, err
}

// GoChildren sends a getChildren of path; its answer fills names.
func (c *Conn) GoChildren(path string, names *[]string) *Call {
	b := appendString(nil, path)
	b = append(b, 0)
	return c.send(opGetChildren, b, func(body []byte) error {
		r := reader{b: body}
		*names = r.strings()
		return r.err
	})
}

// Read is one read of a multiRead: the data (and stat) of Path, or with
// Children its children's names. Err is the read's own failure
// (zk.ErrNoNode, zk.ErrNoAuth), nil when it succeeded.
type Read struct {
	Path     string
	Children bool

	Data  []byte
	Stat  zk.Stat
	Names []string
	Err   error
}

// GoMultiRead sends reads as one multiRead request. Each read succeeds or
// fails alone; the call's own error is the session's or the connection's.
func (c *Conn) GoMultiRead(reads []Read) *Call {
	var b []byte
	for i := range reads {
		op := int32(opGetData)
		if reads[i].Children {
			op = opGetChildren
		}
		b = be32(b, uint32(op))
		b = append(b, 0)        // done
		b = be32(b, ^uint32(0)) // err -1
		b = appendString(b, reads[i].Path)
		b = append(b, 0) // no watch
	}
	b = be32(b, ^uint32(0))
	b = append(b, 1)
	b = be32(b, ^uint32(0))
	return c.send(opMultiRead, b, func(body []byte) error {
		r := reader{b: body}
		for i := 0; ; i++ {
			typ, done, code := r.i32(), r.bool(), r.i32()
			if r.err != nil {
				return r.err
			}
			if done {
				if i != len(reads) {
					return fmt.Errorf("%w: %d answers to %d reads", errBadAnswer, i, len(reads))
				}
				return nil
			}
			if i >= len(reads) {
				return fmt.Errorf("%w: more answers than %d reads", errBadAnswer, len(reads))
			}
			x := &reads[i]
			switch typ {
			case opGetData:
				x.Data = r.buf()
				r.stat(&x.Stat)
			case opGetChildren:
				x.Names = r.strings()
			case opError:
				x.Err = codeError(r.i32())
				if x.Err == nil {
					x.Err = codeError(code)
				}
			default:
				return fmt.Errorf("%w: multiRead answer of type %d", errBadAnswer, typ)
			}
		}
	})
}

// MultiRead is GoMultiRead, waited for.
func (c *Conn) MultiRead(reads []Read) error { return c.GoMultiRead(reads).Wait() }

var errBadAnswer = errors.New("zkwire: malformed answer")

// send queues a request of opcode op with body b under the next xid.
func (c *Conn) send(op int32, b []byte, decode func([]byte) error) *Call {
	return c.sendXid(0, op, b, decode)
}

func (c *Conn) sendXid(xid, op int32, b []byte, decode func([]byte) error) *Call {
	call := &Call{op: op, done: make(chan struct{}), decode: decode}
	c.mu.Lock()
	if c.err != nil {
		call.err = c.err
		c.mu.Unlock()
		close(call.done)
		return call
	}
	if xid == 0 {
		c.xid++
		if c.xid <= 0 {
			c.xid = 1
		}
		xid = c.xid
	}
	call.xid = xid
	var hdr [12]byte
	binary.BigEndian.PutUint32(hdr[0:], uint32(8+len(b)))
	binary.BigEndian.PutUint32(hdr[4:], uint32(xid))
	binary.BigEndian.PutUint32(hdr[8:], uint32(op))
	c.w.Write(hdr[:])
	c.w.Write(b)
	c.pending = append(c.pending, call)
	kick := !c.dirty && c.held == 0
	c.dirty = true
	c.mu.Unlock()
	if kick {
		select {
		case c.flush <- struct{}{}:
		default:
		}
	}
	return call
}

// Group runs fn, which sends requests on c, and has what it sent go out
// in one write (as far as the buffer holds it) instead of one write for
// the first request and another for the rest.
func (c *Conn) Group(fn func()) {
	c.mu.Lock()
	c.held++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.held--
		kick := c.held == 0 && c.dirty
		c.mu.Unlock()
		if kick {
			select {
			case c.flush <- struct{}{}:
			default:
			}
		}
	}()
	fn()
}

// Flushes is how many times c has written out its queued requests.
func (c *Conn) Flushes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushes
}

// writeLoop flushes what callers wrote: every request queued while the
// last flush ran goes out in the next one.
func (c *Conn) writeLoop() {
	for {
		select {
		case <-c.flush:
		case <-c.done:
			return
		}
		c.mu.Lock()
		if c.err != nil {
			c.mu.Unlock()
			return
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.timeout))
		err := c.w.Flush()
		c.dirty = false
		c.flushes++
		c.mu.Unlock()
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// pingLoop keeps the session alive while it is idle.
func (c *Conn) pingLoop() {
	t := time.NewTicker(c.timeout / 3)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.sendXid(xidPing, opPing, nil, nil)
		case <-c.done:
			return
		}
	}
}

// readLoop matches each answer with the oldest request sent.
func (c *Conn) readLoop(br *bufio.Reader) {
	var buf []byte
	for {
		c.nc.SetReadDeadline(time.Now().Add(c.timeout))
		frame, err := readFrame(br, buf)
		if err != nil {
			c.fail(err)
			return
		}
		buf = frame[:0]
		r := reader{b: frame}
		xid, _, code := r.i32(), r.i64(), r.i32()
		if r.err != nil {
			c.fail(errBadAnswer)
			return
		}
		if xid == xidWatch {
			continue // no watches are set
		}
		c.mu.Lock()
		if len(c.pending) == 0 || c.pending[0].xid != xid {
			c.mu.Unlock()
			c.fail(fmt.Errorf("%w: answer %d to no request in flight", errBadAnswer, xid))
			return
		}
		call := c.pending[0]
		c.pending[0] = nil
		c.pending = c.pending[1:]
		c.mu.Unlock()
		call.err = codeError(code)
		if call.err == nil && call.decode != nil {
			// The body is copied out by decode (strings and data).
			call.err = call.decode(r.b)
		}
		close(call.done)
		if xid == xidAuth && call.err != nil {
			c.fail(call.err)
			return
		}
	}
}

// fail ends the connection once, answering every request in flight with
// err (zk.ErrConnectionClosed for a lost connection).
func (c *Conn) fail(err error) {
	if !errors.Is(err, zk.ErrClosing) && !errors.Is(err, zk.ErrAuthFailed) {
		err = fmt.Errorf("%w: %v", zk.ErrConnectionClosed, err)
	}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	pending := c.pending
	c.pending = nil
	close(c.done)
	c.mu.Unlock()
	c.nc.Close()
	for _, call := range pending {
		call.err = err
		close(call.done)
	}
}

// codeError is go-zookeeper's error of a server's error code.
func codeError(code int32) error {
	switch code {
	case 0:
		return nil
	case -101:
		return zk.ErrNoNode
	case -102:
		return zk.ErrNoAuth
	case -112:
		return zk.ErrSessionExpired
	case -115:
		return zk.ErrAuthFailed
	case -116:
		return zk.ErrClosing
	case -118:
		return zk.ErrSessionMoved
	case -4:
		return zk.ErrConnectionClosed
	}
	return fmt.Errorf("zookeeper error code %d", code)
}

func writeFrame(w io.Writer, b []byte) error {
	out := make([]byte, 4, 4+len(b))
	binary.BigEndian.PutUint32(out, uint32(len(b)))
	_, err := w.Write(append(out, b...))
	return err
}

// readFrame reads one length-prefixed frame, into buf when it fits.
func readFrame(br *bufio.Reader, buf []byte) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(br, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > MaxFrame {
		return nil, fmt.Errorf("%w: frame of %d bytes", errBadAnswer, size)
	}
	if cap(buf) < int(size) {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	_, err := io.ReadFull(br, buf)
	return buf, err
}
