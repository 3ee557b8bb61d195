package headend

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

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
	if _, err := c.Register(context.Background(), "acct", kem.PublicKey().Bytes()); err != nil {
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
	if _, err := f.client.Sync(ctx, protocol.SyncRequest{
		PeerAddr: "127.0.0.2:6881", FreeBytes: 1 << 30, BehindNAT: true, UplinkBytesPerSecond: 1 << 20,
		Holdings: []protocol.Holding{{Item: it.ID, Pieces: it.Pieces, Complete: true}},
	}); err != nil {
		t.Fatal(err)
	}
	other := f.register(t)
	resp, err := other.Sync(ctx, protocol.SyncRequest{PeerAddr: "127.0.0.3:6881", FreeBytes: 1 << 30, Wishlist: []media.ItemID{it.ID}})
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
	if p.Box != f.client.Box || p.Addr != "127.0.0.2:6881" || p.Dial {
		t.Errorf("peer %+v, want the holder at 127.0.0.2:6881, dialling us (Dial false)", p)
	}
	if len(p.Pieces) != 1 || p.Pieces[0] != (protocol.PieceRange{Begin: 0, End: it.Pieces}) {
		t.Errorf("peer pieces %v, want [0,%d)", p.Pieces, it.Pieces)
	}
	peers, err := f.hs.PeersFor(ctx, f.client.Box, it.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 || peers[0].String() != "127.0.0.3:6881" {
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
