package headend

import (
	"context"
	"testing"
	"time"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// TestBadSourceIsDemotedInTheSameAnswer: a receiver that reports pieces from its named source
// failing verification gets the server instead in the answer to that very report, while a
// report against a box the plan never named as its source changes nothing.
func TestBadSourceIsDemotedInTheSameAnswer(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := newFixtureWith(t, func(c *Config) { c.Now = clk.now })
	ctx := context.Background()
	it := f.item
	holder := f.client
	holder.Now = clk.now
	claim := protocol.SyncRequest{PeerAddr: "203.0.113.66:6881", FreeBytes: 1 << 30, UplinkBytesPerSecond: 100 << 20,
		Holdings: []protocol.Holding{{Item: it.ID, Pieces: it.Pieces, Complete: true}}}
	wisher := f.register(t)
	wisher.Now = clk.now
	var n int64
	wish := func(bad int64) protocol.SyncResponse {
		t.Helper()
		n++ // no two requests alike: replays are refused
		req := protocol.SyncRequest{PeerAddr: ":7000", FreeBytes: 1<<30 - n, Wishlist: []media.ItemID{it.ID},
			Holdings: []protocol.Holding{{Item: it.ID}}}
		if bad > 0 {
			req.Transfers = []protocol.TransferReport{{Item: it.ID, HashFailures: bad,
				BadSources: []protocol.BadSource{{Box: holder.Box, Pieces: bad}}}}
		}
		resp, err := wisher.Sync(ctx, req)
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
			if p.Box == holder.Box {
				return true
			}
		}
		return false
	}

	// Blamed before the plan ever named it for this receiver: the word counts for nothing.
	if resp := wish(1); names(resp) {
		t.Fatalf("fetch %+v names a box that is no source yet", resp.Fetches[0])
	}
	syncProven(t, holder, f.hs.cfg.Repo, claim)
	resp := wish(1)
	if !names(resp) || resp.Fetches[0].WebSeed != "" {
		t.Fatalf("fetch %+v: a report against a box that was not the receiver's source kept the proven holder out", resp.Fetches[0])
	}
	if resp := wish(1); !names(resp) {
		t.Fatalf("fetch %+v: the same old count of bad pieces demoted the source", resp.Fetches[0])
	}

	// New bad pieces from the named source: the server instead, in the same answer.
	resp = wish(3)
	if names(resp) || resp.Fetches[0].WebSeed == "" {
		t.Fatalf("fetch %+v after the source sent bad pieces, want the server in the same answer", resp.Fetches[0])
	}
	clk.add(2 * time.Minute)
	if err := f.hs.planPass(ctx); err != nil {
		t.Fatal(err)
	}
	if resp := wish(3); names(resp) {
		t.Fatalf("fetch %+v after a full round names the bad source", resp.Fetches[0])
	}
}
