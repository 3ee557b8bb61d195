// Package netbed builds a network of Linux network namespaces for tests: LANs (a bridge each,
// in a router namespace), hosts on them, and a WAN joining the routers to a head-end, every link
// shaped with tc. Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking), nothing is
// created in the machine's own namespace, and everything is deleted when the test ends, also
// when it fails; namespaces left by a test process that was killed are removed by the next one.
//
// Layout (Standard): the head-end namespace "hq" holds 198.18.0.1/24 on the WAN bridge; LAN n
// (1, 2, …) is 198.18.n.0/24 behind a router namespace that bridges the LAN and holds
// 198.18.n.254 there and 198.18.0.(10+n) on the WAN; host m of LAN n is 198.18.n.m on its eth0.
// A LAN may sit behind a translating router instead (Standard.NAT, nat.go): its hosts are then
// 192.168.1.m, the same in every such LAN, its router 192.168.1.254, and the rest of the bed
// sees only the router's WAN address.
package netbed

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"swarmbox/internal/testenv"
)

// Shape is a link's egress limit; zero means unshaped. (No delay: kernels without sch_netem,
// like this project's CI machines, cannot add one.)
type Shape struct {
	Mbit float64 // rate in megabits per second
}

// Bed is a network of namespaces owned by one test.
type Bed struct {
	t      testing.TB
	prefix string

	mu  sync.Mutex
	nss []string // created, in order
}

var stale = regexp.MustCompile(`^sb(\d+)-`)

// New makes an empty test bed: it needs root and iproute2 (a failure in CI, a skip elsewhere).
func New(t testing.TB) *Bed {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip")
	testenv.RequireTool(t, "tc")
	sweep()
	b := &Bed{t: t, prefix: fmt.Sprintf("sb%d-%s-", os.Getpid(), shortName(t.Name()))}
	t.Cleanup(b.Close)
	return b
}

func shortName(s string) string {
	s = strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(s, ""))
	if len(s) > 12 {
		s = s[len(s)-12:]
	}
	return s
}

// sweep deletes namespaces of test processes that no longer run.
func sweep() {
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		m := stale.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		pid, _ := strconv.Atoi(m[1])
		if pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		exec.Command("ip", "netns", "del", e.Name()).Run()
	}
}

// NS is the full name of namespace short in this bed.
func (b *Bed) NS(short string) string { return b.prefix + short }

// Close deletes every namespace of the bed (and with them every link in them), newest first.
func (b *Bed) Close() {
	b.mu.Lock()
	nss := b.nss
	b.nss = nil
	b.mu.Unlock()
	for i := len(nss) - 1; i >= 0; i-- {
		// Processes still inside keep a namespace's links alive; the caller stops its own.
		if out, err := exec.Command("ip", "netns", "del", nss[i]).CombinedOutput(); err != nil {
			b.t.Logf("netbed: delete namespace %s: %v %s", nss[i], err, out)
		}
	}
}

