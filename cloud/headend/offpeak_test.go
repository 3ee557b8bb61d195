package headend

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"swarmbox/cloud/regions"
	"swarmbox/cloud/repository"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// TestOffPeakWindowFromRegionFile (SCHED-11, SCHED-16): the operator's region file gives region
// eu a night window. At 18:00 a box wishes a title another box holds, then one only the server
// has: the first comes from the peer at once, the server's transfer starts when the window
// opens. The file is rewritten: without a restart, the next plan waits for the new window. A
// bad file is refused and the last good window stays.
func TestOffPeakWindowFromRegionFile(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "regions")
	mtime := time.Now()
	write := func(text string) {
		t.Helper()
		mtime = mtime.Add(time.Second) // a new modification time however fast the rewrite
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("# region window zone\neu 01:00-06:00 Europe/Berlin\n")
	rf, err := regions.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now()}
	f := newFixtureWith(t, func(c *Config) { c.Now, c.Regions = clk.now, rf })
	ctx := context.Background()
	held := f.item
	src := filepath.Join(t.TempDir(), "series")
	if err := os.WriteFile(src, make([]byte, 300_000), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := f.hs.cfg.Repo
	onlyServer, key, err := repo.Ingest(ctx, src, repository.IngestOptions{Title: "Series", Kind: protocol.KindVideo, PriceCents: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.AddItem(ctx, onlyServer, f.vault.Wrap(onlyServer.ID, key)); err != nil {
		t.Fatal(err)
	}
	holder, wisher := f.client, f.register(t)
	holder.Now, wisher.Now = clk.now, clk.now

	// 18:00 in Berlin, after the boxes registered with the real time.
	now := clk.now().In(berlin)
	evening := time.Date(now.Year(), now.Month(), now.Day(), 18, 0, 0, 0, berlin)
	if !evening.After(now) {
		evening = evening.AddDate(0, 0, 1)
	}
	clk.add(evening.Sub(clk.now()))
	holds := protocol.SyncRequest{PeerAddr: "127.0.0.1:6881", FreeBytes: 1 << 30, UplinkBytesPerSecond: 1 << 20,
		Holdings: []protocol.Holding{{Item: held.ID, Pieces: held.Pieces, Complete: true}}}
	// roundAfter waits for a full round at or after at.
	roundAfter := func(what string, at time.Time) {
		t.Helper()
		waitUntil(t, "a round after "+what, func() bool {
			rp := f.hs.planner.region("eu", false)
			if rp == nil {
				return false
			}
			rp.mu.Lock()
			defer rp.mu.Unlock()
			return !rp.round.Before(at)
		})
	}
	syncProven(t, holder, repo, holds)
	// The wisher syncs once a round knows the holder; before, the server would be its only
	// source, and a box the server sends to keeps it.
	clk.add(time.Minute) // a round is due
	roundAfter("the holder's report", clk.now())

	var syncs int64
	// plan syncs the wisher until its server fetch starts at want (and, with fromHolder, the
	// held title comes from the holder at once: a round has seen the holder), and returns both
	// fetches.
	plan := func(what string, want time.Time, fromHolder bool) (peer, server protocol.Fetch) {
		t.Helper()
		var last protocol.SyncResponse
		for deadline := time.Now().Add(20 * time.Second); ; {
			syncs++
			// The clock stands still (a holder that sent nothing for a while would be demoted),
			// so each report differs a little, or it would be refused as a replay.
			resp, err := wisher.Sync(ctx, protocol.SyncRequest{PeerAddr: "127.0.0.1:7000", FreeBytes: 1<<30 - syncs, Wishlist: []media.ItemID{held.ID, onlyServer.ID}})
			if err != nil {
				t.Fatal(err)
			}
			last = resp
			for _, fe := range resp.Fetches {
				switch fe.Item {
				case held.ID:
					peer = fe
				case onlyServer.ID:
					server = fe
				}
			}
			byHolder := peer.Start.IsZero() && len(peer.Peers) == 1 && peer.Peers[0].Box == holder.Box
			if server.Start.Equal(want) && peer.Item == held.ID && (byHolder || !fromHolder) {
				return peer, server
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: fetches %+v, want the server's starting %v", what, last.Fetches, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	opening := time.Date(evening.Year(), evening.Month(), evening.Day()+1, 1, 0, 0, 0, berlin)
	_, server := plan("the first file", opening, true)
	if server.WebSeed != "" {
		t.Errorf("server fetch before its window has a web seed %q", server.WebSeed)
	}

	// The operator moves the window; the head-end plans with it without a restart.
	write("eu 22:30-05:00 +02:00\n")
	moved := time.Date(evening.Year(), evening.Month(), evening.Day(), 22, 30, 0, 0, time.FixedZone("", 2*3600))
	plan("the rewritten file", moved, true)

	// A bad file: refused with its line, the window in force stays, even through a new round.
	write("eu 23:00-0500 UTC\n")
	waitUntil(t, "the bad file noticed", func() bool { return rf.Err() != nil })
	clk.add(2 * time.Minute)
	syncProven(t, holder, repo, holds)
	roundAfter("the bad file", clk.now())
	plan("the bad file", moved, false) // the holder, silent for two minutes, may be demoted
}
