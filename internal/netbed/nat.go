package netbed

import (
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// NAT is the address translation a LAN's router does, in the terms of RFC 4787 (mapping and
// filtering behaviour) and the older names people still use for them.
type NAT string

// The router kinds of a test bed LAN.
const (
	// NoNAT routes: the LAN's hosts have addresses the whole bed reaches (198.18.n.0/24).
	NoNAT NAT = ""
	// FullCone maps a host's port to the same public port whatever it talks to, and lets anyone
	// reach that port (endpoint-independent mapping and filtering). Linux has no such NAT, so the
	// router forwards each host's block of ports (FullConePorts) to it and keeps a host's source
	// port on the way out, which is the same behaviour for ports inside the block.
	FullCone NAT = "full-cone"
	// PortRestricted maps a host's port to one public port whatever it talks to, but lets in only
	// the address and port it sent to (endpoint-independent mapping, address-and-port-dependent
	// filtering): Linux's plain masquerade, and most home routers.
	PortRestricted NAT = "port-restricted"
	// Symmetric picks a new public port for every destination and lets in only that destination
	// (address-and-port-dependent mapping and filtering), as carrier-grade NATs and some
	// enterprise firewalls do.
	Symmetric NAT = "symmetric"
)

// NATs lists the router kinds, no router first.
var NATs = []NAT{NoNAT, FullCone, PortRestricted, Symmetric}

// String is the kind's name, "none" for no router.
func (k NAT) String() string {
	if k == NoNAT {
		return "none"
	}
	return string(k)
}

// Inside is the private prefix behind every translating router: the same in every home, as in
// real homes, so two boxes in two homes may have the same address.
const Inside = "192.168.1"

// FullConePorts is the block of ports a full-cone router forwards to its LAN's host h (1, 2, …):
// a host that listens inside its block is reachable from anywhere at the router's address and
// the same port.
func FullConePorts(h int) (lo, hi int) { return 40000 + 100*h, 40000 + 100*h + 99 }

// natRules is the nftables ruleset of a translating router whose WAN interface is wan0 and
// whose LAN is Inside.0/24 with hosts 1…hosts.
func natRules(k NAT, hosts int) (string, error) {
	var out, pre strings.Builder
	switch k {
	case FullCone, PortRestricted:
		// masquerade keeps the host's source port when it is free: one public port per host port.
		out.WriteString("oifname \"wan0\" ip saddr " + Inside + ".0/24 masquerade\n")
	case Symmetric:
		out.WriteString("oifname \"wan0\" ip saddr " + Inside + ".0/24 masquerade fully-random\n")
	default:
		return "", fmt.Errorf("netbed: unknown router kind %q (want one of %v)", k, NATs[1:])
	}
	if k == FullCone {
		for h := 1; h <= hosts; h++ {
			lo, hi := FullConePorts(h)
			for _, proto := range []string{"tcp", "udp"} {
				fmt.Fprintf(&pre, "iifname \"wan0\" %s dport %d-%d dnat to %s.%d\n", proto, lo, hi, Inside, h)
			}
		}
	}
	return fmt.Sprintf(`table ip netbed {
	chain from_wan {
		type nat hook prerouting priority dstnat; policy accept;
		%s
	}
	chain to_wan {
		type nat hook postrouting priority srcnat; policy accept;
		%s
	}
	chain guard {
		type filter hook forward priority filter; policy accept;
		iifname "wan0" ct state established,related accept
		iifname "wan0" ct status dnat accept
		iifname "wan0" drop
	}
}
`, pre.String(), out.String()), nil
}

// translate makes router ns (WAN interface wan0) a router of kind k for hosts 1…hosts.
func (b *Bed) translate(ns string, k NAT, hosts int) {
	b.t.Helper()
	rules, err := natRules(k, hosts)
	if err != nil {
		b.t.Fatal(err)
	}
	c := b.Command(ns, "nft", "-f", "-")
	c.Stdin = strings.NewReader(rules)
	if out, err := c.CombinedOutput(); err != nil {
		b.t.Fatalf("netbed: nft in %s: %v\n%s\n%s", ns, err, out, rules)
	}
}

// Do runs f on an operating-system thread inside namespace ns: sockets f opens stay in ns
// after it returns (read and write them from anywhere), so a test can be a host of the bed
// without a process of its own. The thread is never used again.
func (b *Bed) Do(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Not unlocked: the thread ends with this goroutine, so nothing else ever runs in ns.
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("netbed: open namespace %s: %w", ns, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("netbed: enter namespace %s: %w", ns, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}
