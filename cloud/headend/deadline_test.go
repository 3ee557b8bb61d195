package headend

import (
	"context"
	"strings"
	"testing"
	"time"

	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// TestDeadlineWish (SCHED-18): a box holds the film and sends at 16 kB/s. Another box wishes it
// ready in an hour: the peer makes it, the answer names the peer and no web seed. The same wish
// ready in ten seconds: the peer cannot make it, the answer adds the web seed, the peer kept. A
// deadline for a title not on the wishlist, or given twice, is refused with the field named.
func TestDeadlineWish(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := newFixtureWith(t, func(c *Config) { c.Now = clk.now })
	ctx := context.Background()
	film := f.item
	holder, wisher := f.client, f.register(t)
	holder.Now, wisher.Now = clk.now, clk.now
	holds := protocol.SyncRequest{PeerAddr: "127.0.0.1:6881", FreeBytes: 1 << 30, UplinkBytesPerSecond: 16_000,
		Holdings: []protocol.Holding{{Item: film.ID, Pieces: film.Pieces, Complete: true}}}
	syncProven(t, holder, f.hs.cfg.Repo, holds)
	clk.add(time.Minute) // a round is due, and sees the holder
	waitUntil(t, "a round after the holder's report", func() bool {
		rp := f.hs.planner.region("eu", false)
		if rp == nil {
			return false
		}
		rp.mu.Lock()
		defer rp.mu.Unlock()
		return !rp.round.Before(clk.now())
	})
	if eta := time.Duration(film.SealedSize/16_000) * time.Second; eta < 15*time.Second || eta > time.Hour {
		t.Fatalf("the film takes %v from the peer; the test wants between 15 s and an hour", eta)
	}

	var syncs int64
	ask := func(by time.Duration) protocol.Fetch {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; {
			syncs++ // each report differs a little, or it would be refused as a replay
			resp, err := wisher.Sync(ctx, protocol.SyncRequest{PeerAddr: "127.0.0.1:7000", FreeBytes: 1<<30 - syncs, Wishlist: []media.ItemID{film.ID},
				Deadlines: []protocol.WishDeadline{{Item: film.ID, By: clk.now().Add(by)}}})
			if err != nil {
				t.Fatal(err)
			}
			for _, fe := range resp.Fetches {
				if fe.Item == film.ID && len(fe.Peers) == 1 && fe.Peers[0].Box == holder.Box {
					return fe
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("ready in %v: fetches %+v, want one from the holder", by, resp.Fetches)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if fe := ask(time.Hour); fe.WebSeed != "" {
		t.Errorf("ready in an hour, which the peer makes: the answer grants the web seed %q", fe.WebSeed)
	}
	if fe := ask(10 * time.Second); fe.WebSeed == "" || !fe.Start.IsZero() {
		t.Errorf("ready in 10 s, which the peer cannot make: web seed %q from %v, want the server at once", fe.WebSeed, fe.Start)
	}

	other := media.ItemID{0xde, 0xad}
	for _, tc := range []struct {
		name string
		d    []protocol.WishDeadline
		want string
	}{
		{"not wished", []protocol.WishDeadline{{Item: other, By: clk.now().Add(time.Hour)}}, "deadlines[0].item"},
		{"twice", []protocol.WishDeadline{{Item: film.ID, By: clk.now()}, {Item: film.ID, By: clk.now()}}, "deadlines[1].item"},
		{"no time", []protocol.WishDeadline{{Item: film.ID}}, "deadlines[0].by"},
	} {
		syncs++
		_, err := wisher.Sync(ctx, protocol.SyncRequest{PeerAddr: "127.0.0.1:7000", FreeBytes: 1<<30 - syncs, Wishlist: []media.ItemID{film.ID}, Deadlines: tc.d})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want a refusal naming %s", tc.name, err, tc.want)
		}
	}
}
