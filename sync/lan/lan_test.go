package lan

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"swarmbox/internal/netbed"
	"swarmbox/media"
)

func TestParseTXT(t *testing.T) {
	var box media.BoxID
	rand.Read(box[:])
	cases := []struct {
		txt  []string
		want bool
	}{
		{txtRecord(box), true},
		{[]string{"box=" + box.String(), "v=1", "extra=x"}, true},
		{[]string{"box=" + box.String()}, false},             // no version
		{[]string{"v=2", "box=" + box.String()}, false},      // unknown version
		{[]string{"v=1", "box=zz"}, false},                   // bad id
		{[]string{"v=1"}, false},                             // no id
		{[]string{"v=1", "box=" + box.String()[:10]}, false}, // short id
	}
	for _, c := range cases {
		got, err := parseTXT(c.txt)
		if (err == nil) != c.want || (c.want && got != box) {
			t.Errorf("parseTXT(%q) = %v, %v; want ok=%v", c.txt, got, err, c.want)
		}
	}
}

func FuzzParseTXT(f *testing.F) {
	f.Add("v=1", "box=00112233445566778899aabbccddeeff")
	f.Add("box=", "v=")
	f.Fuzz(func(t *testing.T, a, b string) {
		if box, err := parseTXT([]string{a, b}); err == nil && box.IsZero() && !strings.Contains(a+b, "box=00000000") {
			t.Fatalf("zero box id accepted from %q %q", a, b)
		}
	})
}

func TestStartRefusesBadConfig(t *testing.T) {
	var box media.BoxID
	for _, c := range []Config{
		{Box: box, Port: 6881},                                         // no interfaces: never all
		{Box: box, Port: 0, Interfaces: []string{"lo"}},                // no port
		{Box: box, Port: 6881, Interfaces: []string{"no-such-iface0"}}, // unknown interface
	} {
		if d, err := Start(context.Background(), c); err == nil {
			d.Close()
			t.Errorf("config %+v accepted", c)
		}
	}
}

// helperEnv makes the test binary a discovery helper inside a namespace (see TestHelper).
const helperEnv = "SWARMBOX_LAN_HELPER"

// TestHelper is not a test: run with helperEnv=BOXID:PORT:IFACE inside a namespace, it announces
// and browses, and prints its neighbour set ("neighbors id@addr,…") whenever it changes, until
// interrupted.
func TestHelper(t *testing.T) {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		t.Skip("helper process for TestDiscoveryInNamespaces")
	}
	parts := strings.Split(spec, ":")
	box, err := media.ParseBoxID(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(parts[1])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	d, err := Start(ctx, Config{Box: box, Port: port, Interfaces: []string{parts[2]}, Round: 2 * time.Second})
	if err != nil {
		fmt.Println("error", err)
		t.Fatal(err)
	}
	last := ""
	for ctx.Err() == nil {
		var s []string
		for _, n := range d.Neighbors() {
			s = append(s, n.Box.String()+"@"+n.Addr.String())
		}
		if line := "neighbors " + strings.Join(s, ","); line != last {
			fmt.Println(line)
			last = line
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	d.Close()
}

// helper is a running discovery helper and the last neighbour set it printed.
type helper struct {
	box  media.BoxID
	cmd  *exec.Cmd
	mu   sync.Mutex
	last string
}

func (h *helper) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		h.mu.Lock()
		h.last = sc.Text()
		h.mu.Unlock()
	}
}

func (h *helper) neighbors() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// TestDiscoveryInNamespaces runs real mDNS between boxes in network namespaces: two LANs of
// two boxes each; each box finds exactly its LAN neighbour, with its address and BitTorrent
// port, and drops it after it leaves. Nothing is sent outside the namespaces the test makes.
func TestDiscoveryInNamespaces(t *testing.T) {
	n := netbed.BuildStandard(t, netbed.Standard{LANs: 2, HostsPerLAN: 2})
	var hs [][]*helper
	for l := range n.Hosts {
		var row []*helper
		for i, ns := range n.Hosts[l] {
			h := &helper{}
			rand.Read(h.box[:])
			h.cmd = n.Command(ns, os.Args[0], "-test.run=^TestHelper$", "-test.v")
			h.cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d:eth0", helperEnv, h.box, 7000+i))
			out, err := h.cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := h.cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go h.read(out)
			t.Cleanup(func() { h.cmd.Process.Kill(); h.cmd.Wait() })
			row = append(row, h)
		}
		hs = append(hs, row)
	}
	want := func(l, i int) string {
		j := 1 - i
		return "neighbors " + hs[l][j].box.String() + "@" + n.Addrs[l][j] + ":" + strconv.Itoa(7000+j)
	}
	waitAll := func(what string, f func(l, i int) string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok := true
			var got []string
			for l := range hs {
				for i := range hs[l] {
					if hs[l][i] == nil {
						continue
					}
					g := hs[l][i].neighbors()
					got = append(got, g)
					ok = ok && g == f(l, i)
				}
			}
			if ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: boxes report %q", what, got)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitAll("every box finds its LAN neighbour and only it", want)
	// Box 2 of LAN 1 leaves; its neighbour drops it, LAN 2 is untouched.
	gone := hs[0][1]
	gone.cmd.Process.Signal(os.Interrupt)
	gone.cmd.Wait()
	hs[0][1] = nil
	waitAll("the box that left is dropped", func(l, i int) string {
		if l == 0 {
			return "neighbors "
		}
		return want(l, i)
	})
	if slices.ContainsFunc(hs[1], func(h *helper) bool { return strings.Contains(h.neighbors(), hs[0][0].box.String()) }) {
		t.Fatal("mDNS crossed from one LAN to the other")
	}
}
