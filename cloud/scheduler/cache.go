package scheduler

import (
	"cmp"
	"slices"
)

type shortfall struct {
	item   itemIdx
	region regionIdx
	demand float64
	supply int
}

// placeCache lends boxes' cache space to their region (CACHE-1, CACHE-2): an item whose regional demand
// (open wishes plus the forecast) outgrows its copies there by more than CacheFanout is pulled
// from peers into the cache of boxes that do not wish it, so later wishes find it nearby instead
// of on the server. Cache items nobody in the region wants are evicted to make room. Cache
// placements never use the server.
func (st *State) placeCache() {
	ix := &st.idx
	any := false
	for i := range ix.boxes {
		if ix.boxes[i].FreeCache > 0 || ix.hasCacheItem(boxIdx(i)) {
			any = true
			break
		}
	}
	if !any {
		return
	}
	demand := map[itemRegion]float64{}
	for i := range ix.boxes {
		b := &ix.boxes[i]
		if b.Offline {
			continue
		}
		for _, it := range b.wish {
			if !b.held[it].Complete {
				demand[itemIn(it, b.region)]++
			}
		}
	}
	for k, v := range ix.forecast {
		demand[k] += v
	}
	var short []shortfall
	for k, d := range demand {
		it, region := k.item(), k.region()
		supply := len(st.led.relays[k])
		for _, h := range ix.holdRegion[k] {
			if !ix.boxes[h].Offline && ix.boxes[h].held[it].Complete {
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
	byRegion := map[regionIdx][]boxIdx{}
	for i := range ix.boxes {
		b := &ix.boxes[i]
		if !b.Offline && (b.FreeCache > 0 || ix.hasCacheItem(boxIdx(i))) {
			byRegion[b.region] = append(byRegion[b.region], boxIdx(i))
		}
	}
	for _, list := range byRegion {
		slices.SortFunc(list, func(a, b boxIdx) int {
			x, y := &ix.boxes[a], &ix.boxes[b]
			return cmp.Or(cmp.Compare(y.FreeCache, x.FreeCache), cmpID(x.ID, y.ID))
		})
	}
	cacheUsed := st.led.cacheUsed
	placed := map[regionIdx]int{}
	const scan = 256 // boxes looked at per shortfall; the list is sorted by free cache
	for _, sf := range short {
		size := ix.items[sf.item].size
		list := byRegion[sf.region]
		for j := 0; j < len(list) && j < scan && placed[sf.region] < st.cfg.MaxPlacements; j++ {
			if float64(sf.supply*st.cfg.CacheFanout) >= sf.demand {
				break
			}
			bi := list[j]
			b, bl := &ix.boxes[bi], &st.led.boxes[bi]
			if _, held := b.held[sf.item]; held || bl.relay[sf.item] != 0 || st.led.rangePlaced[itemAt(sf.item, bi)] || slices.Contains(b.wish, sf.item) {
				continue
			}
			evict, ok := st.makeRoom(bi, size-(b.FreeCache-cacheUsed[bi]), demand)
			if !ok {
				continue
			}
			if !st.plan(request{box: bi, item: sf.item, rank: -1}) {
				continue
			}
			bl.evict = append(bl.evict, evict...)
			for _, e := range evict {
				cacheUsed[bi] -= ix.remainingHeld(bi, e)
				delete(b.held, e) // no longer a source for later placements
			}
			cacheUsed[bi] += size
			placed[sf.region]++
			sf.supply++
		}
	}
}

// makeRoom picks cache items of box b to evict so that need more bytes fit: only items nobody
// in its region wants and that b does not serve in this plan, largest first.
func (st *State) makeRoom(b boxIdx, need int64, demand map[itemRegion]float64) ([]itemIdx, bool) {
	if need <= 0 {
		return nil, true
	}
	bi, bl := &st.idx.boxes[b], &st.led.boxes[b]
	var cands []itemIdx
	for it, h := range bi.held {
		if !h.Cache || demand[itemIn(it, bi.region)] > 0 || slices.Contains(bl.evict, it) {
			continue
		}
		if slices.ContainsFunc(bl.uploads, func(u upRec) bool { return u.item == it }) {
			continue
		}
		cands = append(cands, it)
	}
	slices.SortFunc(cands, func(x, y itemIdx) int {
		return cmp.Or(cmp.Compare(st.idx.remainingHeld(b, y), st.idx.remainingHeld(b, x)), cmp.Compare(x, y))
	})
	var out []itemIdx
	for _, it := range cands {
		if need <= 0 {
			break
		}
		out = append(out, it)
		need -= st.idx.remainingHeld(b, it)
	}
	return out, need <= 0
}