// run runs a command and fails the test if it fails.
func (b *Bed) run(args ...string) {
	b.t.Helper()
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		b.t.Fatalf("netbed: %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// ip runs `ip -n NS args…`.
func (b *Bed) ip(ns string, args ...string) {
	b.t.Helper()
	b.run(append([]string{"ip", "-n", ns}, args...)...)
}

// AddNS creates namespace short with loopback up.
func (b *Bed) AddNS(short string) string {
	b.t.Helper()
	ns := b.NS(short)
	b.run("ip", "netns", "add", ns)
	b.mu.Lock()
	b.nss = append(b.nss, ns)
	b.mu.Unlock()
	b.ip(ns, "link", "set", "lo", "up")
	return ns
}

// AddBridge creates bridge br (multicast snooping off, so mDNS floods every port) in ns.
func (b *Bed) AddBridge(ns, br string) {
	b.t.Helper()
	b.ip(ns, "link", "add", br, "type", "bridge", "mcast_snooping", "0")
	b.ip(ns, "link", "set", br, "up")
}

// Link joins namespace a (interface aIf, address aAddr in CIDR form or "") to the bridge br in
// namespace bns through a veth pair; egress from a is shaped by up, egress towards a by down.
// The port's name in bns is port.
func (b *Bed) Link(a, aIf, aAddr, bns, br, port string, up, down Shape) {
	b.t.Helper()
	b.run("ip", "link", "add", aIf, "netns", a, "type", "veth", "peer", "name", port, "netns", bns)
	b.ip(bns, "link", "set", port, "master", br)
	b.ip(bns, "link", "set", port, "up")
	if aAddr != "" {
		b.ip(a, "addr", "add", aAddr, "dev", aIf)
	}
	b.ip(a, "link", "set", aIf, "up")
	b.shape(a, aIf, up)
	b.shape(bns, port, down)
}

func (b *Bed) shape(ns, dev string, s Shape) {
	b.t.Helper()
	if s.Mbit <= 0 {
		return
	}
	args := []string{"ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", dev, "root"}
	// tbf: a burst of ~10 ms at the rate (at least 16 KiB), and a queue of ~100 ms.
	bytesPerSec := s.Mbit * 1e6 / 8
	burst := max(int(bytesPerSec/100), 16<<10)
	b.run(append(args, "tbf", "rate", fmt.Sprintf("%.0fkbit", s.Mbit*1000), "burst", strconv.Itoa(burst),
		"limit", strconv.Itoa(max(int(bytesPerSec/10), 2*burst)))...)
}

// Route adds a route in ns.
func (b *Bed) Route(ns string, args ...string) {
	b.t.Helper()
	b.ip(ns, append([]string{"route", "add"}, args...)...)
}

// Forward turns on IPv4 forwarding in ns (a router).
func (b *Bed) Forward(ns string) {
	b.t.Helper()
	b.run("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
}

// Command returns a command that runs inside ns.
func (b *Bed) Command(ns string, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Output runs a command inside ns and returns its combined output.
func (b *Bed) Output(ns string, name string, args ...string) (string, error) {
	var out bytes.Buffer
	c := b.Command(ns, name, args...)
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	return out.String(), err
}

// Standard is the usual topology's shaping.
type Standard struct {
	LANs, HostsPerLAN int
	LAN               Shape // each LAN port, towards its host
	BoxUp             Shape // each host's uplink
	ServerEgress      Shape // the head-end's link to the WAN
	WAN               Shape // each router's link to the WAN, both ways
	NAT               []NAT // NAT[n-1] is LAN n's router kind; a LAN past the end has none
}

// nat is LAN l's (1, 2, …) router kind.
func (s Standard) nat(l int) NAT {
	if l-1 < len(s.NAT) {
		return s.NAT[l-1]
	}
	return NoNAT
}

// Net is a built Standard topology.
type Net struct {
	*Bed
	HQ      string     // the head-end's namespace
	HQAddr  string     // its address
	Hosts   [][]string // Hosts[lan][i] is a namespace
	Addrs   [][]string // and its address
	Routers []string
	Public  []string // Public[lan] is the LAN's router address on the WAN: what others see of a translated LAN
}

// BuildStandard builds hq + LANs of hosts (see the package comment).
func BuildStandard(t testing.TB, s Standard) *Net {
	t.Helper()
	b := New(t)
	n := &Net{Bed: b, HQAddr: "198.18.0.1"}
	wan := b.AddNS("wan")
	b.AddBridge(wan, "br0")
	n.HQ = b.AddNS("hq")
	b.Link(n.HQ, "eth0", n.HQAddr+"/24", wan, "br0", "hq", s.ServerEgress, Shape{})
	for l := 1; l <= s.LANs; l++ {
		if s.nat(l) != NoNAT {
			testenv.RequireTool(t, "nft")
		}
		prefix := fmt.Sprintf("198.18.%d", l)
		if s.nat(l) != NoNAT {
			prefix = Inside
		}
		r := b.AddNS(fmt.Sprintf("lan%d", l))
		public := fmt.Sprintf("198.18.0.%d", 10+l)
		n.Routers, n.Public = append(n.Routers, r), append(n.Public, public)
		b.AddBridge(r, "br0")
		b.ip(r, "addr", "add", prefix+".254/24", "dev", "br0")
		b.Link(r, "wan0", public+"/24", wan, "br0", fmt.Sprintf("r%d", l), s.WAN, s.WAN)
		b.Forward(r)
		if s.nat(l) == NoNAT {
			b.Route(n.HQ, prefix+".0/24", "via", public)
		} else {
			b.translate(r, s.nat(l), s.HostsPerLAN)
		}
		var hosts, addrs []string
		for h := 1; h <= s.HostsPerLAN; h++ {
			ns := b.AddNS(fmt.Sprintf("box%d-%d", l, h))
			addr := fmt.Sprintf("%s.%d", prefix, h)
			b.Link(ns, "eth0", addr+"/24", r, "br0", fmt.Sprintf("p%d", h), s.BoxUp, s.LAN)
			b.Route(ns, "default", "via", prefix+".254")
			hosts, addrs = append(hosts, ns), append(addrs, addr)
		}
		n.Hosts, n.Addrs = append(n.Hosts, hosts), append(n.Addrs, addrs)
	}
	// Routers reach the LANs that are not translated through their routers; a translated LAN is
	// reached at its router's own WAN address, which every router has on the WAN.
	for l := 1; l <= s.LANs; l++ {
		for o := 1; o <= s.LANs; o++ {
			if o != l && s.nat(o) == NoNAT {
				b.Route(n.Routers[l-1], fmt.Sprintf("198.18.%d.0/24", o), "via", n.Public[o-1])
			}
		}
	}
	return n
}
