package scheduler

import (
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"swarmbox/media"
)

// Test fixtures: items of 1,000,000 bytes in 100 pieces; links of 1,000 bytes/s unless set.
var t0 = time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC)

func bid(n int) media.BoxID  { return media.BoxID{byte(n >> 8), byte(n)} }
func iid(n int) media.ItemID { return media.ItemID{byte(n >> 8), byte(n)} }

func catalog(n int) map[media.ItemID]Item {
	m := map[media.ItemID]Item{}
	for i := 1; i <= n; i++ {
		m[iid(i)] = Item{Size: 1_000_000, Pieces: 100}
	}
	return m
}

// bx is a box in region r, network n, LAN l, with room for everything and 1,000 bytes/s links.
func bx(id int, r, n, l string) Box {
	return Box{ID: bid(id), Region: r, Network: n, LAN: l, Uplink: 1000, Downlink: 1000, FreeWish: 1 << 40}
}

func wish(b Box, items ...int) Box {
	for _, i := range items {
		b.Wishlist = append(b.Wishlist, iid(i))
	}
	return b
}

func hold(b Box, items ...int) Box {
	b.Holdings = map[media.ItemID]Holding{}
	for _, i := range items {
		b.Holdings[iid(i)] = Holding{Pieces: 100, Complete: true}
	}
	return b
}

func snap(boxes ...Box) Snapshot {
	return Snapshot{Now: t0, Items: catalog(5), Boxes: boxes, Config: Config{Horizon: 2000 * time.Second, MinRate: 10}}
}

func mustPlan(t *testing.T, s Snapshot) Plan {
	t.Helper()
	p, err := Compute(s)
	if err != nil {
		t.Fatal(err)
	}
	if v := Check(s, p); v.Total() > 0 {
		t.Fatalf("plan breaks invariants: %v", v.First)
	}
	return p
}

func sources(f Fetch) []media.BoxID {
	var out []media.BoxID
	for _, s := range f.Sources {
		out = append(out, s.Box)
	}
	return out
}

// fetchOf returns box's fetch of item, failing the test when there is none.
func fetchOf(t *testing.T, p Plan, box, item int) Fetch {
	t.Helper()
	f, ok := p.For(bid(box), iid(item))
	if !ok {
		t.Fatalf("box %d has no fetch of item %d; plan: %+v", box, item, p.Boxes[bid(box)])
	}
	return f
}

func TestNeedIsWishlistMinusHoldings(t *testing.T) { // SCHED-1
	p := mustPlan(t, snap(wish(hold(bx(1, "r", "n", ""), 1), 1, 2), hold(bx(2, "r", "n", ""), 1, 2)))
	if _, ok := p.For(bid(1), iid(1)); ok {
		t.Error("box 1 fetches item 1, which it holds")
	}
	fetchOf(t, p, 1, 2)
}

func TestLeastFromServer(t *testing.T) { // SCHED-2
	tests := []struct {
		name       string
		boxes      []Box
		horizon    time.Duration
		wantServer []int // boxes whose fetch of item 1 uses the server
		wantFrom   map[int][]media.BoxID
	}{{
		name:       "nobody holds it: the server sends",
		boxes:      []Box{wish(bx(1, "r", "n", ""), 1)},
		wantServer: []int{1},
	}, {
		name:     "a box of the region holds it: no server",
		boxes:    []Box{wish(bx(1, "r", "n", ""), 1), hold(bx(2, "r", "m", ""), 1)},
		wantFrom: map[int][]media.BoxID{1: {bid(2)}},
	}, {
		name:       "two boxes of a region want it, nobody holds it: one server copy, the other relays",
		boxes:      []Box{wish(bx(1, "r", "n", ""), 1), wish(bx(2, "r", "n", ""), 1)},
		wantServer: []int{1},
		wantFrom:   map[int][]media.BoxID{2: {bid(1)}},
	}, {
		name:     "only another region holds it and can deliver within the horizon: no server",
		boxes:    []Box{wish(bx(1, "r", "n", ""), 1), hold(bx(2, "q", "n", ""), 1)},
		wantFrom: map[int][]media.BoxID{1: {bid(2)}},
	}, {
		name:       "only another region holds it, too slowly for the horizon: the server sends",
		boxes:      []Box{func() Box { b := wish(bx(1, "r", "n", ""), 1); b.Downlink = 10_000; return b }(), hold(bx(2, "q", "n", ""), 1)},
		horizon:    500 * time.Second, // 1 MB at 1,000 B/s takes 1,000 s
		wantServer: []int{1},
	}, {
		name:       "another region is receiving it from the server: follow that copy, not a second one",
		boxes:      []Box{wish(bx(1, "r", "n", ""), 1), wish(bx(2, "q", "n", ""), 1)},
		wantServer: []int{1},
		wantFrom:   map[int][]media.BoxID{2: {bid(1)}},
	}, {
		name:       "the holder of the region is offline: the server sends",
		boxes:      []Box{wish(bx(1, "r", "n", ""), 1), func() Box { b := hold(bx(2, "r", "n", ""), 1); b.Offline = true; return b }()},
		wantServer: []int{1},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(tc.boxes...)
			if tc.horizon > 0 {
				s.Config.Horizon = tc.horizon
			}
			p := mustPlan(t, s)
			var server []int
			for _, b := range tc.boxes {
				if f, ok := p.For(b.ID, iid(1)); ok && f.Server {
					server = append(server, int(b.ID[1]))
				}
			}
			if !slices.Equal(server, tc.wantServer) {
				t.Errorf("server sends to boxes %v, want %v", server, tc.wantServer)
			}
			for b, want := range tc.wantFrom {
				if got := sources(fetchOf(t, p, b, 1)); !slices.Equal(got, want) {
					t.Errorf("box %d fetches from %v, want %v", b, got, want)
				}
			}
		})
	}
}

