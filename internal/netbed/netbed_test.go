package netbed

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"swarmbox/internal/testenv"
)

func TestStandardTopology(t *testing.T) {
	New(t) // skips (or fails in CI) without root and iproute2
	testenv.RequireTool(t, "ping")
	before, _ := exec.Command("ip", "-o", "link").Output()
	var made []string
	t.Run("build", func(t *testing.T) {
		n := BuildStandard(t, Standard{LANs: 2, HostsPerLAN: 2, LAN: Shape{Mbit: 50}, BoxUp: Shape{Mbit: 5}, ServerEgress: Shape{Mbit: 20}, WAN: Shape{Mbit: 100}})
		made = append(made, n.HQ, n.Hosts[0][0], n.Hosts[1][1])
		for _, c := range []struct{ from, to string }{
			{n.Hosts[0][0], n.Addrs[0][1]}, // same LAN
			{n.Hosts[0][0], n.Addrs[1][1]}, // across the WAN
			{n.Hosts[1][0], n.HQAddr},      // to the head-end
			{n.HQ, n.Addrs[1][0]},          // and back
		} {
			if out, err := n.Output(c.from, "ping", "-c", "1", "-W", "2", c.to); err != nil {
				t.Errorf("ping %s from %s: %v\n%s", c.to, c.from, err, out)
			}
		}
		out, _ := n.Output(n.Hosts[0][0], "tc", "qdisc", "show", "dev", "eth0")
		if !strings.Contains(out, "tbf") || !strings.Contains(out, "5Mbit") {
			t.Errorf("box uplink not shaped: %s", out)
		}
	})
	after, _ := exec.Command("ip", "-o", "link").Output()
	if string(before) != string(after) {
		t.Errorf("the machine's own interfaces changed:\nbefore %s\nafter %s", before, after)
	}
	for _, ns := range made {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			t.Errorf("namespace %s left behind", ns)
		}
	}
}
