package headend

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/netmap"
	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

var testProxies = proxies{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:ff::/48")}

// TestForwardedClient: from the right, the first address that is not a trusted proxy is the
// client's; what the client wrote left of it never counts (SCHED-15).
func TestForwardedClient(t *testing.T) {
	peer := netip.MustParseAddr("10.0.0.1")
	tests := []struct {
		name   string
		values []string
		want   string
	}{
		{"no header: the proxy itself", nil, "10.0.0.1"},
		{"one client", []string{"198.51.100.7"}, "198.51.100.7"},
		{"client's own claim left of it", []string{"203.0.113.5, 198.51.100.7"}, "198.51.100.7"},
		{"through two proxies", []string{"203.0.113.5, 198.51.100.7, 10.2.3.4"}, "198.51.100.7"},
		{"several header lines", []string{"203.0.113.5", "198.51.100.7", "10.2.3.4"}, "198.51.100.7"},
		{"only proxies: the left-most", []string{"10.9.9.9, 10.2.3.4"}, "10.9.9.9"},
		{"with ports", []string{"198.51.100.7:4711, 10.2.3.4:80"}, "198.51.100.7"},
		{"IPv6 with port", []string{"[2001:db8::7]:4711"}, "2001:db8::7"},
		{"IPv6 through an IPv6 proxy", []string{"2001:db8::7, 2001:db8:ff::1"}, "2001:db8::7"},
		{"IPv4-mapped", []string{"::ffff:198.51.100.7"}, "198.51.100.7"},
		{"garbage right of the client: the proxy that sent it", []string{"198.51.100.7, unknown, 10.2.3.4"}, "10.2.3.4"},
		{"garbage only", []string{"unknown"}, "10.0.0.1"},
		{"empty entry", []string{"198.51.100.7,"}, "10.0.0.1"},
		{"zone dropped", []string{"fe80::1%eth0"}, "fe80::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := forwardedClient(peer, tt.values, testProxies.trusted); got != netip.MustParseAddr(tt.want) {
				t.Fatalf("forwardedClient(%q) = %s, want %s", tt.values, got, tt.want)
			}
		})
	}
}

// FuzzForwardedFor: no header makes forwardedClient panic, and the client it names is the peer
// or an address the header holds that is either not a trusted proxy or left of every entry that is.
func FuzzForwardedFor(f *testing.F) {
	f.Add("203.0.113.5, 198.51.100.7, 10.2.3.4", "")
	f.Add("unknown", "10.0.0.9")
	f.Add("[2001:db8::7]:4711,,", "2001:db8:ff::1")
	f.Add("fe80::1%eth0", "::ffff:10.1.1.1")
	f.Fuzz(func(t *testing.T, a, b string) {
		peer := netip.MustParseAddr("10.0.0.1")
		got := forwardedClient(peer, []string{a, b}, testProxies.trusted)
		if got == peer {
			return
		}
		if !got.IsValid() || got.Zone() != "" || got.Is4In6() {
			t.Fatalf("client %v is not a plain address", got)
		}
		for _, v := range strings.Split(a+","+b, ",") {
			if x, ok := forwardedAddr(v); ok && x == got {
				return
			}
		}
		t.Fatalf("client %s is in neither the header nor the peer", got)
	})
}

// TestParseProxies: serve -trusted-proxies takes addresses and prefixes, and refuses what is
// not one with the entry named.
func TestParseProxies(t *testing.T) {
	got, err := ParseProxies(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,,")
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32")}
	if err != nil || len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("ParseProxies = %v, %v; want %v", got, err, want)
	}
	if got, err := ParseProxies(""); err != nil || len(got) != 0 {
		t.Fatalf("ParseProxies(\"\") = %v, %v", got, err)
	}
	for _, bad := range []string{"lb.example", "10.1.0.0/8", "10.0.0.0/33", "::ffff:10.0.0.1", "fe80::1%eth0"} {
		if _, err := ParseProxies("10.0.0.0/8," + bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseProxies(%q) = %v; want an error naming it", bad, err)
		}
	}
}

// TestConnectionsFromTrustedProxiesNotLimited: the per-address connection limit is on the TCP
// peer, and a trusted proxy (a load balancer carrying everyone's requests) is not held to it.
func TestConnectionsFromTrustedProxiesNotLimited(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), Serving{}, nil)
	go hs.Serve(LimitConns(ln, 2, nil, netip.MustParsePrefix("127.0.0.9/32")))
	t.Cleanup(func() { hs.Close() })
	dial := func(from string) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	for range 4 { // twice the limit, from the balancer
		dial("127.0.0.9")
	}
	if err := healthyText(clientFrom(t, "127.0.0.9"), "http://"+ln.Addr().String()); err != nil {
		t.Fatalf("the balancer past the limit: %v", err)
	}
	dial("127.0.0.1")
	dial("127.0.0.1")
	c := dial("127.0.0.1") // a third from an ordinary address: closed unanswered
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	if b, err := io.ReadAll(c); len(b) > 0 || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection over the limit: read %q, %v; want it closed unanswered", b, err)
	}
}

// TestSchedulerSeesTheLocatedRegion: the box the scheduler plans is in the region its address
// is in, else its account's, both in full rounds (from the store) and when a sync re-plans it.
func TestSchedulerSeesTheLocatedRegion(t *testing.T) {
	id := media.BoxID{7}
	pieces := func(media.ItemID) int { return 0 }
	for _, tt := range []struct{ located, want string }{{"north", "north"}, {"", "eu"}} {
		r := store.Report{Box: id, Region: "eu", Located: tt.located, Network: "isp-a"}
		if sb := schedBox(store.BoxState{ID: id}, r, "", false, pieces); sb.Region != tt.want || sb.Network != "isp-a" {
			t.Errorf("full round, located %q: region %q, network %q; want %q, isp-a", tt.located, sb.Region, sb.Network, tt.want)
		}
		rp := &regionPlan{name: "eu", addrs: map[media.BoxID]string{}}
		sb, _ := rp.syncBox(store.Box{ID: id, Region: "eu"}, protocol.SyncRequest{Network: "isp-a"}, store.SyncResult{Located: tt.located})
		if sb.Region != tt.want || sb.Network != "isp-a" {
			t.Errorf("sync, located %q: region %q, network %q; want %q, isp-a", tt.located, sb.Region, sb.Network, tt.want)
		}
	}
	m, err := netmap.Parse(strings.NewReader("10.0.0.0/8 isp-a north\n10.1.0.0/16 - -\n"), "prefixes")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: Config{Locations: m}}
	for _, tt := range []struct {
		remote, reported string
		want             netmap.Location
	}{
		{"10.2.3.4:5000", "hand", netmap.Location{Network: "isp-a", Region: "north"}},
		{"10.1.3.4:5000", "hand", netmap.Location{}}, // a line with no labels: still the operator's word
		{"192.0.2.1:5000", "hand", netmap.Location{Network: "hand"}},
		{"[::ffff:10.2.3.4]:5000", "", netmap.Location{Network: "isp-a", Region: "north"}},
	} {
		if got := s.locate(tt.remote, tt.reported); got != tt.want {
			t.Errorf("locate(%s, %q) = %+v, want %+v", tt.remote, tt.reported, got, tt.want)
		}
	}
	if got := (&Server{}).locate("10.2.3.4:5000", "hand"); got != (netmap.Location{Network: "hand"}) {
		t.Errorf("no map: %+v, want the box's label", got)
	}
}
