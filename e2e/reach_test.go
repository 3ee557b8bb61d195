package e2e

import (
	"regexp"
	"testing"
	"time"

	"swarmbox/internal/netbed"
)

// TestNetbedReachability (NET-2): one box sits behind a home router (port-restricted, the
// common kind), another has an address of its own, and neither says a word about NAT. The
// head-end dials each back and learns which it can reach; when the box with its own address
// wishes the title the box behind the router holds, the plan has the box behind the router dial
// out to it, and the title comes from that peer, not from the server.
func TestNetbedReachability(t *testing.T) {
	s := bedShape
	s.LANs, s.HostsPerLAN, s.NAT = 2, 1, []netbed.NAT{netbed.PortRestricted}
	n := netbed.BuildStandard(t, s)
	c := startBedCloud(t, n)
	id, container := ingestRandom(t, c, "home-film", 4<<20)
	home := startBedBox(t, n, c, 0, 0)
	open := startBedBox(t, n, c, 1, 0)
	homeID, openID := home.status(t).Box, open.status(t).Box
	learned := func(box, addr, reachable string) {
		t.Helper()
		re := regexp.MustCompile(`msg="box reachability learned" box=` + box + ` addr=` + regexp.QuoteMeta(addr) + ` reachable=` + reachable)
		waitFor(t, "the head-end to learn box "+box[:8]+" is reachable="+reachable, 30*time.Second, func() bool {
			return re.MatchString(c.proc.Log())
		})
	}
	// What the head-end sees of the box behind the router is the router's address.
	learned(homeID, n.Public[0]+":6881", "false")
	learned(openID, n.Addrs[1][0]+":6881", "true")

	home.cmd(t, "wish", id)
	home.waitComplete(t, id)
	open.cmd(t, "wish", id)
	open.waitComplete(t, id)
	sameContainer(t, open, id, container)
	_, _, fromServer, fromPeers := open.item(t, id)
	t.Logf("the box with its own address got %d bytes from the box behind the router and %d from the server", fromPeers, fromServer)
	// Without dial orders the box behind the router learnt of its receiver only by chance and
	// the server sent half of the title; a share of the server's kept for a slow start.
	if fromPeers == 0 || 4*fromServer > fromPeers {
		t.Fatalf("the title came %d bytes from the server and %d from the peer behind the router: the peer did not dial out", fromServer, fromPeers)
	}
	// The connection came in through the router: the sender is its address.
	if !open.proc.logHas(`msg="item complete, every piece verified"`, "from="+n.Public[0]+":") {
		t.Fatalf("the receiving box does not log the title as sent from the router's address %s", n.Public[0])
	}
}
