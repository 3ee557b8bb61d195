package headend

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Behind a load balancer every request's TCP peer is the balancer; the client it forwards for is
// named in X-Forwarded-For, which each proxy extends with the address it received the request
// from. That header is believed only from the operator's proxies (Config.TrustedProxies, serve
// -trusted-proxies), and only as far as it was written by them: from the right, the first
// address that is not itself a trusted proxy is the client's. Anything left of it was written
// by the client and is ignored, so a box cannot choose its own address — nor so its location
// (SCHED-15), the address its web seed grants are bound to (SEC-1), or the address its peers
// dial (SCHED-13).

// headerForwardedFor names the client in a request a proxy forwards.
const headerForwardedFor = "X-Forwarded-For"

// ParseProxies reads serve -trusted-proxies: a comma-separated list of CIDR prefixes or single
// addresses.
func ParseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		var p netip.Prefix
		if a, err := netip.ParseAddr(s); err == nil {
			if a.Zone() != "" {
				return nil, fmt.Errorf("trusted proxy %q: write it without its zone", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		} else if p, err = netip.ParsePrefix(s); err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an address or a CIDR prefix (%w)", s, err)
		}
		switch {
		case p.Addr().Is4In6():
			return nil, fmt.Errorf("trusted proxy %q: write IPv4 proxies as a.b.c.d or a.b.c.d/n", s)
		case p.Masked() != p:
			return nil, fmt.Errorf("trusted proxy %q has host bits set: did you mean %s?", s, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

// proxies is the operator's list of trusted proxies.
type proxies []netip.Prefix

func (ps proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// clientAddrs sets each request's RemoteAddr to its client's address (port 0 when it came from
// X-Forwarded-For), so that every handler behind it — box API, web seed, browser catalog — sees
// the client rather than the balancer. X-Forwarded-For from any other peer is removed.
func clientAddrs(ps proxies, h http.Handler) http.Handler {
	if len(ps) == 0 {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Del(headerForwardedFor)
			h.ServeHTTP(w, r)
		})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := remoteIP(r.RemoteAddr)
		if !ok || !ps.trusted(peer) {
			r.Header.Del(headerForwardedFor)
			h.ServeHTTP(w, r)
			return
		}
		client := forwardedClient(peer, r.Header.Values(headerForwardedFor), ps.trusted)
		r = r.WithContext(r.Context()) // a copy: the server's own request keeps the TCP peer
		r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
		h.ServeHTTP(w, r)
	})
}

// forwardedClient is the client a trusted proxy peer forwarded for: walking the X-Forwarded-For
// values from the right, the first address that is not a trusted proxy. An entry that is not an
// address stops the walk at the last proxy that handed it on (nothing left of it can be told
// apart from what the client wrote); a list of trusted proxies only names its left-most.
func forwardedClient(peer netip.Addr, values []string, trusted func(netip.Addr) bool) netip.Addr {
	client := peer.Unmap()
	for i := len(values) - 1; i >= 0; i-- {
		hops := strings.Split(values[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, ok := forwardedAddr(hops[j])
			if !ok {
				return client
			}
			client = a
			if !trusted(a) {
				return a
			}
		}
	}
	return client
}

// forwardedAddr parses one X-Forwarded-For entry: an address, or an address with a port.
func forwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}, false
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone(""), true
}
