package scheduler

import (
	"math/rand/v2"
	"testing"
	"time"

	"swarmbox/media"
)

// randomSnapshot makes a valid snapshot from a seed: small worlds where boxes compete for few
// sources, so caps, NAT and storage limits bind.
func randomSnapshot(seed uint64, nBoxes, nItems int) Snapshot {
	r := rand.New(rand.NewPCG(seed, 7))
	s := Snapshot{Now: t0, Items: map[media.ItemID]Item{}, Config: Config{Horizon: time.Duration(1+r.IntN(5000)) * time.Second, MinRate: 1, MaxSources: 1 + r.IntN(4), MaxFetches: 1 + r.IntN(3),
		RangeParts: 1 + r.IntN(8), RangeDemand: 1 + r.IntN(4), RangeFanout: 1 + r.IntN(3), RangePlacements: r.IntN(4) > 0, SharedServerCopy: r.IntN(2) > 0}}
	for i := 1; i <= nItems; i++ {
		p := r.IntN(50)
		size := int64(p) * int64(1+r.IntN(1000))
		if p == 0 {
			size = 0
		}
		s.Items[iid(i)] = Item{Size: size, Pieces: p}
	}
	for i := 1; i <= nBoxes; i++ {
		b := Box{
			ID: bid(i), Region: string(rune('a' + r.IntN(3))), Network: string(rune('m' + r.IntN(2))),
			NAT: r.IntN(3) == 0, Offline: r.IntN(8) == 0,
			Uplink: int64(r.IntN(3000)), Downlink: int64(r.IntN(5000)),
			FreeWish: int64(r.IntN(60_000)), FreeCache: int64(r.IntN(60_000)),
			LastServed: t0.Add(-time.Duration(r.IntN(100)) * time.Minute), Holdings: map[media.ItemID]Holding{},
		}
		if i%3 == 0 { // measured by its receivers (no draw: the seeds' worlds stay as they were)
			b.MeasuredUplink = b.Uplink / 2
		}
		if r.IntN(2) == 0 {
			b.LAN = string(rune('x' + r.IntN(3)))
		}
		for _, k := range r.Perm(nItems)[:r.IntN(nItems+1)] {
			it := iid(k + 1)
			switch r.IntN(4) {
			case 0:
				b.Holdings[it] = Holding{Pieces: s.Items[it].Pieces, Complete: true, Cache: r.IntN(2) == 0}
			case 1:
				n := s.Items[it].Pieces
				b.Holdings[it] = Holding{Pieces: r.IntN(n + 1), Cache: r.IntN(4) == 0}
				if n >= 2 && r.IntN(2) == 0 { // a range placement, whole or under way
					begin := r.IntN(n - 1)
					end := begin + 1 + r.IntN(n-begin)
					b.Holdings[it] = Holding{Pieces: max(end-begin-r.IntN(2), 0), Cache: true, Range: PieceRange{begin, end}}
				}
			default:
				b.Wishlist = append(b.Wishlist, it)
			}
		}
		if i%4 == 1 && len(b.Wishlist) > 0 { // a deadline wish (no draw, as above)
			b.Deadlines = map[media.ItemID]time.Time{b.Wishlist[len(b.Wishlist)-1]: t0.Add(time.Duration(i*7) * time.Minute)}
		}
		s.Boxes = append(s.Boxes, b)
	}
	for range r.IntN(nBoxes + 1) {
		s.Rates = append(s.Rates, Rate{From: bid(1 + r.IntN(nBoxes)), To: bid(1 + r.IntN(nBoxes)), BytesPerSecond: int64(r.IntN(4000))})
	}
	if r.IntN(2) == 0 {
		s.Slots = []Slot{{Start: t0.Add(-time.Hour), End: t0.Add(time.Hour), Budget: int64(r.IntN(100_000)), Peak: r.IntN(2) == 0},
			{Start: t0.Add(time.Hour), End: t0.Add(5 * time.Hour), Budget: int64(r.IntN(100_000))}}
	}
	if r.IntN(2) == 0 {
		s.Forecast = map[string]map[media.ItemID]float64{"a": {iid(1 + r.IntN(nItems)): float64(r.IntN(40))}}
	}
	if r.IntN(2) == 0 && nBoxes > 0 {
		s.Serving = map[media.ItemID][]media.BoxID{iid(1 + r.IntN(nItems)): {bid(1 + r.IntN(nBoxes))}}
	}
	return s
}

// FuzzPlan checks the plan's invariants on random valid snapshots: no storage or upload-cap
// violation, every source holds what it serves (or relays it), no NAT–NAT pair, and updating
// one box keeps them too.
func FuzzPlan(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 42} {
		f.Add(seed, uint8(20), uint8(5))
	}
	f.Fuzz(func(t *testing.T, seed uint64, nb, ni uint8) {
		s := randomSnapshot(seed, int(nb%60), 1+int(ni%12))
		st, err := NewState(s)
		if err != nil {
			t.Fatalf("generated snapshot is invalid: %v", err)
		}
		st.Round()
		if v := Check(s, st.Plan()); v.Total() > 0 {
			t.Fatalf("round: %d violations, first: %v", v.Total(), v.First)
		}
		if len(s.Boxes) == 0 {
			return
		}
		// Re-sync one box with an emptier disk: the plan must stay within bounds.
		b := s.Boxes[int(seed%uint64(len(s.Boxes)))]
		b.FreeWish /= 2
		if _, err := st.Update(b, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		for i := range s.Boxes {
			if s.Boxes[i].ID == b.ID {
				s.Boxes[i] = b
			}
		}
		if v := Check(s, st.Plan()); v.Total() > 0 {
			t.Fatalf("after update: %d violations, first: %v", v.Total(), v.First)
		}
	})
}
