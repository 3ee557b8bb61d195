package headend

import (
	"context"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"swarmbox/internal/testenv"
	"swarmbox/sync/protocol"
)

// countingProber counts the probes a real DialProber makes.
type countingProber struct {
	DialProber
	n atomic.Int64
}

func (p *countingProber) Reachable(ctx context.Context, addr netip.AddrPort) bool {
	p.n.Add(1)
	return p.DialProber.Reachable(ctx, addr)
}

// TestReachabilityLearned (NET-2): the head-end dials a box's BitTorrent port back and plans
// with what it found, not with what the box says; the box's "behind NAT" only ever adds "do not
// dial me"; a known address is not probed again on every sync, a new one is.
func TestReachabilityLearned(t *testing.T) {
	p := &countingProber{DialProber: DialProber{Timeout: time.Second}}
	f := newFixtureWith(t, func(cfg *Config) { cfg.Prober = p })
	open := testenv.AcceptingPort(t)
	gone, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := gone.Addr().String()
	gone.Close()
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		addr     string
		claims   bool
		wantNAT  bool
		probes   int64 // probes this case's first sync makes
		resyncOK bool  // a second sync from the same address makes none
	}{
		{"listening, says nothing", open, false, false, 1, true},
		{"listening, says it is behind NAT", open, true, true, 1, true},
		{"nothing listening, says it is reachable", closed, false, true, 1, true},
		{"not seeding yet", "", false, false, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			box := registerBox(t, f, "acct")
			before := p.n.Load()
			for i := 0; i < 2; i++ {
				if _, err := box.Sync(ctx, protocol.SyncRequest{PeerAddr: c.addr, BehindNAT: c.claims, FreeBytes: 1 << 30}); err != nil {
					t.Fatal(err)
				}
				if i == 0 && p.n.Load()-before != c.probes {
					t.Fatalf("first sync probed %d times, want %d", p.n.Load()-before, c.probes)
				}
			}
			if got := p.n.Load() - before; got != c.probes {
				t.Errorf("two syncs from one address probed %d times, want %d", got, c.probes)
			}
			r, err := f.st.Report(ctx, box.Box)
			if err != nil {
				t.Fatal(err)
			}
			if r.NAT != c.wantNAT {
				t.Errorf("recorded behind NAT %v, want %v", r.NAT, c.wantNAT)
			}
		})
	}
	t.Run("a new port is probed at once", func(t *testing.T) {
		box := registerBox(t, f, "acct")
		if _, err := box.Sync(ctx, protocol.SyncRequest{PeerAddr: closed, FreeBytes: 1 << 30}); err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(open)
		if _, err := box.Sync(ctx, protocol.SyncRequest{PeerAddr: net.JoinHostPort("0.0.0.0", port), FreeBytes: 1 << 30}); err != nil {
			t.Fatal(err)
		}
		if r, err := f.st.Report(ctx, box.Box); err != nil || r.NAT {
			t.Errorf("after moving to listening port %s: behind NAT %v (%v), want reachable", port, r.NAT, err)
		}
	})
}
