package lan

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grandcat/zeroconf"

	"swarmbox/internal/netbed"
	"swarmbox/media"
)

// TestVerifyTXT: an announcement proves a box only with that box's key, signed over its port
// and a recent time.
func TestVerifyTXT(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	box := media.BoxIDFromKey(key.Public().(ed25519.PublicKey))
	now := time.Now()
	good := signedTXT(key, 7000, now)
	set := func(txt []string, k, v string) []string {
		out := slices.Clone(txt)
		for i, kv := range out {
			if strings.HasPrefix(kv, k+"=") {
				out[i] = k + "=" + v
			}
		}
		return out
	}
	forged := set(signedTXT(other, 7000, now), "box", box.String()) // another key, the victim's id
	cases := []struct {
		name string
		txt  []string
		port int
		at   time.Time
		want bool
	}{
		{"signed", good, 7000, now, true},
		{"other port", good, 7001, now, false},
		{"old", good, 7000, now.Add(maxTXTAge + time.Minute), false},
		{"future", good, 7000, now.Add(-maxTXTFuture - time.Minute), false},
		{"victim id, impostor key", forged, 7000, now, false},
		{"unsigned v1", []string{"v=1", "box=" + box.String()}, 7000, now, false},
		{"bad signature", set(good, "sig", "AAAA"), 7000, now, false},
		{"time changed", set(good, "t", "1"), 7000, now, false},
		{"repeated field", append(slices.Clone(good), "box=00"), 7000, now, false},
		{"empty", nil, 7000, now, false},
	}
	for _, c := range cases {
		got, err := verifyTXT(c.txt, c.port, c.at)
		if (err == nil) != c.want || (c.want && got != box) {
			t.Errorf("%s: verifyTXT = %v, %v; want ok=%v", c.name, got, err, c.want)
		}
	}
}

func FuzzVerifyTXT(f *testing.F) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	txt := signedTXT(key, 7000, time.Now())
	f.Add(txt[0], txt[1], txt[2], txt[3], txt[4])
	f.Add("v=1", "box=00112233445566778899aabbccddeeff", "", "", "")
	f.Fuzz(func(t *testing.T, a, b, c, d, e string) {
		if box, err := verifyTXT([]string{a, b, c, d, e}, 7000, time.Now()); err == nil && box.IsZero() {
			t.Fatalf("zero box id accepted from %q", []string{a, b, c, d, e})
		}
	})
}

func TestStartRefusesBadConfig(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	for _, c := range []Config{
		{Key: key, Port: 6881},                                         // no interfaces: never all
		{Key: key, Port: 0, Interfaces: []string{"lo"}},                // no port
		{Key: key, Port: 6881, Interfaces: []string{"no-such-iface0"}}, // unknown interface
		{Port: 6881, Interfaces: []string{"lo"}},                       // no key
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
	seed, err := hex.DecodeString(parts[0])
	if err != nil || len(seed) != ed25519.SeedSize {
		t.Fatalf("helper seed %q", parts[0])
	}
	port, _ := strconv.Atoi(parts[1])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(parts) > 3 {
		impostor(t, ctx, ed25519.NewKeyFromSeed(seed), port, parts[2], parts[3])
		return
	}
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	d, err := Start(ctx, Config{Key: ed25519.NewKeyFromSeed(seed), Port: port, Interfaces: []string{parts[2]}, Round: 2 * time.Second, Log: log})
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
	box   media.BoxID
	seed  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	last  string
	lines []string
}

// newHelper makes a helper's key.
func newHelper() *helper {
	seed := make([]byte, ed25519.SeedSize)
	rand.Read(seed)
	return &helper{seed: hex.EncodeToString(seed), box: media.BoxIDFromKey(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))}
}

func (h *helper) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		h.mu.Lock()
		if strings.HasPrefix(sc.Text(), "neighbors ") {
			h.last = sc.Text()
		}
		h.lines = append(h.lines, sc.Text())
		h.mu.Unlock()
	}
}