func TestSourceOrderByNetworkCost(t *testing.T) { // SCHED-3
	// Box 1 (region r, network n, LAN l) wants item 1; holders at every distance.
	lan, isp, region, other := hold(bx(2, "r", "n", "l"), 1), hold(bx(3, "r", "n", "k"), 1), hold(bx(4, "r", "m", ""), 1), hold(bx(5, "q", "n", ""), 1)
	tests := []struct {
		name    string
		holders []Box
		want    media.BoxID
	}{
		{"same LAN first", []Box{other, region, isp, lan}, bid(2)},
		{"same ISP before same region", []Box{other, region, isp}, bid(3)},
		{"same region before another region", []Box{other, region}, bid(4)},
		{"another region before the server", []Box{other}, bid(5)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(append([]Box{wish(bx(1, "r", "n", "l"), 1)}, tc.holders...)...)
			s.Config.MaxSources = 1
			f := fetchOf(t, mustPlan(t, s), 1, 1)
			if got := sources(f); !slices.Equal(got, []media.BoxID{tc.want}) || f.Server {
				t.Errorf("sources %v (server %v), want only %v", got, f.Server, tc.want)
			}
		})
	}
}

func TestCostlierTierOnlyToFinishWithinHorizon(t *testing.T) { // SCHED-4
	// The region's only holder sends 1,000 B/s: 1 MB in 1,000 s. Box 1's downlink takes 2,000.
	recv := wish(bx(1, "r", "n", ""), 1)
	recv.Downlink = 2000
	near, far := hold(bx(2, "r", "n", ""), 1), hold(bx(3, "q", "n", ""), 1)
	for _, tc := range []struct {
		horizon time.Duration
		want    []media.BoxID
	}{{2000 * time.Second, []media.BoxID{bid(2)}}, {600 * time.Second, []media.BoxID{bid(2), bid(3)}}} {
		s := snap(recv, near, far)
		s.Config.Horizon = tc.horizon
		f := fetchOf(t, mustPlan(t, s), 1, 1)
		if got := sources(f); !slices.Equal(got, tc.want) {
			t.Errorf("horizon %v: sources %v, want %v", tc.horizon, got, tc.want)
		}
	}
}

func TestLeastTransferTime(t *testing.T) { // SCHED-5
	tests := []struct {
		name      string
		rates     []Rate
		fastUpMsr int64 // what others measured box 3 sending them
		want      media.BoxID
	}{
		{"caps when nothing is measured: the faster uplink", nil, 0, bid(3)},
		{"measured throughput beats the caps", []Rate{{From: bid(2), To: bid(1), BytesPerSecond: 800}, {From: bid(3), To: bid(1), BytesPerSecond: 100}}, 0, bid(2)},
		{"a source others measured slow is slow for a receiver that never measured it", nil, 100, bid(2)},
		{"the pair's own measurement beats what others measured", []Rate{{From: bid(3), To: bid(1), BytesPerSecond: 800}}, 100, bid(3)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			slow, fast := hold(bx(2, "r", "n", ""), 1), hold(bx(3, "r", "n", ""), 1)
			fast.Uplink, fast.MeasuredUplink = 900, tc.fastUpMsr
			slow.Uplink = 500
			s := snap(wish(bx(1, "r", "n", ""), 1), slow, fast)
			s.Rates, s.Config.MaxSources = tc.rates, 1
			if got := sources(fetchOf(t, mustPlan(t, s), 1, 1)); !slices.Equal(got, []media.BoxID{tc.want}) {
				t.Errorf("sources %v, want %v", got, tc.want)
			}
		})
	}
}

