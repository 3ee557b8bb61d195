package headend

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"swarmbox/cloud/repository"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// answer computes, as an honest box holding the containers does, the proofs for resp's
// challenges from the repository's copies.
func answer(t testing.TB, repo *repository.Repository, resp protocol.SyncResponse) []protocol.Proof {
	t.Helper()
	var out []protocol.Proof
	for _, c := range resp.Challenges {
		f, err := os.Open(repo.Path(c.Item))
		if err != nil {
			t.Fatal(err)
		}
		h, err := protocol.ProofHash(c.Nonce, f, c.Offset, c.Length)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, protocol.Proof{Item: c.Item, Nonce: c.Nonce, Hash: h})
	}
	return out
}

// syncProven syncs req as an honest holder: when challenged it answers from the repository's
// containers in a second sync, whose answer it returns.
func syncProven(t testing.TB, c *cloudclient.Client, repo *repository.Repository, req protocol.SyncRequest) protocol.SyncResponse {
	t.Helper()
	resp, err := c.Sync(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Challenges) == 0 {
		return resp
	}
	req.Proofs = answer(t, repo, resp)
	if resp, err = c.Sync(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if len(resp.Challenges) != 0 {
		t.Fatalf("challenged again after answering: %+v", resp.Challenges)
	}
	return resp
}

// clock is a settable time for the head-end.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestClaimedAddressNeverHandedOut: the host a box reports is replaced by the address its sync
// came from, in the sync answers and the tracker's alike.
func TestClaimedAddressNeverHandedOut(t *testing.T) {
	for _, tc := range []struct{ reported, remote, want string }{
		{"203.0.113.66:6881", "192.0.2.9:40000", "192.0.2.9:6881"},
		{"0.0.0.0:7000", "192.0.2.9:40000", "192.0.2.9:7000"},
		{":7000", "[2001:db8::1]:40000", "[2001:db8::1]:7000"},
		{"[::ffff:198.51.100.1]:7000", "[::ffff:192.0.2.9]:40000", "192.0.2.9:7000"},
		{"", "192.0.2.9:40000", ""},
	} {
		if got, err := peerAddr(tc.reported, tc.remote); err != nil || got != tc.want {
			t.Errorf("peerAddr(%q, %q) = %q, %v; want %q", tc.reported, tc.remote, got, err, tc.want)
		}
	}
	for _, bad := range []string{"nonsense", "1.2.3.4:0", "1.2.3.4:99999"} {
		if got, err := peerAddr(bad, "192.0.2.9:40000"); err == nil {
			t.Errorf("peerAddr(%q) = %q, want an error", bad, got)
		}
	}

	f := newFixture(t)
	it := f.item
	syncProven(t, f.client, f.hs.cfg.Repo, protocol.SyncRequest{PeerAddr: "203.0.113.66:6881", FreeBytes: 1 << 30,
		Holdings: []protocol.Holding{{Item: it.ID, Pieces: it.Pieces, Complete: true}}})
	wisher := f.register(t)
	resp, err := wisher.Sync(context.Background(), protocol.SyncRequest{PeerAddr: "198.51.100.1:7000", FreeBytes: 1 << 30, Wishlist: []media.ItemID{it.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Fetches) != 1 || len(resp.Fetches[0].Peers) != 1 || resp.Fetches[0].Peers[0].Addr != "127.0.0.1:6881" {
		t.Fatalf("fetches %+v, want the holder at the address its sync came from, 127.0.0.1:6881", resp.Fetches)
	}
	// The holder is reachable (it dials nobody): the tracker's answer to it names the receiver
	// only where the receiver is behind NAT, so ask the wisher's side.
	peers, err := f.hs.PeersFor(context.Background(), wisher.Box, it.InfoHash)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		if p.String() != "127.0.0.1:6881" {
			t.Errorf("tracker hands out %v; only addresses syncs came from may be", p)
		}
	}
}

// TestLyingHolderIsDemoted: a box claims a whole title at a made-up address. Unproven, it is
// never named: the wishing box gets the server. Once it proves possession it is named, but it
// sends nothing: when the wishing box reports no bytes from it and no pieces for the demotion
// delay, the same sync answer names the server instead, and later answers do not name the
// liar; a box that answers a challenge wrongly is never named either.
func TestLyingHolderIsDemoted(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := newFixtureWith(t, func(c *Config) { c.Now = clk.now })
	ctx := context.Background()
	it := f.item
	liar := f.client
	liar.Now = clk.now // the boxes sign with the head-end's clock
	claim := protocol.SyncRequest{PeerAddr: "203.0.113.66:6881", FreeBytes: 1 << 30, UplinkBytesPerSecond: 100 << 20,
		Holdings: []protocol.Holding{{Item: it.ID, Pieces: it.Pieces, Complete: true}}}
	resp, err := liar.Sync(ctx, claim)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Challenges) != 1 || resp.Challenges[0].Item != it.ID {
		t.Fatalf("challenges %+v, want one for the claimed item", resp.Challenges)
	}
	wisher := f.register(t)
	wisher.Now = clk.now
	var n int64
	wish := func(peers []protocol.PeerRate) protocol.SyncResponse {
		t.Helper()
		n++ // no two requests alike: replays are refused
		resp, err := wisher.Sync(ctx, protocol.SyncRequest{PeerAddr: ":7000", FreeBytes: 1<<30 - n, Wishlist: []media.ItemID{it.ID},
			Holdings: []protocol.Holding{{Item: it.ID}}, PeerRates: peers})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Fetches) != 1 {
			t.Fatalf("fetches %+v, want one", resp.Fetches)
		}
		return resp
	}
	names := func(resp protocol.SyncResponse) bool {
		for _, p := range resp.Fetches[0].Peers {
			if p.Box == liar.Box {
				return true
			}
		}
		return false
	}
	if resp := wish(nil); names(resp) || resp.Fetches[0].WebSeed == "" {
		t.Fatalf("fetch %+v, want the server and not the unproven claimant", resp.Fetches[0])
	}

	// A wrong answer: never named, for the demotion time.
	claim.Proofs = []protocol.Proof{{Item: it.ID, Nonce: resp.Challenges[0].Nonce, Hash: "00"}}
	claim.FreeBytes--
	if resp, err = liar.Sync(ctx, claim); err != nil {
		t.Fatal(err)
	}
	if len(resp.Challenges) != 0 {
		t.Fatalf("a box that failed its challenge is challenged again at once: %+v", resp.Challenges)
	}
	if resp := wish(nil); names(resp) {
		t.Fatalf("fetch %+v names the box that failed its challenge", resp.Fetches[0])
	}
	clk.add(f.hs.evidence.demoteFor + time.Second)

	// A right answer: named, then demoted by the wisher's report.
	claim.Proofs = nil
	claim.FreeBytes--
	syncProven(t, liar, f.hs.cfg.Repo, claim)
	resp = wish(nil)
	if !names(resp) || resp.Fetches[0].WebSeed != "" {
		t.Fatalf("fetch %+v, want the proven holder alone", resp.Fetches[0])
	}
	clk.add(f.hs.evidence.after / 2)
	if resp := wish(nil); !names(resp) {
		t.Fatalf("demoted before the delay: %+v", resp.Fetches[0])
	}
	clk.add(f.hs.evidence.after)
	resp = wish([]protocol.PeerRate{{Box: liar.Box}})
	if names(resp) || resp.Fetches[0].WebSeed == "" {
		t.Fatalf("fetch %+v after the holder sent nothing, want the server in the same answer", resp.Fetches[0])
	}
	// The next full round and the liar's own syncs keep it out.
	clk.add(2 * time.Minute)
	if err := f.hs.planPass(ctx); err != nil {
		t.Fatal(err)
	}
	claim.FreeBytes--
	if _, err := liar.Sync(ctx, claim); err != nil {
		t.Fatal(err)
	}
	if resp := wish(nil); names(resp) || resp.Fetches[0].WebSeed == "" {
		t.Fatalf("fetch %+v after a full round, want the server and not the demoted source", resp.Fetches[0])
	}
}