// output is every line the helper printed so far.
func (h *helper) output() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lines)
}

// said reports whether the helper printed a line containing every part.
func (h *helper) said(parts ...string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.ContainsFunc(h.lines, func(l string) bool {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				return false
			}
		}
		return true
	})
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
			h := newHelper()
			h.cmd = n.Command(ns, os.Args[0], "-test.run=^TestHelper$", "-test.v")
			h.cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d:eth0", helperEnv, h.seed, 7000+i))
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

// impostor publishes, until ctx ends, two announcements that prove no box: the victim's id
// with the impostor's own key and signature, and the victim's id in the old unsigned form.
func impostor(t *testing.T, ctx context.Context, key ed25519.PrivateKey, port int, iface, victim string) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		t.Fatal(err)
	}
	forged := signedTXT(key, port, time.Now())
	for i, kv := range forged {
		if strings.HasPrefix(kv, "box=") {
			forged[i] = "box=" + victim
		}
	}
	for i, txt := range [][]string{forged, {"v=1", "box=" + victim}} {
		s, err := zeroconf.Register(fmt.Sprintf("impostor-%d", i), Service, domain, port+i, txt, []net.Interface{*ifi})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Shutdown()
	}
	fmt.Println("impostor up")
	<-ctx.Done()
}

// TestMDNSImpostorIgnored: on a LAN in a network namespace, a host publishes _swarmbox._tcp
// announcements for a real box's id that it cannot sign (another key; the old unsigned form).
// The real box logs both as ignored, with the impostor's address, and never takes them as a
// neighbour, while a real neighbour on the same LAN is found.
func TestMDNSImpostorIgnored(t *testing.T) {
	n := netbed.BuildStandard(t, netbed.Standard{LANs: 1, HostsPerLAN: 3})
	start := func(h *helper, ns string, port int, extra string) {
		h.cmd = n.Command(ns, os.Args[0], "-test.run=^TestHelper$", "-test.v")
		h.cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d:eth0%s", helperEnv, h.seed, port, extra))
		out, err := h.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := h.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go h.read(out)
		t.Cleanup(func() { h.cmd.Process.Kill(); h.cmd.Wait() })
	}
	victim, real, imp := newHelper(), newHelper(), newHelper()
	start(victim, n.Hosts[0][0], 7000, "")
	start(real, n.Hosts[0][1], 7001, "")
	start(imp, n.Hosts[0][2], 7100, ":"+victim.box.String())
	impAddr := n.Addrs[0][2]
	want := "neighbors " + real.box.String() + "@" + n.Addrs[0][1] + ":7001"
	wantReal := "neighbors " + victim.box.String() + "@" + n.Addrs[0][0] + ":7000"
	deadline := time.Now().Add(60 * time.Second)
	for !(victim.said("LAN announcement ignored", "impostor-0", impAddr, "another box's key") &&
		victim.said("LAN announcement ignored", "impostor-1", impAddr, "version") &&
		real.said("LAN announcement ignored", "impostor-0") && victim.neighbors() == want && real.neighbors() == wantReal) {
		if time.Now().After(deadline) {
			t.Fatalf("the boxes did not log the impostor's announcements as ignored within 60 s; impostor up: %v; victim said:\n%s",
				imp.said("impostor up"), strings.Join(victim.output(), "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Another round later, still only the real neighbours.
	n0 := len(victim.output())
	for !slices.ContainsFunc(victim.output()[n0:], func(l string) bool { return strings.Contains(l, "impostor-0") }) {
		if time.Now().After(deadline.Add(30 * time.Second)) {
			t.Fatal("no second browse round")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := victim.neighbors(); got != want {
		t.Fatalf("the box's neighbours are %q, want only the real one: %q", got, want)
	}
	if got := real.neighbors(); got != "neighbors "+victim.box.String()+"@"+n.Addrs[0][0]+":7000" {
		t.Fatalf("the real neighbour's neighbours are %q, want only the victim at its own address", got)
	}
}
