package scheduler

import (
	"slices"
	"testing"
	"time"

	"swarmbox/media"
)

// TestUpdateMovesBox: a sync that reports another region, network or LAN takes effect at once:
// the box's own plan uses its new neighbours, its holdings count for its new region, and its
// old LAN no longer lists it.
func TestUpdateMovesBox(t *testing.T) {
	mover := hold(bx(1, "q", "n", "home"), 2)
	mover.Wishlist = []media.ItemID{iid(1)}
	boxes := []Box{
		mover,
		hold(bx(2, "r", "m", "new"), 1), // the LAN the mover joins
		hold(bx(3, "q", "n", ""), 1),    // its old region
		wish(bx(4, "q", "n", "home"), 2),
	}
	s := snap(boxes...)
	st, err := NewState(s)
	if err != nil {
		t.Fatal(err)
	}
	st.Round()
	if got := sources(fetchOf(t, st.Plan(), 1, 1)); !slices.Equal(got, []media.BoxID{bid(3)}) {
		t.Fatalf("before the move box 1 fetches from %v, want box 3 of its region", got)
	}
	mover.Region, mover.Network, mover.LAN = "r", "m", "new"
	bp, err := st.Update(mover, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(bp.Fetches) != 1 || !slices.Equal(sources(bp.Fetches[0]), []media.BoxID{bid(2)}) {
		t.Errorf("after the move box 1's plan %+v, want item 1 from box 2 on its new LAN", bp)
	}
	// Box 4, left behind on the old LAN and in region q, no longer finds the mover there: item
	// 2 now comes from another region (the mover, at other-region cost) or the server.
	bp4, err := st.Update(boxes[3], t0.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(bp4.Fetches) != 1 {
		t.Fatalf("box 4's plan %+v, want one fetch", bp4)
	}
	ix := &st.idx
	if got := tier(&ix.boxes[ix.boxOf[bid(1)]], &ix.boxes[ix.boxOf[bid(4)]]); got != tierOther {
		t.Errorf("box 1 is tier %d to box 4, want other region (%d)", got, tierOther)
	}
	if !ix.regionHasComplete(ix.boxOf[bid(2)], ix.itemOf[iid(2)]) {
		t.Error("region r does not count the mover's copy of item 2")
	}
	if ix.regionHasComplete(ix.boxOf[bid(4)], ix.itemOf[iid(2)]) {
		t.Error("region q still counts the mover's copy of item 2")
	}
}

// TestBusyHoldersPastHorizonServer (SCHED-2, SCHED-4): the region's only holder is booked by another
// box for 1,000 s and would then need 1,000 s more: with a 5,000 s horizon the box waits for it
// (no server); with a 1,500 s horizon the region cannot supply it in time, so the server sends.
func TestBusyHoldersPastHorizonServer(t *testing.T) {
	for _, tc := range []struct {
		horizon    time.Duration
		wantServer bool
	}{{5000 * time.Second, false}, {1500 * time.Second, true}} {
		late := wish(bx(1, "r", "n", ""), 1)
		late.LastServed = t0 // served recently: planned after box 3
		late.NAT = true      // and box 3 is behind NAT too, so it cannot relay to box 1
		other := wish(bx(3, "r", "n", ""), 1)
		other.NAT = true
		s := snap(late, hold(bx(2, "r", "n", ""), 1), other)
		s.Config.Horizon = tc.horizon
		p := mustPlan(t, s)
		if got := sources(fetchOf(t, p, 3, 1)); !slices.Equal(got, []media.BoxID{bid(2)}) {
			t.Fatalf("horizon %v: box 3 fetches from %v, want the holder", tc.horizon, got)
		}
		f, ok := p.For(bid(1), iid(1))
		if server := ok && f.Server; server != tc.wantServer {
			t.Errorf("horizon %v: box 1's fetch %+v (planned %v), want server %v", tc.horizon, f, ok, tc.wantServer)
		}
	}
}
