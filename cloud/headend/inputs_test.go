package headend

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"swarmbox/cloud/scheduler"
	"swarmbox/cloud/store"
	"swarmbox/cloud/throughput"
	"swarmbox/media"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// TestLastServedIgnoresRangePlacements: a box's LastServed (the least-recently-served order,
// SCHED-8) moves only when one of the household's own wishes received new bytes: not for a
// range placement or a cache fill it fetches for others, and not for a stalled download whose
// totals did not grow.
func TestLastServedIgnoresRangePlacements(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := newFixtureWith(t, func(c *Config) { c.Now = clk.now; c.PlanPoll = time.Hour })
	ctx := context.Background()
	it := f.item
	cache := []protocol.Space{{Area: protocol.AreaCache, Quota: 1 << 30, Free: 1 << 30}}
	rng := &media.PieceRange{Begin: 0, End: max(1, it.Pieces/2)}
	own := func(bytes int64) protocol.SyncRequest {
		return protocol.SyncRequest{Wishlist: []media.ItemID{it.ID}, Holdings: []protocol.Holding{{Item: it.ID, Pieces: 1}},
			Transfers: []protocol.TransferReport{{Item: it.ID, BytesFromPeers: bytes}}}
	}
	placement := func(bytes int64) protocol.SyncRequest {
		return protocol.SyncRequest{Areas: cache, Holdings: []protocol.Holding{{Item: it.ID, Pieces: 1, Area: protocol.AreaCache, Range: rng}},
			Transfers: []protocol.TransferReport{{Item: it.ID, BytesFromServer: bytes}}}
	}
	fill := func(bytes int64) protocol.SyncRequest {
		return protocol.SyncRequest{Areas: cache, Holdings: []protocol.Holding{{Item: it.ID, Pieces: 1, Area: protocol.AreaCache}},
			Transfers: []protocol.TransferReport{{Item: it.ID, BytesFromPeers: bytes}}}
	}
	// step is one sync a minute after the last; served says whether it must move LastServed.
	type step struct {
		req    protocol.SyncRequest
		served bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"own wish receiving: served each time bytes arrive", []step{{own(1000), true}, {own(5000), true}}},
		{"own wish stalled: no new bytes, not served again", []step{{own(1000), true}, {own(1000), false}, {own(1000), false}, {own(2000), true}}},
		{"range placement lent to a flash crowd: never served", []step{{placement(1000), false}, {placement(9000), false}}},
		{"cache fill for others: never served", []step{{fill(1000), false}, {fill(9000), false}}},
		{"a wished item held in the cache area is a placement, not a wish", []step{{func() protocol.SyncRequest {
			r := fill(1000)
			r.Wishlist = []media.ItemID{it.ID}
			return r
		}(), false}}},
		{"no transfers: not served", []step{{protocol.SyncRequest{Wishlist: []media.ItemID{it.ID}}, false}}},
	}
	boxes := make([]*cloudclient.Client, len(tests))
	for i := range boxes { // before the clock moves: registering signs with the real clock
		boxes[i] = registerBox(t, f, "acct")
		boxes[i].Now = clk.now
	}
	var n int64
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			box := boxes[i]
			var want time.Time // LastServed so far
			for j, s := range tc.steps {
				clk.add(time.Minute)
				n++
				s.req.FreeBytes, s.req.PeerAddr = 1<<30-n, fmt.Sprintf(":%d", 7000+i) // no two requests alike
				syncProven(t, box, f.hs.cfg.Repo, s.req)
				if s.served {
					want = clk.now().Truncate(time.Millisecond)
				}
				rep, err := f.st.Report(ctx, box.Box)
				if err != nil {
					t.Fatal(err)
				}
				if !rep.LastServed.Equal(want) {
					t.Fatalf("after step %d: LastServed %v, want %v", j, rep.LastServed, want)
				}
			}
		})
	}
}

