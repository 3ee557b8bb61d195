package headend

import (
	"fmt"
	"net"
	"net/netip"

	"swarmbox/cloud/scheduler"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// peerAddr is where other boxes reach this one: the address the sync request came from, with
// the port the box reports. The host a box reports is never used: a box that named any address
// would make the boxes planned to fetch from it dial there (issue 13). Boxes behind one address
// reach each other on their LAN by the addresses they find by mDNS (lanAddrs).
func peerAddr(reported, remote string) (string, error) {
	if reported == "" {
		return "", nil // not seeding (yet)
	}
	_, port, err := net.SplitHostPort(reported)
	if err != nil {
		return "", fmt.Errorf("peer_addr %q: %w", reported, err)
	}
	rh, _, err := net.SplitHostPort(remote)
	if err != nil {
		return "", fmt.Errorf("remote address %q: %w", remote, err)
	}
	ip, err := netip.ParseAddr(rh)
	if err != nil {
		return "", fmt.Errorf("remote address %q: %w", remote, err)
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(ip.Unmap().String(), port))
	if err != nil || ap.Port() == 0 {
		return "", fmt.Errorf("peer_addr %q: bad port", reported)
	}
	return ap.String(), nil
}

// lanAddrs replaces, for the syncing box only, the address of each box in addrs that it
// reports as a LAN neighbour behind the same address as itself (the head-end saw both from
// one IP) with the address the box found it at: what the box tells itself to dial, not what
// the other box claimed.
func lanAddrs(addrs map[media.BoxID]string, self string, neighbors []protocol.Neighbor) {
	selfIP, ok := hostOf(self)
	if !ok {
		return
	}
	for _, n := range neighbors {
		a, named := addrs[n.Box]
		if !named {
			continue
		}
		if ip, ok := hostOf(a); ok && ip == selfIP {
			if ap, err := netip.ParseAddrPort(n.Addr); err == nil && ap.Port() != 0 {
				addrs[n.Box] = ap.String()
			}
		}
	}
}

func hostOf(addr string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// peerBoxes are the boxes a box's plan lets it exchange pieces with: its sources, the
// receivers it dials and those that dial it, and its LAN neighbours that are boxes of its
// region (lan). Boxes admit peers by key, not address.
func peerBoxes(bp scheduler.BoxPlan, lan []media.BoxID) []media.BoxID {
	seen := map[media.BoxID]bool{}
	out := []media.BoxID{}
	add := func(b media.BoxID) {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	for _, f := range bp.Fetches {
		for _, s := range f.Sources {
			add(s.Box)
		}
	}
	for _, u := range bp.Uploads {
		add(u.To)
	}
	for _, u := range bp.Receivers {
		add(u.To)
	}
	for _, b := range lan {
		add(b)
	}
	return out
}

// knownNeighbors are the reported LAN neighbours that are registered boxes of the region:
// anyone can announce a key of its own on a LAN, only the head-end knows which are boxes.
// rp.mu must be held.
func (rp *regionPlan) knownNeighbors(ns []protocol.Neighbor) []media.BoxID {
	var out []media.BoxID
	for _, n := range ns {
		if _, known := rp.addrs[n.Box]; known {
			out = append(out, n.Box)
		}
	}
	return out
}
