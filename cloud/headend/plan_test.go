package headend

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// register makes another box under the fixture's account.
func (f *fixture) register(t *testing.T) *cloudclient.Client {
	t.Helper()
	_, sk, _ := ed25519.GenerateKey(rand.Reader)
	kem, _ := ecdh.X25519().GenerateKey(rand.Reader)
	c := cloudclient.New(f.srv.URL, sk)
	if _, err := c.Register(context.Background(), enrollToken(t, f.st, "acct"), kem.PublicKey().Bytes()); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPlanBecomesSyncFields: a holder behind NAT and a reachable box wishing the item. The
// wishing box is told to take every piece from the holder, that the holder dials (Dial false),
// and gets no web seed; the tracker tells the holder whom to dial; the stored report (caps,
// NAT, region from the account) reaches the planner.
func TestPlanBecomesSyncFields(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	it := f.item
	syncProven(t, f.client, f.hs.cfg.Repo, protocol.SyncRequest{
		PeerAddr: "127.0.0.2:6881", FreeBytes: 1 << 30, BehindNAT: true, UplinkBytesPerSecond: 1 << 20,
		Holdings: []protocol.Holding{{Item: it.ID, Pieces: it.Pieces, Complete: true}},
	})
	other := f.register(t)
	resp, err := other.Sync(ctx, protocol.SyncRequest{PeerAddr: "127.0.0.3:6882", FreeBytes: 1 << 30, Wishlist: []media.ItemID{it.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Fetches) != 1 {
		t.Fatalf("fetches %+v, want one", resp.Fetches)
	}
	fe := resp.Fetches[0]
	if fe.WebSeed != "" || len(fe.Peers) != 1 {
		t.Fatalf("fetch %+v, want exactly the holder and no web seed", fe)
	}
	p := fe.Peers[0]
	if p.Box != f.client.Box || p.Addr != "127.0.0.1:6881" || p.Dial {
		t.Errorf("peer %+v, want the holder at 127.0.0.1:6881 (where its sync came from), dialling us (Dial false)", p)
	}
	if len(p.Pieces) != 1 || p.Pieces[0] != (protocol.PieceRange{Begin: 0, End: it.Pieces}) {
		t.Errorf("peer pieces %v, want [0,%d)", p.Pieces, it.Pieces)
	}
	peers, err := f.hs.PeersFor(ctx, f.client.Box, it.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 || peers[0].String() != "127.0.0.1:6882" {
		t.Errorf("tracker answer for the NATed holder %v, want the receiver it must dial", peers)
	}
	rep, err := f.st.Report(ctx, f.client.Box)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Region != "eu" || !rep.NAT || rep.Uplink != 1<<20 {
		t.Errorf("stored report %+v, want region eu, NAT, uplink 1 MiB/s", rep)
	}
}

// TestBadReportRefused: a report with nonsense scheduling fields gets 400 naming the field, and
// nothing of it is stored.
func TestBadReportRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		field string
		req   protocol.SyncRequest
	}{
		{"uplink_bps", protocol.SyncRequest{UplinkBytesPerSecond: -1}},
		{"downlink_bps", protocol.SyncRequest{DownlinkBytesPerSecond: -1}},
		{"free_bytes", protocol.SyncRequest{FreeBytes: -1}},
		{"areas[0].area", protocol.SyncRequest{Areas: []protocol.Space{{Area: "attic"}}}},
		{"areas[0]", protocol.SyncRequest{Areas: []protocol.Space{{Area: protocol.AreaCache, Free: -3}}}},
		{"holdings[0].area", protocol.SyncRequest{Holdings: []protocol.Holding{{Item: f.item.ID, Area: "attic"}}}},
		{"peer_rates[0]", protocol.SyncRequest{PeerRates: []protocol.PeerRate{{Box: f.client.Box, BytesPerSecond: -1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			_, err := f.client.Sync(ctx, tc.req)
			var he *cloudclient.APIError
			if !errors.As(err, &he) || he.Status != 400 || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("error %v, want a 400 naming %s", err, tc.field)
			}
		})
	}
	if rep, err := f.st.Report(ctx, f.client.Box); err != nil || rep.Uplink != 0 || !rep.Updated.IsZero() {
		t.Errorf("report after refused syncs: %+v, %v; want nothing stored", rep, err)
	}
}

// TestCatalogChangePlannedInBackground: a title added while the head-end runs is planned by the
// background loop, not by the sync that first wishes it: that sync is answered at once from the
// plan it has (nothing for the new title yet) and told to come back soon; a later sync gets the
// title from the web seed.
func TestCatalogChangePlannedInBackground(t *testing.T) {
	f := newFixtureWith(t, func(c *Config) { c.PlanPoll = time.Hour }) // only a sync's wake-up plans early
	ctx := context.Background()
	it := f.item
	it.ID, it.InfoHash = media.ItemID{0x42}, "42"+it.InfoHash[2:]
	if err := f.st.AddItem(ctx, it, []byte("k")); err != nil {
		t.Fatal(err)
	}
	n := int64(0)
	wish := func() protocol.SyncResponse {
		t.Helper()
		n++
		resp, err := f.client.Sync(ctx, protocol.SyncRequest{PeerAddr: "127.0.0.2:6881", FreeBytes: 1<<30 - n, Wishlist: []media.ItemID{it.ID}})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := wish()
	if len(first.Fetches) != 0 || first.SyncAfterSeconds > 2 {
		t.Fatalf("first sync after the catalog change: %+v, want no fetch yet and a quick return", first)
	}
	waitUntil(t, "the new title to be planned", func() bool {
		r := wish()
		return len(r.Fetches) == 1 && r.Fetches[0].Item == it.ID && r.Fetches[0].WebSeed != ""
	})
}

// TestNewLANNeighboursRelabelAtOnce: a box that reports a neighbour it just found by mDNS gets
// the LAN it shares with it from a round planned at once, not one RoundInterval later; without
// that, it would be planned across the WAN while its neighbour has the item.
func TestNewLANNeighboursRelabelAtOnce(t *testing.T) {
	// Passes every 2 s (early ones 0.2 s apart), but a round is due only after an hour: only a
	// relabel makes one sooner.
	f := newFixtureWith(t, func(c *Config) { c.PlanPoll, c.RoundInterval = 2*time.Second, time.Hour })
	ctx := context.Background()
	a, b := f.client, registerBox(t, f, "acct")
	n := int64(0)
	sync := func(c *cloudclient.Client, addr string, nb ...protocol.Neighbor) {
		t.Helper()
		n++ // no two requests alike, or one in the same second is refused as a replay
		if _, err := c.Sync(ctx, protocol.SyncRequest{PeerAddr: addr, FreeBytes: 1<<30 - n, Neighbors: nb}); err != nil {
			t.Fatal(err)
		}
	}
	lans := func() (string, string, bool) {
		rp := f.hs.planner.region("eu", false)
		if rp == nil {
			return "", "", false
		}
		rp.mu.Lock()
		defer rp.mu.Unlock()
		_, known := rp.addrs[b.Box]
		return rp.lan[a.Box], rp.lan[b.Box], known
	}
	// Both boxes planned, neither with a LAN.
	waitUntil(t, "both boxes in a round", func() bool {
		sync(a, "127.0.0.2:6881")
		sync(b, "127.0.0.3:6881")
		_, _, known := lans()
		return known
	})
	if la, lb, _ := lans(); la != "" || lb != "" {
		t.Fatalf("LANs before any neighbour was reported: %q %q", la, lb)
	}
	waitUntil(t, "the boxes to share a LAN", func() bool {
		sync(a, "127.0.0.2:6881", protocol.Neighbor{Box: b.Box, Addr: "127.0.0.3:6881"})
		la, lb, _ := lans()
		return la != "" && la == lb
	})
}

// TestLANLabels: boxes that found each other share a label, neighbours of neighbours too,
// whichever box of a pair reported it and whichever id is smaller.
func TestLANLabels(t *testing.T) {
	lo, mid, hi, other := media.BoxID{1}, media.BoxID{2}, media.BoxID{3}, media.BoxID{9}
	rep := func(b media.BoxID, nb ...media.BoxID) store.Report { return store.Report{Box: b, Neighbors: nb} }
	for _, c := range []struct {
		name    string
		reports []store.Report
		same    [][]media.BoxID // each group shares one label
		none    []media.BoxID   // no label
	}{
		{"larger id reports", []store.Report{rep(hi, lo)}, [][]media.BoxID{{lo, hi}}, []media.BoxID{other}},
		{"smaller id reports", []store.Report{rep(lo, hi)}, [][]media.BoxID{{lo, hi}}, nil},
		{"chain", []store.Report{rep(hi, mid), rep(mid, lo)}, [][]media.BoxID{{lo, mid, hi}}, nil},
		{"two LANs", []store.Report{rep(hi, mid), rep(other, lo)}, [][]media.BoxID{{mid, hi}, {lo, other}}, nil},
		{"nobody reports", []store.Report{rep(lo), rep(hi)}, nil, []media.BoxID{lo, hi}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := lanLabels(c.reports)
			seen := map[string]bool{}
			for _, g := range c.same {
				l := got[g[0]]
				if l == "" || seen[l] {
					t.Fatalf("group %v: label %q (labels %v)", g, l, got)
				}
				seen[l] = true
				for _, b := range g {
					if got[b] != l {
						t.Fatalf("box %v labelled %q, want %q as its group %v (labels %v)", b, got[b], l, g, got)
					}
				}
			}
			for _, b := range c.none {
				if got[b] != "" {
					t.Fatalf("box %v labelled %q, want none", b, got[b])
				}
			}
		})
	}
}
