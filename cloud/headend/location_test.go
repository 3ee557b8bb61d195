package headend

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/netmap"
	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// withHeader sends every request with an X-Forwarded-For of the box's own making.
type withHeader struct {
	rt  http.RoundTripper
	xff string
}

func (h withHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(headerForwardedFor, h.xff)
	return h.rt.RoundTrip(r)
}

// fromAddr makes c send from the loopback address ip, claiming xff in X-Forwarded-For.
func fromAddr(t *testing.T, c *cloudclient.Client, ip, xff string) {
	t.Helper()
	hc := clientFrom(t, ip)
	hc.Transport = withHeader{rt: hc.Transport, xff: xff}
	c.HTTP = hc
}

// balancer is a load balancer in front of target, dialling it from the loopback address from:
// it appends the address it received each request from to X-Forwarded-For, as balancers do.
func balancer(t *testing.T, target, from string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	rp := &httputil.ReverseProxy{Transport: tr, Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Header[headerForwardedFor] = pr.In.Header[headerForwardedFor]
		pr.SetXForwarded()
	}}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestNetworkFromAddress: the head-end places each box by the address its sync comes from,
// through the operator's prefix file (longest prefix wins; where none holds the address, the
// account's region and the box's own label); an edited file is read again without a restart and
// the next sync sees it; a bad file keeps the map in force. X-Forwarded-For counts only from a
// configured proxy, and only as far as the proxy wrote it: a box cannot spoof where it is by
// sending the header, directly or through the proxy (SCHED-15).
func TestNetworkFromAddress(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "prefixes")
	replace := func(text string) { // the safe way to edit it: a new file renamed over
		t.Helper()
		if err := os.WriteFile(path+".new", []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	replace(`# the test's operator
127.0.0.0/8     loopnet    north
127.0.0.2/32    isp-a      north   # box A, longest prefix wins
127.0.0.3/32    isp-b      south   # box B, behind the balancer
203.0.113.0/24  spoofnet   spoofland
`)
	prefixes, err := netmap.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	wctx, stop := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() { prefixes.Watch(wctx, 5*time.Millisecond); close(watched) }()
	t.Cleanup(func() { stop(); <-watched })

	f := newFixtureWith(t, func(c *Config) {
		c.Locations = prefixes
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.9/32")}
	})
	lb := balancer(t, f.srv.URL, "127.0.0.9")
	untrustedLB := balancer(t, f.srv.URL, "127.0.0.8")

	a := f.client // direct from 127.0.0.2, claiming to be in spoofnet
	fromAddr(t, a, "127.0.0.2", "203.0.113.5")
	b := registerBox(t, f, "acct") // through the balancer from 127.0.0.3, claiming spoofnet
	b.BaseURL = lb
	fromAddr(t, b, "127.0.0.3", "203.0.113.5")
	c := registerBox(t, f, "acct") // direct from 127.0.0.4
	fromAddr(t, c, "127.0.0.4", "")
	d := registerBox(t, f, "acct") // through a balancer the head-end does not trust
	d.BaseURL = untrustedLB
	fromAddr(t, d, "127.0.0.5", "203.0.113.5")

	syncAt := func(box *cloudclient.Client) (store.Report, string) {
		t.Helper()
		req := protocol.SyncRequest{PeerAddr: "192.0.2.1:7000", FreeBytes: 1 << 30, Network: "hand-label"}
		if _, err := box.Sync(ctx, req); err != nil {
			t.Fatal(err)
		}
		r, err := f.st.Report(ctx, box.Box)
		if err != nil {
			t.Fatal(err)
		}
		return r, peerAddrOf(t, f.st, box.Box)
	}
	check := func(what string, box *cloudclient.Client, network, located, peer string) {
		t.Helper()
		r, p := syncAt(box)
		if r.Network != network || r.Located != located || r.Region != "eu" || p != peer {
			t.Errorf("%s: network %q, region %q (account's %q), peer address %q; want %q, %q (eu), %q",
				what, r.Network, r.Located, r.Region, p, network, located, peer)
		}
	}
	check("direct, longest prefix, header ignored", a, "isp-a", "north", "127.0.0.2:7000")
	check("through the trusted balancer, header's own part ignored", b, "isp-b", "south", "127.0.0.3:7000")
	check("direct, shorter prefix", c, "loopnet", "north", "127.0.0.4:7000")
	check("through an untrusted balancer: its address", d, "loopnet", "north", "127.0.0.8:7000")

	// Edited: A moves, and 127.0.0.0/8 goes, so C's address is on no line.
	replace("127.0.0.2/32 isp-c east\n127.0.0.3/32 isp-b south\n")
	waitUntil(t, "A's sync after the edit", func() bool { r, _ := syncAt(a); return r.Network == "isp-c" })
	check("after the edit", a, "isp-c", "east", "127.0.0.2:7000")
	check("on no line: the account's region and the box's label", c, "hand-label", "", "127.0.0.4:7000")

	// A bad file: refused with its line, and the map in force stays.
	replace("127.0.0.2/32 isp-d west\n127.0.0.2 isp-e west\n")
	waitUntil(t, "the bad file's error", func() bool { return prefixes.Err() != nil })
	if err := prefixes.Err(); !strings.Contains(err.Error(), path+":2: ") {
		t.Errorf("error %q does not name %s:2", err, path)
	}
	check("after a bad file", a, "isp-c", "east", "127.0.0.2:7000")
}

func peerAddrOf(t *testing.T, st *store.Store, box media.BoxID) string {
	t.Helper()
	states, err := st.BoxStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.ID == box {
			return s.PeerAddr
		}
	}
	t.Fatalf("box %s not stored", box)
	return ""
}
