package store

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"swarmbox/cloud/throughput"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// testReportsRoundTrip (in the suite, on both engines): a box's scheduling report is stored and read back with the account's
// region; free space comes from the areas; a peer whose measured bytes grew gets a fresh
// last-uploaded time; a box that never reported still has its region; deadlines come back.
func testReportsRoundTrip(t *testing.T, s *Store) {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC)
	if err := s.CreateAccount(ctx, "acct", "north", 0, now); err != nil {
		t.Fatal(err)
	}
	a, b := media.BoxID{1}, media.BoxID{2}
	for _, id := range []media.BoxID{a, b} {
		if _, err := s.RegisterBox(ctx, Box{ID: id, Account: "acct", SignKey: id[:], KEMKey: id[:], Registered: now}); err != nil {
			t.Fatal(err)
		}
	}
	item := media.ItemID{9}
	req := protocol.SyncRequest{
		FreeBytes: 999, Network: "isp-a", BehindNAT: true, UplinkBytesPerSecond: 100, DownlinkBytesPerSecond: 500,
		Areas:     []protocol.Space{{Area: protocol.AreaWishlist, Free: 70}, {Area: protocol.AreaCache, Free: 30}},
		Holdings:  []protocol.Holding{{Item: item, Pieces: 3, Area: protocol.AreaCache}},
		Neighbors: []protocol.Neighbor{{Box: b, Addr: "198.18.0.2:6881"}},
		PeerRates: []protocol.PeerRate{{Box: b, Bytes: 1000, BytesPerSecond: 50}},
		Wishlist:  []media.ItemID{item},
		Deadlines: []protocol.WishDeadline{{Item: item, By: now.Add(17 * time.Hour)}},
	}
	if _, err := s.RecordSync(ctx, SyncRecord{Box: a, Req: req, Now: now}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Report(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if r.Region != "north" || r.Network != "isp-a" || !r.NAT || r.Uplink != 100 || r.Downlink != 500 || r.FreeWish != 70 || r.FreeCache != 30 {
		t.Errorf("report %+v", r)
	}
	if len(r.Deadlines) != 1 || r.Deadlines[0].Item != item || !r.Deadlines[0].By.Equal(now.Add(17*time.Hour)) {
		t.Errorf("report's deadlines %+v, want the wish ready by %v (SCHED-18)", r.Deadlines, now.Add(17*time.Hour))
	}
	if !slices.Equal(r.CacheItems, []media.ItemID{item}) || !slices.Equal(r.Neighbors, []media.BoxID{b}) || len(r.Rates) != 1 || r.Rates[0].BytesPerSecond != 50 {
		t.Errorf("report lists %+v", r)
	}
	rb, err := s.Report(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Region != "north" || !rb.LastUploaded.Equal(now) || !rb.Updated.IsZero() {
		t.Errorf("peer's report %+v, want region north, last uploaded now, never reported", rb)
	}
	// The same figure again: the peer did not upload since.
	if _, err := s.RecordSync(ctx, SyncRecord{Box: a, Req: req, Now: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if rb, _ := s.Report(ctx, b); !rb.LastUploaded.Equal(now) {
		t.Errorf("last uploaded moved to %v without new bytes", rb.LastUploaded)
	}
	all, err := s.Reports(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("reports: %d, %v", len(all), err)
	}
	if _, err := s.Report(ctx, media.BoxID{7}); err == nil {
		t.Error("report of an unknown box")
	}
}

// testDecayedPeerRates (in the suite, on both engines): what each report adds to a box's
// running totals is a sample of the pair's decayed estimate, stored with it: a day later the
// first sample counts half (SCHED-5).
func testDecayedPeerRates(t *testing.T, s *Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)
	if err := s.CreateAccount(ctx, "acct", "north", 0, t0); err != nil {
		t.Fatal(err)
	}
	a, b := media.BoxID{1}, media.BoxID{2}
	for _, id := range []media.BoxID{a, b} {
		if _, err := s.RegisterBox(ctx, Box{ID: id, Account: "acct", SignKey: id[:], KEMKey: id[:], Registered: t0}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		at          time.Duration
		bytes, bps  int64   // the box's totals: since its engine started
		rate        int64   // the estimate after the report
		weight      float64 // seconds of transfer it stands for
		description string
	}{
		{0, 1_000_000, 10_000, 10_000, 100, "first report: 100 s at 10 kB/s"},
		{time.Minute, 1_000_000, 10_000, 10_000, 100 * 0.99951876, "nothing new: only the fading"},
		// totals 2 MB over 1000 s: 1 MB over 900 s is new; the first sample counts half
		{throughput.HalfLife, 2_000_000, 2_000, (500_000 + 1_000_000) / 950, 950, "a day later, slower"},
	}
	for _, st := range steps {
		now := t0.Add(st.at)
		req := protocol.SyncRequest{PeerRates: []protocol.PeerRate{{Box: b, Bytes: st.bytes, BytesPerSecond: st.bps}}}
		if _, err := s.RecordSync(ctx, SyncRecord{Box: a, Req: req, Now: now}); err != nil {
			t.Fatal(err)
		}
		r, err := s.Report(ctx, a)
		if err != nil || len(r.Rates) != 1 {
			t.Fatalf("%s: report %+v, %v", st.description, r, err)
		}
		m := r.Rates[0].Measured
		if got, w := m.Rate(now), m.Weight(now); got != st.rate || math.Abs(w-st.weight) > 1e-3 {
			t.Errorf("%s: estimate %d B/s over %g s, want %d over %g", st.description, got, w, st.rate, st.weight)
		}
	}
}