// TestMeasuredRateMovesPlan: two boxes behind one address hold the title; the receivers'
// measurements, not the caps, choose between them (SCHED-5). A receiver that measured one slow
// gets the other; so does a receiver that never measured either (the slow box's estimate over
// its receivers); and when the slow box is measured fast again days later, the decayed estimate
// moves the plan back, where a lifetime average (still slow) would not.
func TestMeasuredRateMovesPlan(t *testing.T) {
	clk := &clock{t: time.Now()}
	f := newFixtureWith(t, func(c *Config) { c.Now = clk.now; c.PlanPoll = time.Hour })
	ctx := context.Background()
	it := f.item
	a, b, meas, fresh := f.client, registerBox(t, f, "acct"), registerBox(t, f, "acct"), registerBox(t, f, "acct")
	// The receivers report no bytes from the sources the plan names them: that must not demote
	// a source here (the evidence ledger's business, TestLyingHolderIsDemoted).
	f.hs.evidence.mu.Lock()
	f.hs.evidence.after = 365 * 24 * time.Hour
	f.hs.evidence.mu.Unlock()
	var n int64
	sync := func(c *cloudclient.Client, port int, req protocol.SyncRequest) protocol.SyncResponse {
		t.Helper()
		c.Now = clk.now
		n++
		req.FreeBytes, req.PeerAddr = 1<<30-n, fmt.Sprintf(":%d", port) // no two requests alike
		return syncProven(t, c, f.hs.cfg.Repo, req)
	}
	// Same caps everywhere: one source fills a receiver's downlink (100 kB/s), so the plan names
	// one, and each source has upload for every receiver.
	holders := func() {
		for i, c := range []*cloudclient.Client{a, b} { // both at 127.0.0.1: one address
			sync(c, 6881+i, protocol.SyncRequest{UplinkBytesPerSecond: 4 << 20,
				Holdings: []protocol.Holding{{Item: it.ID, Pieces: it.Pieces, Complete: true}}})
		}
	}
	source := func(c *cloudclient.Client, port int, rates []protocol.PeerRate) media.BoxID {
		t.Helper()
		resp := sync(c, port, protocol.SyncRequest{DownlinkBytesPerSecond: 100_000, Wishlist: []media.ItemID{it.ID},
			Holdings: []protocol.Holding{{Item: it.ID}}, PeerRates: rates})
		if len(resp.Fetches) != 1 || len(resp.Fetches[0].Peers) != 1 {
			t.Fatalf("fetches %+v, want one from one peer", resp.Fetches)
		}
		return resp.Fetches[0].Peers[0].Box
	}
	round := func(d time.Duration) {
		t.Helper()
		clk.add(d)
		holders() // still online
		if err := f.hs.planPass(ctx); err != nil {
			t.Fatal(err)
		}
	}

	holders()
	round(2 * time.Minute)
	// With nothing measured the caps tie and the plan picks by id: that one is made slow.
	slow := source(fresh, 7002, nil)
	fast := a.Box
	if slow == a.Box {
		fast = b.Box
	}
	if got := source(meas, 7001, nil); got != slow {
		t.Fatalf("with nothing measured the receivers got %s and %s, want the same source", slow, got)
	}

	// meas measures slow at 20 kB/s over 100 s, fast at 200 kB/s over 10 s; both uploaded now.
	source(meas, 7001, []protocol.PeerRate{{Box: slow, Bytes: 2_000_000, BytesPerSecond: 20_000}, {Box: fast, Bytes: 2_000_000, BytesPerSecond: 200_000}})
	round(2 * time.Minute)
	if got := source(meas, 7001, nil); got != fast {
		t.Errorf("the receiver that measured %s slow still gets it (want %s)", slow, fast)
	}
	if got := source(fresh, 7002, nil); got != fast {
		t.Errorf("a receiver that measured neither gets %s, which others measured slow (want %s)", got, fast)
	}

	// Six days on, slow sends 1 MB in 2 s: its totals (3 MB over 102 s) still average 29 kB/s,
	// but the week-old sample now counts 1/64 and the estimate is ~290 kB/s, above fast's 200.
	clk.add(6 * throughput.HalfLife)
	source(meas, 7001, []protocol.PeerRate{{Box: slow, Bytes: 3_000_000, BytesPerSecond: 3_000_000 / 102}, {Box: fast, Bytes: 2_000_000, BytesPerSecond: 200_000}})
	round(2 * time.Minute)
	if got := source(meas, 7001, nil); got != slow {
		t.Errorf("after the slow box was measured fast again the plan names %s, want %s", got, slow)
	}
}

