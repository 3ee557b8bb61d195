package testenv

import (
	"net"
	"testing"
)

// AcceptingPort opens a TCP port on loopback that accepts and closes every connection until the
// test ends, and returns its address: something listening where a box says its BitTorrent port
// is, for a head-end's reachability probe.
func AcceptingPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}
