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
