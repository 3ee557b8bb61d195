package scheduler

import (
	"errors"
	"slices"
	"testing"
	"time"

	"swarmbox/media"
)

// crowdSnapshot is one region where wishers boxes 1..wishers want item 1 and idle boxes after
// them have cache space; holders (if any) hold item 1 complete. Items have 100 pieces; ranges
// are a tenth of the item.
func crowdSnapshot(wishers, idle int, holders ...int) Snapshot {
	var boxes []Box
	for i := 1; i <= wishers; i++ {
		boxes = append(boxes, wish(bx(i, "r", "n", ""), 1))
	}
	for i := wishers + 1; i <= wishers+idle; i++ {
		b := bx(i, "r", "n", "")
		b.FreeCache = 1 << 30
		if slices.Contains(holders, i) {
			b = hold(b, 1)
		}
		boxes = append(boxes, b)
	}
	s := snap(boxes...)
	s.Config.RangeParts, s.Config.RangeDemand, s.Config.RangePlacements = 10, 4, true
	return s
}

func rangeFetches(p Plan, item int) map[media.BoxID]Fetch {
	out := map[media.BoxID]Fetch{}
	for id, bp := range p.Boxes {
		for _, f := range bp.Fetches {
			if f.Item == iid(item) && f.Range != (PieceRange{}) {
				out[id] = f
			}
		}
	}
	return out
}

// TestServerSeedsACrowdByRanges (SCHED-2, CACHE-1, CACHE-2, SCHED-10): nobody in the region holds an item
// that many boxes wish: the server's one copy goes out as ranges, each to another idle box, so
// the region holds the whole item after a tenth of the time one box would take; the wishers
// get no server copy of their own. Without ranges the server feeds one wisher at its downlink.
func TestServerSeedsACrowdByRanges(t *testing.T) {
	s := crowdSnapshot(8, 20)
	p := mustPlan(t, s)
	seeds := rangeFetches(p, 1)
	if len(seeds) != 10 {
		t.Fatalf("%d range placements, want 10 (one per range): %v", len(seeds), seeds)
	}
	var covered []PieceRange
	for id, f := range seeds {
		if !f.Server || !f.Cache || len(f.Sources) != 0 || f.Bytes != 100_000 {
			t.Errorf("box %s: range fetch %+v, want 100,000 bytes into cache from the server alone", id, f)
		}
		covered = append(covered, f.Range)
	}
	slices.SortFunc(covered, func(a, b PieceRange) int { return a.Begin - b.Begin })
	for j, r := range covered {
		if r != (PieceRange{j * 10, j*10 + 10}) {
			t.Fatalf("ranges %v, want [0,10) … [90,100) once each", covered)
		}
	}
	if p.ServerBytes != 1_000_000 {
		t.Errorf("server bytes %d, want one copy (1,000,000)", p.ServerBytes)
	}
	for i := 1; i <= 8; i++ {
		if f, ok := p.For(bid(i), iid(1)); ok && f.Server {
			t.Errorf("wisher %d gets its own server copy", i)
		}
	}
	for name, cfg := range map[string]func(*Config){
		"below RangeDemand":      func(c *Config) { c.RangeDemand = 1000 },
		"RangePlacements is off": func(c *Config) { c.RangePlacements = false },
	} {
		s := crowdSnapshot(8, 20)
		cfg(&s.Config)
		p := mustPlan(t, s) // the server sends to one wisher, no ranges
		if n := len(rangeFetches(p, 1)); n != 0 {
			t.Errorf("%s: %d range placements, want none", name, n)
		}
		if p.ServerBytes != 1_000_000 {
			t.Errorf("%s: server bytes %d, want one copy", name, p.ServerBytes)
		}
	}
}

