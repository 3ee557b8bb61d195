package scheduler

import (
	"cmp"
	"slices"
)

type shortfall struct {
	item, region int32
	demand       float64
	supply       int
}

// placeCache lends boxes' cache space to their region (c19, c20): an item whose regional demand
// (open wishes plus the forecast) outgrows its copies there by more than CacheFanout is pulled
// from peers into the cache of boxes that do not wish it, so later wishes find it nearby instead
// of on the server. Cache items nobody in the region wants are evicted to make room. Cache
// placements never use the server.
func (st *State) placeCache() {
	any := false
	for i := range st.boxes {
		if st.boxes[i].FreeCache > 0 || st.hasCacheItem(int32(i)) {
			any = true
			break
		}
	}
	if !any {
		return
	}
	demand := map[uint64]float64{}
	for i := range st.boxes {
		b := &st.boxes[i]
		if b.Offline {
			continue
		}
		for _, it := range b.wish {
			if !b.held[it].Complete {
				demand[key(it, b.region)]++
			}
		}
	}
	for k, v := range st.forecast {
		demand[k] += v
	}
	var short []shortfall
	for k, d := range demand {
		it, region := int32(k>>32), int32(uint32(k))
		supply := len(st.relays[k])
		for _, h := range st.holdRegion[k] {
			if !st.boxes[h].Offline && st.boxes[h].held[it].Complete {
				supply++
			}
		}
		if d >= 2 && float64(supply*st.cfg.CacheFanout) < d {
			short = append(short, shortfall{item: it, region: region, demand: d, supply: supply})
		}
	}
	if len(short) == 0 {
		return
	}
	slices.SortFunc(short, func(a, b shortfall) int {
		return cmp.Or(cmp.Compare(b.demand, a.demand), cmp.Compare(a.item, b.item), cmp.Compare(a.region, b.region))
	})
	byRegion := map[int32][]int32{}
	for i := range st.boxes {
		b := &st.boxes[i]
		if !b.Offline && (b.FreeCache > 0 || st.hasCacheItem(int32(i))) {
			byRegion[b.region] = append(byRegion[b.region], int32(i))
		}
	}
	for _, list := range byRegion {
		slices.SortFunc(list, func(a, b int32) int {
			x, y := &st.boxes[a], &st.boxes[b]
			return cmp.Or(cmp.Compare(y.FreeCache, x.FreeCache), cmpID(x.ID, y.ID))
		})
	}
	cacheUsed := st.cacheUsed
	placed := map[int32]int{}
	const scan = 256 // boxes looked at per shortfall; the list is sorted by free cache
	for _, sf := range short {
		size := st.items[sf.item].size
		list := byRegion[sf.region]
		for j := 0; j < len(list) && j < scan && placed[sf.region] < st.cfg.MaxPlacements; j++ {
			if float64(sf.supply*st.cfg.CacheFanout) >= sf.demand {
				break
			}
			bi := list[j]
			b := &st.boxes[bi]
			if _, held := b.held[sf.item]; held || b.relay[sf.item] != 0 || st.rangePlaced[key(sf.item, bi)] || slices.Contains(b.wish, sf.item) {
				continue
			}
			evict, ok := st.makeRoom(bi, size-(b.FreeCache-cacheUsed[bi]), demand)
			if !ok {
				continue
			}
			if !st.plan(request{box: bi, item: sf.item, rank: -1}) {
				continue
			}
			b.evict = append(b.evict, evict...)
			for _, e := range evict {
				cacheUsed[bi] -= st.remainingHeld(bi, e)
				delete(b.held, e) // no longer a source for later placements
			}
			cacheUsed[bi] += size
			placed[sf.region]++
			sf.supply++
		}
	}
}

func (st *State) hasCacheItem(i int32) bool {
	for _, h := range st.boxes[i].held {
		if h.Cache {
			return true
		}
	}
	return false
}

// remainingHeld is the bytes a box holds of an item.
func (st *State) remainingHeld(b, it int32) int64 {
	in := st.items[it]
	h := st.boxes[b].held[it]
	if h.Complete || in.pieces == 0 {
		return in.size
	}
	return in.size * int64(h.Pieces) / int64(in.pieces)
}

// makeRoom picks cache items of box b to evict so that need more bytes fit: only items nobody
// in its region wants and that b does not serve in this plan, largest first.
func (st *State) makeRoom(b int32, need int64, demand map[uint64]float64) ([]int32, bool) {
	if need <= 0 {
		return nil, true
	}
	bi := &st.boxes[b]
	var cands []int32
	for it, h := range bi.held {
		if !h.Cache || demand[key(it, bi.region)] > 0 || slices.Contains(bi.evict, it) {
			continue
		}
		if slices.ContainsFunc(bi.uploads, func(u upRec) bool { return u.item == it }) {
			continue
		}
		cands = append(cands, it)
	}
	slices.SortFunc(cands, func(x, y int32) int {
		return cmp.Or(cmp.Compare(st.remainingHeld(b, y), st.remainingHeld(b, x)), cmp.Compare(x, y))
	})
	var out []int32
	for _, it := range cands {
		if need <= 0 {
			break
		}
		out = append(out, it)
		need -= st.remainingHeld(b, it)
	}
	return out, need <= 0
}
