package netns

import (
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestShape holds a host's link to 40 Mbit/s and measures it both ways
// with a TCP stream between the host and the bridge: each direction runs
// at 70% to 110% of the rate; with the limit lifted, at more than twice it.
func TestShape(t *testing.T) {
	Require(t)
	c := NewCluster(t, 1)
	const rate = 40_000_000 // bits/s
	const n = 4 << 20       // bytes each way: some 0.8 s at the rate
	bps := func(d time.Duration) float64 { return float64(n) * 8 / d.Seconds() }
	c.Shape(0, rate)
	up, down := measure(t, c, n)
	t.Logf("shaped to %d bit/s: host -> bridge %.1f Mbit/s, bridge -> host %.1f Mbit/s", rate, bps(up)/1e6, bps(down)/1e6)
	for dir, d := range map[string]time.Duration{"host -> bridge": up, "bridge -> host": down} {
		if r := bps(d) / rate; r < 0.7 || r > 1.1 {
			t.Errorf("%s: %.1f Mbit/s, want %.1f Mbit/s within -30%%/+10%%", dir, bps(d)/1e6, float64(rate)/1e6)
		}
	}
	c.Shape(0, 0)
	up, down = measure(t, c, n)
	t.Logf("unshaped: host -> bridge %.1f Mbit/s, bridge -> host %.1f Mbit/s", bps(up)/1e6, bps(down)/1e6)
	if bps(up) < 2*rate || bps(down) < 2*rate {
		t.Errorf("with the limit lifted the link still runs at %.1f / %.1f Mbit/s", bps(up)/1e6, bps(down)/1e6)
	}
}

// measure sends n bytes from host 0 to a listener on the bridge, then n
// bytes back, with bash's /dev/tcp, and returns how long each took.
func measure(t *testing.T, c *Cluster, n int) (up, down time.Duration) {
	t.Helper()
	l, err := net.Listen("tcp", net.JoinHostPort(c.BridgeAddr(), "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dev := "/dev/tcp/" + c.BridgeAddr() + "/" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	type res struct {
		d   time.Duration
		err error
	}
	serve := func(send bool) <-chan res {
		ch := make(chan res, 1)
		go func() {
			conn, err := l.Accept()
			if err != nil {
				ch <- res{err: err}
				return
			}
			defer conn.Close()
			start := time.Now()
			var k int64
			if send {
				k, err = io.CopyN(conn, zeros{}, int64(n))
			} else {
				k, err = io.Copy(io.Discard, conn)
			}
			if err == nil && k != int64(n) {
				err = io.ErrShortWrite
			}
			ch <- res{time.Since(start), err}
		}()
		return ch
	}
	got := serve(false)
	if out, err := c.Exec(0, "bash", "-c", "head -c "+strconv.Itoa(n)+" /dev/zero > "+dev); err != nil {
		t.Fatalf("send from the host: %v: %s", err, out)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("receive at the bridge: %v", r.err)
	}
	up = r.d
	got = serve(true)
	start := time.Now()
	out, err := c.Exec(0, "bash", "-c", "wc -c < "+dev)
	down = time.Since(start)
	if err != nil || strings.TrimSpace(out) != strconv.Itoa(n) {
		t.Fatalf("receive at the host: %q, %v", out, err)
	}
	if r := <-got; r.err != nil {
		t.Fatalf("send from the bridge: %v", r.err)
	}
	return up, down
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