// TestRangePlacementsMultiplyCopies: a crowd and one complete holder: idle boxes get ranges
// from the holder (one source each, at most half its uplink, never the server), as many as
// RangeFanout per wish allows.
func TestRangePlacementsMultiplyCopies(t *testing.T) {
	s := crowdSnapshot(8, 40, 9)
	for i := range s.Boxes {
		s.Boxes[i].Uplink, s.Boxes[i].Downlink = 100_000, 100_000
	}
	p := mustPlan(t, s)
	placed := rangeFetches(p, 1)
	if len(placed) == 0 {
		t.Fatal("no range placements for a crowd of 8 with one copy")
	}
	if len(placed) > 2*8 {
		t.Errorf("%d range placements, want at most RangeFanout × wishes = 16", len(placed))
	}
	var fromHolder int64
	for id, f := range placed {
		if f.Server || !f.Cache || len(f.Sources) != 1 {
			t.Errorf("box %s: %+v, want a cache fetch from one peer", id, f)
		}
		for _, src := range f.Sources {
			if src.Box == bid(9) {
				fromHolder += src.Rate
			}
		}
	}
	if fromHolder > 50_000 {
		t.Errorf("placements take %d B/s of the holder's 100,000: more than half", fromHolder)
	}
}

// TestRangeHolderServesItsRange (SCHED-10): a box holding a whole range serves that range, and
// only it; a box still fetching its range serves nothing.
func TestRangeHolderServesItsRange(t *testing.T) {
	full := bx(2, "r", "n", "")
	full.Holdings = map[media.ItemID]Holding{iid(1): {Pieces: 50, Cache: true, Range: PieceRange{0, 50}}}
	part := bx(3, "r", "n", "")
	part.Holdings = map[media.ItemID]Holding{iid(1): {Pieces: 20, Cache: true, Range: PieceRange{50, 100}}}
	s := snap(wish(bx(1, "r", "n", ""), 1), full, part, hold(bx(4, "q", "n", ""), 1))
	s.Config.RangeParts = 2
	p := mustPlan(t, s)
	f := fetchOf(t, p, 1, 1)
	var rangeSrc *Source
	for i, src := range f.Sources {
		if src.Box == bid(3) {
			t.Errorf("box 3 holds only part of its range but serves: %+v", src)
		}
		if src.Box == bid(2) {
			rangeSrc = &f.Sources[i]
		}
	}
	if rangeSrc == nil || !slices.Equal(rangeSrc.Ranges, []PieceRange{{0, 50}}) || rangeSrc.Relay {
		t.Fatalf("fetch %+v, want box 2 serving pieces [0,50)", f)
	}
	// Check refuses a range holder asked for pieces outside its range.
	rangeSrc.Ranges = []PieceRange{{0, 60}}
	p.Boxes[bid(1)] = BoxPlan{Fetches: []Fetch{f}}
	if v := Check(s, p); v.Source == 0 || !errors.Is(v.First, ErrViolation) {
		t.Errorf("Check of a range holder serving [0,60): %+v, want a source violation", v)
	}
}

// TestRangeHoldersBeyondTheLAN: a box whose LAN neighbour brings the item into the LAN takes no
// other complete holder or relay of its region, but still the region's range holders: each
// serves a range placed for every receiver of a crowd (without them a flash crowd's LANs wait on
// one box each: p95 3.5 × the downlink bound in the simulator against 2.3 with them).
func TestRangeHoldersBeyondTheLAN(t *testing.T) {
	recv := wish(bx(1, "r", "n", "x"), 1)
	recv.LastServed = t0 // its neighbour is planned first and becomes a fed relay
	recv.Downlink = 4000
	neighbour := wish(bx(2, "r", "n", "x"), 1)
	holder := bx(3, "r", "n", "")
	holder.Holdings = map[media.ItemID]Holding{iid(1): {Pieces: 50, Cache: true, Range: PieceRange{0, 50}}}
	s := snap(recv, neighbour, holder, hold(bx(4, "q", "n", ""), 1))
	s.Config.RangeParts = 2
	p := mustPlan(t, s)
	f := fetchOf(t, p, 1, 1)
	if !slices.Contains(sources(f), bid(2)) {
		t.Fatalf("box 1 fetches %+v, want its LAN neighbour among the sources", f)
	}
	var fromHolder *Source
	for i := range f.Sources {
		if f.Sources[i].Box == bid(3) {
			fromHolder = &f.Sources[i]
		}
	}
	if fromHolder == nil || !slices.Equal(fromHolder.Ranges, []PieceRange{{0, 50}}) {
		t.Errorf("box 1 fetches %+v, want the range holder box 3 for pieces [0,50) too", f)
	}
	if slices.Contains(sources(f), bid(4)) {
		t.Errorf("box 1 fetches %+v: a complete holder outside the LAN, though the LAN brings the item in", f)
	}
}

