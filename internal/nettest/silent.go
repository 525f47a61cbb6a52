// Package nettest has servers that misbehave on purpose, for the tests of
// ferry's network deadlines: real listeners on loopback, stopped by the
// test's cleanup.
package nettest

import (
	"net"
	"sync"
	"testing"
)

// SilentServer accepts connections on loopback and never reads from them
// nor answers; it returns its base URL ("http://127.0.0.1:PORT"). The
// listener and every connection are closed when the test ends.
func SilentServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}
