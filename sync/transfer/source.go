package transfer

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// SourceTransport returns an HTTP transport whose connections leave from the IP in listen (a
// host:port the box listens on for peers), or a plain one when listen names no single IP. A box
// sends everything it asks of its head-end this way, syncs and web seed fetches alike: the
// head-end takes a box's peer address from where its syncs come from, and binds the box's web
// seed grants to that address, so both must come from one place even on a host with several
// (a test bed's 127.0.0.N boxes, a box with two interfaces).
func SourceTransport(listen string) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	ap, err := netip.ParseAddrPort(listen)
	if err != nil || ap.Addr().IsUnspecified() {
		return t
	}
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, LocalAddr: &net.TCPAddr{IP: ap.Addr().AsSlice()}}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return t
}
