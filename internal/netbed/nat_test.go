package netbed

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestNATKinds checks each router kind's mapping and filtering from sockets inside the bed: a
// host behind the router sends from one port to two head-end addresses, which echo the source
// they saw; then strangers try to reach the mapping.
func TestNATKinds(t *testing.T) {
	n := BuildStandard(t, Standard{LANs: 4, HostsPerLAN: 1, NAT: []NAT{FullCone, PortRestricted, Symmetric, NoNAT}})
	n.ip(n.HQ, "addr", "add", "198.18.0.2/24", "dev", "eth0")
	var a, b, stranger *net.UDPConn
	if err := n.Do(n.HQ, func() (err error) {
		if a, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(198, 18, 0, 1), Port: 3478}); err != nil {
			return err
		}
		if b, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(198, 18, 0, 2), Port: 3478}); err != nil {
			return err
		}
		stranger, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(198, 18, 0, 1), Port: 3479})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*net.UDPConn{a, b, stranger} {
		defer c.Close()
	}
	for _, srv := range []*net.UDPConn{a, b} {
		go echoSource(srv)
	}
	port, _ := FullConePorts(1)
	for l, kind := range []NAT{FullCone, PortRestricted, Symmetric, NoNAT} {
		t.Run(kind.String(), func(t *testing.T) {
			var host *net.UDPConn
			if err := n.Do(n.Hosts[l][0], func() (err error) {
				host, err = net.ListenUDP("udp4", &net.UDPAddr{Port: port})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			defer host.Close()
			seenA, seenB := ask(t, host, a), ask(t, host, b)
			public := n.Public[l]
			if kind == NoNAT {
				public = n.Addrs[l][0]
			}
			wantA := fmt.Sprintf("%s:%d", public, port)
			switch kind {
			case FullCone, NoNAT:
				if seenA != wantA || seenB != wantA {
					t.Fatalf("seen as %s and %s, want %s both times", seenA, seenB, wantA)
				}
			case PortRestricted:
				if !strings.HasPrefix(seenA, public+":") || seenA != seenB {
					t.Fatalf("seen as %s and %s, want one mapping at %s", seenA, seenB, public)
				}
			case Symmetric:
				if !strings.HasPrefix(seenA, public+":") || !strings.HasPrefix(seenB, public+":") || seenA == seenB {
					t.Fatalf("seen as %s and %s, want two mappings at %s", seenA, seenB, public)
				}
			}
			// A stranger (same address as a, another port) sends to the mapping a saw.
			to, err := net.ResolveUDPAddr("udp4", seenA)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := stranger.WriteToUDP([]byte("hello"), to); err != nil {
				t.Fatal(err)
			}
			got := receives(host)
			if want := kind == FullCone || kind == NoNAT; got != want {
				t.Fatalf("a stranger's packet to %s arrived: %v, want %v", seenA, got, want)
			}
		})
	}
	t.Run("full-cone TCP without a packet out first", func(t *testing.T) {
		var l net.Listener
		if err := n.Do(n.Hosts[0][0], func() (err error) {
			l, err = net.Listen("tcp4", fmt.Sprintf(":%d", port))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			if c, err := l.Accept(); err == nil {
				c.Close()
			}
		}()
		for i, c := range []struct {
			lan  int
			want bool
		}{{0, true}, {1, false}} {
			var err error
			if derr := n.Do(n.HQ, func() error {
				var c2 net.Conn
				c2, err = net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", n.Public[c.lan], port), 2*time.Second)
				if err == nil {
					c2.Close()
				}
				return nil
			}); derr != nil {
				t.Fatal(derr)
			}
			if (err == nil) != c.want {
				t.Errorf("case %d: dial %s's router: %v, want reached %v", i, NATs[c.lan+1], err, c.want)
			}
		}
	})
}

// echoSource answers every datagram with the address it came from.
func echoSource(c *net.UDPConn) {
	buf := make([]byte, 64)
	for {
		_, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		c.WriteToUDP([]byte(from.String()), from)
	}
}

// ask sends to srv from host and returns the source address srv saw.
func ask(t *testing.T, host, srv *net.UDPConn) string {
	t.Helper()
	to := srv.LocalAddr().(*net.UDPAddr)
	buf := make([]byte, 64)
	for try := 0; try < 5; try++ {
		if _, err := host.WriteToUDP([]byte("who am i"), to); err != nil {
			t.Fatal(err)
		}
		host.SetReadDeadline(time.Now().Add(time.Second))
		k, from, err := host.ReadFromUDP(buf)
		if err == nil && from.String() == to.String() {
			return string(buf[:k])
		}
	}
	t.Fatalf("no answer from %s", to)
	return ""
}

// receives reports whether a datagram reaches c within a second.
func receives(c *net.UDPConn) bool {
	c.SetReadDeadline(time.Now().Add(time.Second))
	_, _, err := c.ReadFromUDP(make([]byte, 64))
	return err == nil || !errors.Is(err, os.ErrDeadlineExceeded)
}
