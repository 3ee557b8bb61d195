package transfer

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSourceTransportLeavesFromTheListenIP: with a listen address on one IP, requests come
// from that IP (the head-end binds web seed grants to the address a box syncs from); with an
// unspecified or unparsable one, from wherever the system picks.
func TestSourceTransportLeavesFromTheListenIP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr)
	}))
	defer srv.Close()
	for _, tc := range []struct{ listen, wantIP string }{
		{"127.0.0.9:0", "127.0.0.9"},
		{"127.0.0.23:6881", "127.0.0.23"},
		{"0.0.0.0:6881", "127.0.0.1"},
		{":6881", "127.0.0.1"},
	} {
		c := &http.Client{Transport: SourceTransport(tc.listen)}
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatalf("%s: %v", tc.listen, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		host, _, _ := net.SplitHostPort(string(b))
		if host != tc.wantIP {
			t.Errorf("listen %s: the request came from %s, want %s", tc.listen, b, tc.wantIP)
		}
	}
}

// schemeAddr is how the torrent client addresses a web seed: the URL's scheme as the network,
// its host:port as the string (which parses as a peer's address).
type schemeAddr struct{ scheme, host string }

func (a schemeAddr) Network() string { return a.scheme }
func (a schemeAddr) String() string  { return a.host }

// TestWebSeedBytesAreServerBytes: the head-end's web seed is told from a peer by its address's
// network, not by whether its string parses, so its bytes are recorded as the server's.
func TestWebSeedBytesAreServerBytes(t *testing.T) {
	for _, tc := range []struct {
		addr any
		want bool
	}{
		{schemeAddr{"http", "127.0.0.1:8080"}, true},
		{schemeAddr{"https", "headend.example:443"}, true},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 6881}, false},
		{nil, false},
	} {
		if got := isWebSeed(tc.addr); got != tc.want {
			t.Errorf("isWebSeed(%v) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}