// TestSyncKeepsPlacements (CACHE-1, CACHE-2): a box learns of a cache placement only from the answer to
// its sync, which re-plans it (Update); the round's placements into it, whole or range, survive
// that, and are let go once the box wishes the item instead.
func TestSyncKeepsPlacements(t *testing.T) {
	t.Run("range", func(t *testing.T) {
		s := crowdSnapshot(8, 20)
		st, err := NewState(s)
		if err != nil {
			t.Fatal(err)
		}
		st.Round()
		placed := rangeFetches(st.Plan(), 1)
		if len(placed) == 0 {
			t.Fatal("the round placed no range")
		}
		for _, b := range s.Boxes {
			f, ok := placed[b.ID]
			if !ok {
				continue
			}
			bp, err := st.Update(b, t0.Add(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if len(bp.Fetches) != 1 || bp.Fetches[0].Range != f.Range || !bp.Fetches[0].Cache {
				t.Fatalf("box %s after its sync: %+v, want its range placement %v kept", b.ID, bp.Fetches, f.Range)
			}
			b.Wishlist = []media.ItemID{iid(1)}
			if bp, err = st.Update(b, t0.Add(2*time.Second)); err != nil {
				t.Fatal(err)
			}
			if len(bp.Fetches) != 1 || bp.Fetches[0].Range != (PieceRange{}) || bp.Fetches[0].Cache {
				t.Fatalf("box %s now wishes the item: %+v, want one whole wished fetch", b.ID, bp.Fetches)
			}
			if v := Check(s, st.Plan()); v.Total() > 0 {
				t.Fatalf("plan breaks invariants: %v", v.First)
			}
			return
		}
	})
	t.Run("whole", func(t *testing.T) {
		spare := bx(1, "r", "n", "")
		spare.FreeCache = 2_000_000
		s := snap(spare, hold(bx(2, "q", "n", ""), 1))
		s.Forecast = map[string]map[media.ItemID]float64{"r": {iid(1): 20}}
		st, err := NewState(s)
		if err != nil {
			t.Fatal(err)
		}
		st.Round()
		if _, ok := st.Plan().For(bid(1), iid(1)); !ok {
			t.Fatal("the round placed nothing")
		}
		bp, err := st.Update(spare, t0.Add(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if len(bp.Fetches) != 1 || bp.Fetches[0].Item != iid(1) || !bp.Fetches[0].Cache {
			t.Fatalf("after its sync: %+v, want the cache placement of item 1 kept", bp.Fetches)
		}
		spare.FreeCache = 10 // no room any more: let go
		if bp, err = st.Update(spare, t0.Add(2*time.Second)); err != nil || len(bp.Fetches) != 0 {
			t.Fatalf("without room: %+v (%v), want no fetch", bp.Fetches, err)
		}
	})
}

// TestFewIdleBoxesLeaveTheCopyToTheWishers: a crowd in a region with fewer idle boxes than the
// item has ranges is not seeded by ranges (part of the item would have no way in while the
// region counted as supplied); the wishers take the server's copy at once.
func TestFewIdleBoxesLeaveTheCopyToTheWishers(t *testing.T) {
	for _, tc := range []struct {
		idle       int
		wantRanges bool
	}{{idle: 3, wantRanges: false}, {idle: 10, wantRanges: true}} {
		s := crowdSnapshot(4, tc.idle)
		s.Config.SharedServerCopy = true
		p := mustPlan(t, s)
		if got := len(rangeFetches(p, 1)) > 0; got != tc.wantRanges {
			t.Errorf("%d idle boxes for 10 ranges: range placements %v, want %v", tc.idle, got, tc.wantRanges)
		}
		if tc.wantRanges {
			continue
		}
		for w := 1; w <= 4; w++ {
			if f := fetchOf(t, p, w, 1); !f.Server || !f.Start.Equal(s.Now) {
				t.Errorf("wisher %d: %+v, want the server's copy now", w, f)
			}
		}
	}
}