func TestStorage(t *testing.T) { // SCHED-6
	tests := []struct {
		name string
		free int64
		want []media.ItemID
	}{
		{"room for both", 2_000_000, []media.ItemID{iid(1), iid(2)}},
		{"room for one: the first wish", 1_500_000, []media.ItemID{iid(1)}},
		{"the first wish is partly held: only its rest counts", 500_000, []media.ItemID{iid(1)}},
		{"no room", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := wish(bx(1, "r", "n", ""), 1, 2)
			b.FreeWish, b.Downlink = tc.free, 20_000
			if tc.free == 500_000 {
				b.Holdings = map[media.ItemID]Holding{iid(1): {Pieces: 60}}
			}
			src1, src2 := hold(bx(2, "r", "n", ""), 1), hold(bx(3, "r", "n", ""), 2)
			src1.Uplink, src2.Uplink = 10_000, 10_000
			p := mustPlan(t, snap(b, src1, src2))
			var got []media.ItemID
			for _, f := range p.Boxes[bid(1)].Fetches {
				got = append(got, f.Item)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("fetches %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCachePlacement(t *testing.T) { // CACHE-1, CACHE-2
	forecast := map[string]map[media.ItemID]float64{"r": {iid(1): 20}}
	spare := bx(1, "r", "n", "")
	spare.FreeCache = 2_000_000
	full := spare
	full.FreeCache = 0
	full.Holdings = map[media.ItemID]Holding{iid(2): {Pieces: 100, Complete: true, Cache: true}}
	tests := []struct {
		name      string
		box       Box
		forecast  map[string]map[media.ItemID]float64
		wantCache bool
		wantEvict []media.ItemID
	}{
		{"demand in the region and free cache: placed", spare, forecast, true, nil},
		{"no predicted demand: nothing placed", spare, nil, false, nil},
		{"no cache space and nothing to evict: nothing placed", func() Box { b := spare; b.FreeCache = 0; return b }(), forecast, false, nil},
		{"cache full of an unwanted item: evicted for the wanted one", full, forecast, true, []media.ItemID{iid(2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(tc.box, hold(bx(2, "q", "n", ""), 1))
			s.Forecast = tc.forecast
			p := mustPlan(t, s)
			f, ok := p.For(bid(1), iid(1))
			if ok != tc.wantCache || (ok && (!f.Cache || f.Server)) {
				t.Errorf("cache fetch %v %+v, want %v (from a peer)", ok, f, tc.wantCache)
			}
			if got := p.Boxes[bid(1)].Evict; !slices.Equal(got, tc.wantEvict) {
				t.Errorf("evicts %v, want %v", got, tc.wantEvict)
			}
		})
	}
}

// oneSlotSource is a holder that can serve exactly one receiver at full speed.
func oneSlotSource(id int) Box { b := hold(bx(id, "r", "n", ""), 1, 2); b.Uplink = 1000; return b }

func TestPriorityBeforeOtherBoxesLowerWishes(t *testing.T) { // SCHED-7
	a := wish(bx(1, "r", "n", ""), 1, 2) // item 2 is its second wish
	b := wish(bx(3, "r", "n", ""), 2)    // item 2 is its top wish
	holder1 := hold(bx(4, "r", "n", ""), 1)
	s := snap(a, b, oneSlotSource(2), holder1)
	s.Boxes[2].Holdings = map[media.ItemID]Holding{iid(2): {Pieces: 100, Complete: true}}
	s.Config.Horizon = 100 * time.Hour
	p := mustPlan(t, s)
	fetchOf(t, p, 3, 2)
	if f, ok := p.For(bid(1), iid(2)); ok {
		t.Errorf("box 1's second wish took the only source before box 3's top wish: %+v", f)
	}
}

func TestLeastRecentlyServedFirst(t *testing.T) { // SCHED-8
	a, b := wish(bx(1, "r", "n", ""), 1), wish(bx(3, "r", "n", ""), 1)
	a.LastServed, b.LastServed = t0.Add(-time.Minute), t0.Add(-time.Hour)
	s := snap(a, b, oneSlotSource(2))
	s.Config.Horizon = 100 * time.Hour
	p := mustPlan(t, s)
	if got := sources(fetchOf(t, p, 3, 1)); !slices.Contains(got, bid(2)) {
		t.Errorf("box 3 (served an hour ago) fetches from %v, want the holder", got)
	}
	if f, ok := p.For(bid(1), iid(1)); ok && slices.Contains(sources(f), bid(2)) {
		t.Errorf("box 1 (served a minute ago) also uses the holder's only slot: %+v", f)
	}
}

func TestLeastRecentlyUploadingServes(t *testing.T) { // SCHED-9
	busy, idle := hold(bx(2, "r", "n", ""), 1), hold(bx(3, "r", "n", ""), 1)
	busy.LastUploaded, idle.LastUploaded = t0.Add(-time.Minute), t0.Add(-time.Hour)
	s := snap(wish(bx(1, "r", "n", ""), 1), busy, idle)
	s.Config.MaxSources = 1
	if got := sources(fetchOf(t, mustPlan(t, s), 1, 1)); !slices.Equal(got, []media.BoxID{bid(3)}) {
		t.Errorf("sources %v, want the one idle longest (3)", got)
	}
}

func TestSeveralSourcesByPieceRanges(t *testing.T) { // SCHED-10
	recv := wish(bx(1, "r", "n", ""), 1)
	recv.Downlink = 4000
	a, b := hold(bx(2, "r", "n", ""), 1), hold(bx(3, "r", "n", ""), 1)
	a.Uplink, b.Uplink = 3000, 1000
	f := fetchOf(t, mustPlan(t, snap(recv, a, b)), 1, 1)
	if len(f.Sources) != 2 {
		t.Fatalf("sources %+v, want two", f.Sources)
	}
	want := [][]PieceRange{{{0, 75}}, {{75, 100}}} // in proportion to 3,000 and 1,000 B/s
	for i, s := range f.Sources {
		if !reflect.DeepEqual(s.Ranges, want[i]) {
			t.Errorf("source %s serves %v, want %v", s.Box, s.Ranges, want[i])
		}
	}
}

func TestUploadCapNeverExceeded(t *testing.T) {
	boxes := []Box{oneSlotSource(1)}
	for i := 2; i < 12; i++ {
		boxes = append(boxes, wish(bx(i, "r", "n", ""), 1))
	}
	p := mustPlan(t, snap(boxes...)) // mustPlan runs Check, which counts upload-cap violations
	var up int64
	for _, bp := range p.Boxes {
		for _, f := range bp.Fetches {
			for _, s := range f.Sources {
				if s.Box == bid(1) {
					up += s.Rate
				}
			}
		}
	}
	if up != 1000 {
		t.Errorf("box 1 uploads %d B/s in the plan, want exactly its cap 1000", up)
	}
}

func TestStartTimes(t *testing.T) { // SCHED-11
	offPeak := t0.Add(4 * time.Hour)
	slots := []Slot{{Start: t0.Add(-time.Hour), End: offPeak, Budget: 1 << 40, Peak: true}, {Start: offPeak, End: offPeak.Add(6 * time.Hour), Budget: 1_500_000}}
	tests := []struct {
		name      string
		boxes     []Box
		wantStart map[int]time.Time // box → start of its server fetch of item 2 (zero: none)
	}{
		{"the top wish uses the server now, even at peak", []Box{wish(bx(1, "r", "n", ""), 2)}, map[int]time.Time{1: t0}},
		{"a lower wish waits for the off-peak slot", []Box{wish(hold(bx(1, "r", "n", ""), 1), 1, 3, 2)}, map[int]time.Time{1: offPeak}},
		{"the slot's budget holds one copy, not two", []Box{wish(bx(1, "r", "n", ""), 3, 2), wish(bx(3, "q", "n", ""), 4, 2)}, map[int]time.Time{1: offPeak, 3: {}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(tc.boxes...)
			s.Slots = slots
			// Items 3 and 4 are held on the LAN so only item 2 needs the server.
			s.Boxes = append(s.Boxes, hold(bx(9, "r", "n", ""), 3), hold(bx(10, "q", "n", ""), 4))
			p := mustPlan(t, s)
			for b, want := range tc.wantStart {
				f, ok := p.For(bid(b), iid(2))
				if want.IsZero() {
					if ok {
						t.Errorf("box %d: server fetch at %v, want none (budget spent)", b, f.Start)
					}
					continue
				}
				if !ok || !f.Server || !f.Start.Equal(want) {
					t.Errorf("box %d: fetch %v %+v, want a server fetch starting %v", b, ok, f, want)
				}
			}
		})
	}
}

func TestWhoDials(t *testing.T) { // SCHED-12
	open := func(id int) Box { return bx(id, "r", "n", "") }
	natted := func(id int) Box { b := bx(id, "r", "n", ""); b.NAT = true; return b }
	home := func(id int, lan string) Box { b := natted(id); b.LAN = lan; return b }
	tests := []struct {
		name            string
		recv, src       Box
		wantPaired      bool
		wantDial        bool // the receiver dials
		wantSourceDials bool // the source's plan lists the receiver as an upload to dial
	}{
		{"both reachable: the receiver dials", open(1), open(2), true, true, false},
		{"receiver behind NAT: it dials the reachable source", natted(1), open(2), true, true, false},
		{"source behind NAT: the source dials the receiver", open(1), natted(2), true, false, true},
		{"both behind NAT: never paired", natted(1), natted(2), false, false, false},
		{"both behind NAT on one LAN: the receiver dials", home(1, "lan1"), home(2, "lan1"), true, true, false},
		{"both behind NAT on two LANs: never paired", home(1, "lan1"), home(2, "lan2"), false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := mustPlan(t, snap(wish(tc.recv, 1), hold(tc.src, 1)))
			f, _ := p.For(bid(1), iid(1))
			paired := slices.Contains(sources(f), bid(2))
			if paired != tc.wantPaired {
				t.Fatalf("paired %v, want %v (fetch %+v)", paired, tc.wantPaired, f)
			}
			if !paired && !f.Server { // a holder the receiver cannot reach supplies nothing
				t.Fatalf("neither a source nor the server: the fetch would stall (%+v)", f)
			}
			if paired && f.Sources[0].Dial != tc.wantDial {
				t.Errorf("receiver dials %v, want %v", f.Sources[0].Dial, tc.wantDial)
			}
			up := slices.Contains(p.Boxes[bid(2)].Uploads, Upload{Item: iid(1), To: bid(1)})
			if up != tc.wantSourceDials {
				t.Errorf("source's uploads list the receiver: %v, want %v", up, tc.wantSourceDials)
			}
		})
	}
}

func TestServerKeptByTheBoxItWasSending(t *testing.T) {
	// Box 2 is further along, but the server was sending to box 1: box 1 keeps it and box 2
	// follows, rather than a second copy starting.
	a, b := wish(bx(1, "r", "n", ""), 1), wish(bx(2, "r", "n", ""), 1)
	a.Holdings = map[media.ItemID]Holding{iid(1): {Pieces: 10}}
	b.Holdings = map[media.ItemID]Holding{iid(1): {Pieces: 40}}
	s := snap(a, b)
	s.Serving = map[media.ItemID][]media.BoxID{iid(1): {bid(1)}}
	p := mustPlan(t, s)
	if f := fetchOf(t, p, 1, 1); !f.Server {
		t.Error("box 1 lost the server")
	}
	if f := fetchOf(t, p, 2, 1); f.Server || !slices.Equal(sources(f), []media.BoxID{bid(1)}) {
		t.Errorf("box 2: %+v, want only box 1 as a relay", f)
	}
}

func TestIncrementalUpdate(t *testing.T) {
	// 300 boxes in 3 regions wishing 5 items; a few hold them.
	var boxes []Box
	for i := 1; i <= 300; i++ {
		b := wish(bx(i, string(rune('a'+i%3)), "n", ""), 1+i%5, 1+(i+1)%5)
		if i%10 == 0 {
			b = hold(b, 1+i%5, 1+(i+2)%5)
		}
		boxes = append(boxes, b)
	}
	st, err := NewState(snap(boxes...))
	if err != nil {
		t.Fatal(err)
	}
	st.Round()
	before := st.Plan()
	planned := st.Planned
	b := boxes[6]
	extra := iid(1)
	for slices.Contains(b.Wishlist, extra) {
		extra[1]++
	}
	b.Wishlist = append(slices.Clone(b.Wishlist), extra) // one more wish
	bp, err := st.Update(b, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if n := st.Planned - planned; n != 3 {
		t.Errorf("updating one box with three wishes considered %d requests, want 3", n)
	}
	if len(bp.Fetches) == 0 {
		t.Errorf("updated box's plan %+v, want its top wish fetched", bp)
	}
	after := st.Plan()
	for id, p := range before.Boxes {
		if id == b.ID {
			continue
		}
		if !reflect.DeepEqual(p.Fetches, after.Boxes[id].Fetches) {
			t.Errorf("box %s's fetches changed although only %s synced", id, b.ID)
		}
	}
	// A source that goes offline is withdrawn from the fetches it served.
	var src media.BoxID
	for _, id := range slices.SortedFunc(maps.Keys(after.Boxes), cmpID) {
		for _, f := range after.Boxes[id].Fetches {
			if len(f.Sources) > 0 && src == (media.BoxID{}) {
				src = f.Sources[0].Box
			}
		}
	}
	off := boxes[slices.IndexFunc(boxes, func(b Box) bool { return b.ID == src })]
	off.Offline = true
	if _, err := st.Update(off, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	for id, p := range st.Plan().Boxes {
		for _, f := range p.Fetches {
			if slices.Contains(sources(f), src) {
				t.Errorf("box %s still fetches from %s, which went offline", id, src)
			}
		}
	}
	if _, err := st.Update(Box{ID: bid(999), Wishlist: []media.ItemID{iid(77)}}, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("update with an unknown item: %v, want ErrInvalid", err)
	}
}

func TestDeterministic(t *testing.T) {
	var boxes []Box
	for i := 1; i <= 60; i++ {
		b := wish(bx(i, string(rune('a'+i%2)), string(rune('m'+i%3)), string(rune('x'+i%4))), 1+i%5, 1+(i+2)%5)
		if i%7 == 0 {
			b = hold(b, 1+i%5)
		}
		b.NAT = i%3 == 0
		boxes = append(boxes, b)
	}
	p1 := mustPlan(t, snap(boxes...))
	slices.Reverse(boxes)
	p2 := mustPlan(t, snap(boxes...))
	if !reflect.DeepEqual(p1, p2) {
		t.Error("the same snapshot with boxes in another order gave another plan")
	}
}

func TestValidate(t *testing.T) {
	good := func() Snapshot { return snap(wish(bx(1, "r", "n", ""), 1), hold(bx(2, "r", "n", ""), 2)) }
	tests := []struct {
		field string
		bad   func(*Snapshot)
	}{
		{"items[", func(s *Snapshot) { s.Items[iid(1)] = Item{Size: -1, Pieces: 1} }},
		{"pieces: negative", func(s *Snapshot) { s.Items[iid(1)] = Item{Size: 1, Pieces: -1} }},
		{"boxes[1].id: duplicate", func(s *Snapshot) { s.Boxes[1].ID = s.Boxes[0].ID }},
		{"boxes[0].wishlist: 6 wishes for 5 items", func(s *Snapshot) {
			s.Boxes[0].Wishlist = []media.ItemID{iid(1), iid(2), iid(3), iid(4), iid(5), iid(1)}
		}},
		{"boxes[0].wishlist[0]: unknown item", func(s *Snapshot) { s.Boxes[0].Wishlist = []media.ItemID{iid(99)} }},
		{"boxes[0].wishlist[1]: duplicate", func(s *Snapshot) { s.Boxes[0].Wishlist = []media.ItemID{iid(1), iid(1)} }},
		{"boxes[1].holdings[", func(s *Snapshot) { s.Boxes[1].Holdings = map[media.ItemID]Holding{iid(99): {}} }},
		{"holdings[00020000000000000000000000000000].pieces", func(s *Snapshot) { s.Boxes[1].Holdings[iid(2)] = Holding{Pieces: 101} }},
		{"holdings[00020000000000000000000000000000].range: [90,120)", func(s *Snapshot) {
			s.Boxes[1].Holdings[iid(2)] = Holding{Pieces: 5, Range: PieceRange{90, 120}}
		}},
		{"holdings[00020000000000000000000000000000].pieces: 20 more than the range's 10", func(s *Snapshot) {
			s.Boxes[1].Holdings[iid(2)] = Holding{Pieces: 20, Range: PieceRange{0, 10}}
		}},
		{"config: negative", func(s *Snapshot) { s.Config.RangeParts = -1 }},
		{"boxes[0].uplink: negative", func(s *Snapshot) { s.Boxes[0].Uplink = -1 }},
		{"boxes[0].free_wish: negative", func(s *Snapshot) { s.Boxes[0].FreeWish = -5 }},
		{"rates[0].from: unknown box", func(s *Snapshot) { s.Rates = []Rate{{From: bid(9), To: bid(1)}} }},
		{"rates[0].bytes_per_second: negative", func(s *Snapshot) { s.Rates = []Rate{{From: bid(2), To: bid(1), BytesPerSecond: -1}} }},
		{"slots[0].end: not after start", func(s *Snapshot) { s.Slots = []Slot{{Start: t0, End: t0}} }},
		{"slots[1].start: overlaps", func(s *Snapshot) {
			s.Slots = []Slot{{Start: t0, End: t0.Add(2 * time.Hour)}, {Start: t0.Add(time.Hour), End: t0.Add(3 * time.Hour)}}
		}},
		{"serving[", func(s *Snapshot) { s.Serving = map[media.ItemID][]media.BoxID{iid(99): nil} }},
		{"forecast[r][", func(s *Snapshot) { s.Forecast = map[string]map[media.ItemID]float64{"r": {iid(1): -1}} }},
		{"config: negative", func(s *Snapshot) { s.Config.MaxSources = -1 }},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			s := good()
			tc.bad(&s)
			_, err := Compute(s)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %v, want ErrInvalid naming %q", err, tc.field)
			}
		})
	}
	if _, err := Compute(good()); err != nil {
		t.Errorf("a good snapshot: %v", err)
	}
}

// TestLANSourceKeepsTransferInsideLAN: with a LAN neighbour holding or receiving the item, a box
// takes no source outside its LAN (the item enters each LAN once) unless the LAN alone cannot
// finish within the horizon.
func TestLANSourceKeepsTransferInsideLAN(t *testing.T) { // SCHED-3, SCHED-4
	recv := wish(bx(1, "r", "n", "l"), 1)
	recv.Downlink = 5000
	lan, isp := hold(bx(2, "r", "n", "l"), 1), hold(bx(3, "r", "n", "k"), 1)
	for _, tc := range []struct {
		horizon time.Duration
		want    []media.BoxID
	}{{0, []media.BoxID{bid(2)}}, {time.Millisecond, []media.BoxID{bid(2), bid(3)}}} {
		s := snap(recv, lan, isp)
		if tc.horizon > 0 {
			s.Config.Horizon = tc.horizon
		}
		f := fetchOf(t, mustPlan(t, s), 1, 1)
		if got := sources(f); !slices.Equal(got, tc.want) || f.Server {
			t.Errorf("horizon %v: sources %v (server %v), want %v", tc.horizon, got, f.Server, tc.want)
		}
	}
}

// TestLANRelaysFeedingEachOtherStillReachOut: two boxes of one LAN wish an item held only
// outside the LAN. Re-planning either must keep a source outside: its LAN neighbour receives the
// item only through it, so a LAN-only plan would bring nothing in.
func TestLANRelaysFeedingEachOtherStillReachOut(t *testing.T) {
	a, b := wish(bx(1, "r", "n", "l"), 1), wish(bx(2, "r", "n", "l"), 1)
	a.Downlink, b.Downlink = 5000, 5000
	out := hold(bx(3, "r", "n", "k"), 1)
	st, err := NewState(snap(a, b, out))
	if err != nil {
		t.Fatal(err)
	}
	st.Round()
	for _, box := range []Box{a, b, a} {
		if _, err := st.Update(box, t0); err != nil {
			t.Fatal(err)
		}
		p := st.Plan()
		reached := false
		for _, id := range []media.BoxID{bid(1), bid(2)} {
			for _, f := range p.Boxes[id].Fetches {
				reached = reached || slices.ContainsFunc(f.Sources, func(s Source) bool { return s.Box == bid(3) }) || f.Server
			}
		}
		if !reached {
			t.Fatalf("after re-planning box %v no box of the LAN takes the item from outside: %+v", box.ID, p.Boxes)
		}
	}
}

func TestSharedServerCopy(t *testing.T) { // SCHED-2, SCHED-4, SCHED-10
	// Four boxes of a region wish item 1 and nobody holds it; downlinks 4,000 B/s, uplinks
	// 1,000 B/s. Sent whole to the first, the copy would reach the others through its uplink
	// alone; shared, each takes a quarter from the server and the rest from the others.
	var boxes []Box
	for i := 1; i <= 4; i++ {
		b := wish(bx(i, "r", "n", ""), 1)
		b.Downlink = 4000
		boxes = append(boxes, b)
	}
	servers := func(p Plan) (n int, ranges []PieceRange) {
		for _, b := range boxes {
			if f, ok := p.For(b.ID, iid(1)); ok && f.Server {
				n++
				ranges = append(ranges, f.ServerRanges...)
			}
		}
		slices.SortFunc(ranges, func(a, b PieceRange) int { return a.Begin - b.Begin })
		return n, ranges
	}

	s := snap(boxes...)
	if n, ranges := servers(mustPlan(t, s)); n != 1 || len(ranges) != 0 {
		t.Fatalf("without SharedServerCopy: %d server fetches with ranges %v, want the whole copy to one box", n, ranges)
	}

	s.Config.SharedServerCopy = true
	p := mustPlan(t, s)
	n, ranges := servers(p)
	if n != 4 || len(ranges) != 4 {
		t.Fatalf("%d server fetches with ranges %v, want all four boxes to take a share", n, ranges)
	}
	next := 0
	for _, r := range ranges {
		if r.Begin != next || r.Len() == 0 {
			t.Fatalf("shares %v do not tile the item's 100 pieces", ranges)
		}
		next = r.End
	}
	if next != 100 {
		t.Fatalf("shares %v do not tile the item's 100 pieces", ranges)
	}
	if p.ServerBytes > 1_000_000 {
		t.Errorf("the plan has the server send %d bytes, more than one copy of the item", p.ServerBytes)
	}
	// The boxes fetch what the server does not send them from each other.
	for i := 2; i <= 4; i++ {
		if f := fetchOf(t, p, i, 1); len(f.Sources) == 0 {
			t.Errorf("box %d takes its share from the server but nothing from the other boxes", i)
		}
	}
	// The first box re-planned at its sync keeps its share and names the others as sources.
	st, err := NewState(s)
	if err != nil {
		t.Fatal(err)
	}
	st.Round()
	bp, err := st.Update(boxes[0], t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(bp.Fetches) != 1 || !bp.Fetches[0].Server || len(bp.Fetches[0].ServerRanges) != 1 || len(bp.Fetches[0].Sources) == 0 {
		t.Errorf("box 1 after its sync: %+v, want a share of the server copy and the other boxes as sources", bp.Fetches)
	}
	if v := Check(s, st.Plan()); v.Total() > 0 {
		t.Errorf("after the update: %v", v.First)
	}

	// A box of the region holding it complete: nobody shares a server copy.
	s.Boxes = append(slices.Clone(boxes), hold(bx(5, "r", "n", ""), 1))
	if n, _ := servers(mustPlan(t, s)); n != 0 {
		t.Errorf("with a complete copy in the region, %d boxes take a share of a server copy", n)
	}
}

func TestSharedServerCopyCrossesIntoEachLANOnce(t *testing.T) { // SCHED-3, SCHED-10
	// Two LANs of three boxes in one region wish item 1. The server's one copy is shared by all
	// six; each LAN takes every share of the other LAN once: one of its boxes names that
	// sharer, for that sharer's pieces only, and the LAN passes them on inside.
	var boxes []Box
	for i := 1; i <= 6; i++ {
		b := wish(bx(i, "r", "n", string(rune('x'+(i-1)/3))), 1)
		b.Uplink, b.Downlink = 1000, 8000
		boxes = append(boxes, b)
	}
	s := snap(boxes...)
	s.Config.SharedServerCopy = true
	st, err := NewState(s)
	if err != nil {
		t.Fatal(err)
	}
	st.Round()
	for _, b := range boxes { // every box syncs once, as the head-end re-plans it
		if _, err := st.Update(b, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	p := st.Plan()
	if v := Check(s, p); v.Total() > 0 {
		t.Fatal(v.First)
	}
	share := map[media.BoxID][]PieceRange{}
	for _, b := range boxes {
		f := fetchOf(t, p, int(b.ID[1]), 1)
		if !f.Server || len(f.ServerRanges) != 1 {
			t.Fatalf("box %d: %+v, want a share of the server's copy", b.ID[1], f)
		}
		share[b.ID] = f.ServerRanges
	}
	lan := func(id media.BoxID) string { return boxes[id[1]-1].LAN }
	for _, l := range []string{"x", "y"} {
		for _, o := range boxes {
			if o.LAN == l {
				continue
			}
			var importers []int
			for _, b := range boxes {
				if b.LAN != l {
					continue
				}
				for _, src := range fetchOf(t, p, int(b.ID[1]), 1).Sources {
					if src.Box == o.ID {
						if !src.Share || !slices.Equal(src.Ranges, share[o.ID]) {
							t.Errorf("box %d names box %d of the other LAN for pieces %v (share-only %v), want its share %v only", b.ID[1], o.ID[1], src.Ranges, src.Share, share[o.ID])
						}
						importers = append(importers, int(b.ID[1]))
					}
				}
			}
			if len(importers) != 1 {
				t.Errorf("LAN %s takes box %d's share through boxes %v, want exactly one", l, o.ID[1], importers)
			}
		}
	}
	for _, b := range boxes {
		for _, src := range fetchOf(t, p, int(b.ID[1]), 1).Sources {
			if lan(src.Box) == b.LAN && len(src.Ranges) > 0 {
				t.Errorf("box %d names its LAN neighbour %d for pieces %v only, want any piece", b.ID[1], src.Box[1], src.Ranges)
			}
		}
	}
}

func TestSharedServerCopyKeepsOffPeakSlots(t *testing.T) { // SCHED-11
	// Two boxes' second wish needs the server: it waits for the off-peak slot with shared
	// copies on, as without (only a copy already flowing is joined at once).
	a, b := wish(bx(1, "r", "n", ""), 2, 1), wish(bx(2, "r", "n", ""), 3, 1)
	a.Downlink, b.Downlink = 10_000, 10_000
	s := snap(a, b)
	s.Config.SharedServerCopy = true
	s.Slots = []Slot{{Start: t0.Add(-time.Hour), End: t0.Add(time.Hour), Budget: 1 << 40, Peak: true}, {Start: t0.Add(time.Hour), End: t0.Add(5 * time.Hour), Budget: 1 << 40}}
	p := mustPlan(t, s)
	for _, box := range []int{1, 2} {
		if f := fetchOf(t, p, box, 1); !f.Server || !f.Start.Equal(t0.Add(time.Hour)) || len(f.ServerRanges) > 0 {
			t.Errorf("box %d: %+v, want the whole item from the server in the off-peak slot", box, f)
		}
	}
}

// TestServerKeptWhenTheHolderIsUnreachable (SCHED-12, NET-2): the server is sending an item to
// a box behind NAT when another box behind NAT, on another LAN, completes it. That box can
// never reach the receiver, so the server keeps sending; dropping it left the fetch with
// neither a source nor the server, for good.
func TestServerKeptWhenTheHolderIsUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name       string
		holderNAT  bool
		wantServer bool
	}{
		{"the holder can be dialled: peers take over", false, false},
		{"both behind NAT: the server keeps sending", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recv := wish(bx(1, "r", "n1", "lan1"), 1)
			recv.NAT = true
			recv.Holdings = map[media.ItemID]Holding{iid(1): {Pieces: 10}}
			holder := hold(bx(2, "r", "n2", "lan2"), 1)
			holder.NAT = tc.holderNAT
			s := snap(recv, holder)
			s.Serving = map[media.ItemID][]media.BoxID{iid(1): {bid(1)}}
			p := mustPlan(t, s)
			f := fetchOf(t, p, 1, 1)
			if f.Server != tc.wantServer {
				t.Fatalf("server %v, want %v (fetch %+v)", f.Server, tc.wantServer, f)
			}
			if !f.Server && len(f.Sources) == 0 {
				t.Fatalf("neither a source nor the server: the fetch stalls (%+v)", f)
			}
		})
	}
}