// TestMeasuredRatesKeptPerPairAndBox: the planner's rates come from each pair's decayed
// estimate, each source's estimate merges its pairs, boxes behind one address are kept apart,
// and what is past throughput.ForgetAfter is left to the caps (SCHED-5).
func TestMeasuredRatesKeptPerPairAndBox(t *testing.T) {
	now := time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)
	est := func(bytes int64, seconds float64, age time.Duration) throughput.Estimate {
		return throughput.Estimate{}.Add(bytes, seconds, now.Add(-age))
	}
	x, y, r1, r2, away := media.BoxID{1}, media.BoxID{2}, media.BoxID{3}, media.BoxID{4}, media.BoxID{5}
	// x and y share one address; away is planned in another region.
	planned := map[media.BoxID]string{x: "198.18.0.7:6881", y: "198.18.0.7:6882", r1: "198.18.0.8:6881", r2: "198.18.0.9:6881"}
	tests := []struct {
		name    string
		reports []store.Report
		pairs   []scheduler.Rate
		uplinks map[media.BoxID]int64
	}{
		{"one address, two boxes: measured apart", []store.Report{
			{Box: r1, Rates: []store.PeerRate{{Box: x, Measured: est(1_000_000, 100, 0)}, {Box: y, Measured: est(1_000_000, 10, 0)}}},
		}, []scheduler.Rate{{From: x, To: r1, BytesPerSecond: 10_000}, {From: y, To: r1, BytesPerSecond: 100_000}},
			map[media.BoxID]int64{x: 10_000, y: 100_000}},
		{"per pair apart from per box: the box merges its receivers by weight", []store.Report{
			{Box: r1, Rates: []store.PeerRate{{Box: x, Measured: est(1_000_000, 100, 0)}}},
			{Box: r2, Rates: []store.PeerRate{{Box: x, Measured: est(3_000_000, 100, 0)}}},
		}, []scheduler.Rate{{From: x, To: r1, BytesPerSecond: 10_000}, {From: x, To: r2, BytesPerSecond: 30_000}},
			map[media.BoxID]int64{x: 20_000}},
		{"an older pair counts less in the box's figure", []store.Report{
			{Box: r1, Rates: []store.PeerRate{{Box: x, Measured: est(1_000_000, 100, throughput.HalfLife)}}},
			{Box: r2, Rates: []store.PeerRate{{Box: x, Measured: est(3_000_000, 100, 0)}}},
		}, []scheduler.Rate{{From: x, To: r1, BytesPerSecond: 10_000}, {From: x, To: r2, BytesPerSecond: 30_000}},
			map[media.BoxID]int64{x: (500_000 + 3_000_000) / 150}},
		{"forgotten: neither pair nor box", []store.Report{
			{Box: r1, Rates: []store.PeerRate{{Box: x, Bytes: 1_000_000, BytesPerSecond: 10_000, Measured: est(1_000_000, 100, throughput.ForgetAfter+time.Hour)}}},
		}, nil, map[media.BoxID]int64{}},
		{"a receiver elsewhere: no pair here, but the box's figure counts it", []store.Report{
			{Box: away, Rates: []store.PeerRate{{Box: x, Measured: est(1_000_000, 100, 0)}}},
		}, nil, map[media.BoxID]int64{x: 10_000}},
		{"lifetime totals without an estimate are not a measurement", []store.Report{
			{Box: r1, Rates: []store.PeerRate{{Box: x, Bytes: 1_000_000, BytesPerSecond: 10_000}}},
		}, nil, map[media.BoxID]int64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pairs := pairRates(tc.reports, planned, now)
			if !slices.Equal(pairs, tc.pairs) {
				t.Errorf("pairs %+v, want %+v", pairs, tc.pairs)
			}
			up := measuredUplinks(tc.reports, now)
			if len(up) != len(tc.uplinks) {
				t.Errorf("per box %v, want %v", up, tc.uplinks)
			}
			for b, v := range tc.uplinks {
				if up[b] != v {
					t.Errorf("per box %v, want %v", up, tc.uplinks)
				}
			}
		})
	}
}
