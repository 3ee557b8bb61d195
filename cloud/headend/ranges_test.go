package headend

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"swarmbox/cloud/scheduler"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// TestFlashCrowdRangePlacements: when a region's open wishes for a title reach the flash-crowd
// threshold, the sync answers place piece ranges of it into idle boxes' cache (Fetch.Range), the
// server sends such a box only its range, and a box reporting its full range is named to the
// wishing boxes as a source of those pieces.
func TestFlashCrowdRangePlacements(t *testing.T) {
	f := newFixtureWith(t, func(c *Config) {
		c.Plan = scheduler.Config{RangeDemand: 2, RangeParts: 4}
		c.RoundInterval = time.Second
	})
	ctx := context.Background()
	wishers := []*cloudclient.Client{f.client, registerBox(t, f, "acct")}
	idle := []*cloudclient.Client{registerBox(t, f, "acct"), registerBox(t, f, "acct")}
	n := int(f.item.Pieces)
	cache := []protocol.Space{{Area: protocol.AreaCache, Quota: 1 << 30, Free: 1 << 30}}
	var seq int64
	sync := func(c *cloudclient.Client, i int, req protocol.SyncRequest) protocol.SyncResponse {
		t.Helper()
		seq++
		req.FreeBytes, req.PeerAddr = 1<<30+seq, fmt.Sprintf("127.0.0.1:%d", 6900+i) // no two requests alike: replays are refused
		return syncProven(t, c, f.hs.cfg.Repo, req)
	}
	var placed protocol.Fetch
	var holder *cloudclient.Client
	for deadline := time.Now().Add(20 * time.Second); holder == nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			for _, rp := range f.hs.planner.all() {
				rp.mu.Lock()
				if rp.state != nil {
					for id, bp := range rp.state.Plan().Boxes {
						t.Logf("plan of box %s: %+v", id, bp.Fetches)
					}
				}
				rp.mu.Unlock()
			}
			t.Fatal("no range placement after 20 s")
		}
		for i, c := range wishers { // under way: each has some pieces of the item
			sync(c, i, protocol.SyncRequest{Wishlist: []media.ItemID{f.item.ID}, UplinkBytesPerSecond: 20 << 20, Holdings: []protocol.Holding{{Item: f.item.ID, Pieces: 1}}})
		}
		for i, c := range idle {
			for _, fe := range sync(c, 2+i, protocol.SyncRequest{Areas: cache}).Fetches {
				if fe.Range != nil && holder == nil {
					placed, holder = fe, c
				}
			}
		}
	}
	r := *placed.Range
	if placed.Item != f.item.ID || placed.Area != protocol.AreaCache || !r.Valid(n) || r.Len() >= n {
		t.Fatalf("range placement %+v: want a proper range of the item's %d pieces into the cache", placed, n)
	}
	if placed.WebSeed != "" {
		if len(placed.WebSeedPieces) == 0 {
			t.Fatalf("the server may send any piece to a box placed only %v", r)
		}
		for _, w := range placed.WebSeedPieces {
			if w.Begin < r.Begin || w.End > r.End {
				t.Fatalf("server pieces %v outside the placed range %v", w, r)
			}
		}
	}
	// The holder reports its range complete; the wishers' plans name it for those pieces.
	full := protocol.SyncRequest{Areas: cache, Holdings: []protocol.Holding{{Item: f.item.ID, Pieces: r.Len(), Area: protocol.AreaCache, Range: &r}}}
	hi := 2 + map[bool]int{true: 0, false: 1}[holder == idle[0]]
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no wishing box was given the range holder as a source within 20 s")
		}
		sync(holder, hi, full)
		named := false
		for i, c := range wishers {
			for _, fe := range sync(c, i, protocol.SyncRequest{Wishlist: []media.ItemID{f.item.ID}}).Fetches {
				for _, p := range fe.Peers {
					if p.Addr != fmt.Sprintf("127.0.0.1:%d", 6900+hi) {
						continue
					}
					named = true
					for _, pr := range p.Pieces {
						if pr.Begin < r.Begin || pr.End > r.End {
							t.Fatalf("the range holder of %v is asked for pieces %v", r, pr)
						}
					}
				}
			}
		}
		if named {
			break
		}
	}
	st, err := f.st.BoxState(ctx, placedBox(t, f, hi))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Holdings) != 1 || st.Holdings[0].Range == nil || *st.Holdings[0].Range != r {
		t.Fatalf("stored holdings %+v, want the range %v", st.Holdings, r)
	}
}

// placedBox finds the box that reported port 6900+i.
func placedBox(t *testing.T, f *fixture, i int) media.BoxID {
	t.Helper()
	states, err := f.st.BoxStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		if s.PeerAddr == fmt.Sprintf("127.0.0.1:%d", 6900+i) {
			return s.ID
		}
	}
	t.Fatalf("no box at port %d", 6900+i)
	return media.BoxID{}
}

// TestBadHoldingRanges: a holding whose range is empty, inverted or negative is refused naming
// the field; one beyond the item's pieces is kept as a partial holding of the whole item.
func TestBadHoldingRanges(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i, r := range []protocol.PieceRange{{Begin: 3, End: 3}, {Begin: 5, End: 2}, {Begin: -1, End: 2}} {
		req := protocol.SyncRequest{FreeBytes: int64(i), Holdings: []protocol.Holding{{Item: f.item.ID, Pieces: 1, Area: protocol.AreaCache, Range: &r}}}
		_, err := f.client.Sync(ctx, req)
		var api *cloudclient.APIError
		if !errors.As(err, &api) || api.Status != http.StatusBadRequest || !strings.Contains(err.Error(), "holdings[0].range") {
			t.Errorf("range %v: err %v, want 400 naming holdings[0].range", r, err)
		}
	}
	beyond := protocol.PieceRange{Begin: 1, End: int(f.item.Pieces) + 5}
	if _, err := f.client.Sync(ctx, protocol.SyncRequest{FreeBytes: 99, Holdings: []protocol.Holding{{Item: f.item.ID, Pieces: 2, Area: protocol.AreaCache, Range: &beyond}}}); err != nil {
		t.Fatalf("a range beyond the item's pieces: %v", err)
	}
	states, err := f.st.BoxStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 1 || len(states[0].Holdings) != 1 || states[0].Holdings[0].Range != nil || states[0].Holdings[0].Pieces != 2 {
		t.Fatalf("stored %+v, want a partial holding of 2 pieces without a range", states)
	}
}
