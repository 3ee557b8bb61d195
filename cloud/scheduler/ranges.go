package scheduler

import (
	"cmp"
	"slices"
)

// Range placements (CACHE-1, CACHE-2, SCHED-10): when many boxes of a region wish an item at once (a
// flash crowd), the wishing boxes' uplinks alone cannot keep up with their downlinks. Idle boxes
// of the region then receive one piece range each of the item into their cache space and serve
// it to the wishing boxes: an idle box pays for its range once and uploads it many times, so
// the region's copies of each range multiply while the crowd lasts, and every wishing box gets
// sources for several ranges (piece ranges of several sources, SCHED-10).

// rangeFull says h is a range placement that holds its whole range.
func rangeFull(h Holding) bool {
	return h.Range != (PieceRange{}) && h.Pieces >= h.Range.Len()
}

// part is the j-th of the item's RangeParts canonical ranges.
func (st *State) part(it itemIdx, j int) PieceRange {
	n, k := st.idx.items[it].pieces, st.parts(it)
	return PieceRange{Begin: n * j / k, End: n * (j + 1) / k}
}

// parts is how many canonical ranges item it has (fewer than RangeParts for tiny items).
func (st *State) parts(it itemIdx) int { return min(st.cfg.RangeParts, st.idx.items[it].pieces) }

// rangeCandidates adds range holders of dst's region: for a range placement, holders of that
// range; for a wish, one holder per range, starting at a range that depends on how far dst has
// got, so successive rounds spread a receiver over all ranges.
func (st *State) rangeCandidates(dst boxIdx, it itemIdx, out []cand) []cand {
	d := &st.idx.boxes[dst]
	if st.idx.rangeIn[itemIn(it, d.region)] == 0 {
		return out
	}
	if want := st.scr.want; want != (PieceRange{}) {
		return st.gatherRange(rangeOf(it, d.region, want), dst, it, 2*st.cfg.MaxSources, out)
	}
	k := st.parts(it)
	if k < 2 {
		return out
	}
	first := int(dst) + d.held[it].Pieces*k/max(1, st.idx.items[it].pieces)
	for j := range k {
		r := st.part(it, (first+j)%k)
		out = st.gatherRange(rangeOf(it, d.region, r), dst, it, 1, out)
	}
	return out
}

func (st *State) gatherRange(k rangeKey, dst boxIdx, it itemIdx, want int, out []cand) []cand {
	list := st.idx.rangeHold[k]
	if len(list) == 0 {
		return out
	}
	if !st.inRound {
		return st.gatherFrom(list, nil, dst, it, want, out)
	}
	start := st.led.rcursor[k]
	out = st.gatherFrom(list, &start, dst, it, want, out)
	st.led.rcursor[k] = start
	return out
}

// continueRange plans box i's unfinished range placements of items its region still wants
// (every one when demand is nil: a sync does not know the region's demand).
func (st *State) continueRange(i boxIdx, demand map[itemRegion]int) {
	b := &st.idx.boxes[i]
	if b.Offline || !b.ranged || !st.cfg.RangePlacements {
		return
	}
	var its []itemIdx
	for it, h := range b.held {
		if h.Range != (PieceRange{}) && !rangeFull(h) && !h.Complete && !slices.Contains(b.wish, it) && (demand == nil || demand[itemIn(it, b.region)] > 0) {
			its = append(its, it)
		}
	}
	slices.Sort(its)
	for _, it := range its {
		st.scr.placing = !st.idx.serving[it][i] // the server's ranges go on at full rate
		r := b.held[it].Range
		need := st.idx.rangeRemaining(it, b.held[it], r)
		if need > st.led.cacheSpare(i, b.FreeCache) {
			continue
		}
		if st.plan(request{box: i, item: it, rank: -1, rng: r}) {
			st.led.cacheUsed[i] += need
		}
	}
}

type crowd struct {
	item   itemIdx
	region regionIdx
	wishes int
}

// placeRanges continues unfinished range placements and places new ones where a region's open
// wishes for an item outnumber its complete copies RangeDemand to one.
func (st *State) placeRanges(reqs []request) {
	if !st.cfg.RangePlacements {
		return
	}
	demand := map[itemRegion]int{}
	for _, r := range reqs {
		if r.rank >= 0 {
			demand[itemIn(r.item, st.idx.boxes[r.box].region)]++
		}
	}
	for _, i := range st.idx.ranged {
		st.continueRange(i, demand)
	}
	defer func() { st.scr.placing = false }()
	var crowds []crowd
	for k, d := range demand {
		it, region := k.item(), k.region()
		if d < st.cfg.RangeDemand || st.parts(it) < 2 {
			continue
		}
		copies := 0
		for _, h := range st.idx.holdRegion[k] {
			if !st.idx.boxes[h].Offline && st.idx.boxes[h].held[it].Complete {
				copies++
			}
		}
		if d >= st.cfg.RangeDemand*max(1, copies) {
			crowds = append(crowds, crowd{item: it, region: region, wishes: d})
		}
	}
	if len(crowds) == 0 {
		return
	}
	slices.SortFunc(crowds, func(a, b crowd) int {
		return cmp.Or(cmp.Compare(b.wishes, a.wishes), cmp.Compare(a.item, b.item), cmp.Compare(a.region, b.region))
	})
	// Per region: online boxes with cache space, those that accept connections first (they can
	// serve every receiver), then fastest uplink.
	idle := map[regionIdx][]boxIdx{}
	for _, c := range crowds {
		idle[c.region] = nil
	}
	for i := range st.idx.boxes {
		b := &st.idx.boxes[i]
		if list, ok := idle[b.region]; ok && !b.Offline && b.FreeCache > 0 {
			idle[b.region] = append(list, boxIdx(i))
		}
	}
	for _, list := range idle {
		slices.SortFunc(list, func(a, b boxIdx) int {
			x, y := &st.idx.boxes[a], &st.idx.boxes[b]
			return cmp.Or(cmpBool(x.NAT, y.NAT), cmp.Compare(y.up, x.up), cmpID(x.ID, y.ID))
		})
	}
	for _, c := range crowds {
		st.placeCrowd(c, idle[c.region])
	}
}

// placeCrowd places ranges of one item into idle boxes of one region, each new one into the
// range with the fewest holders, until the region has RangeFanout holders per open wish.
func (st *State) placeCrowd(c crowd, idle []boxIdx) {
	k := st.parts(c.item)
	holders := make([]int, k)
	total := 0
	for j := range k {
		r := st.part(c.item, j)
		holders[j] = len(st.idx.rangeHold[rangeOf(c.item, c.region, r)])
		total += holders[j]
	}
	for _, i := range st.idx.ranged { // unfinished placements count too
		h := st.idx.boxes[i].held[c.item]
		if st.idx.boxes[i].region != c.region || h.Range == (PieceRange{}) || rangeFull(h) {
			continue
		}
		for j := range k {
			if st.part(c.item, j) == h.Range {
				holders[j]++
				total++
			}
		}
	}
	target := st.cfg.RangeFanout * c.wishes
	// Nobody in the region holds or receives the item from a fed source: the server sends the
	// region's one copy, each range to another idle box at its downlink, so the whole item is
	// in the region after a RangeParts-th of the time one box would take.
	seed := !st.suppliedIn(c.region, c.item, noBox)
	if seed {
		target = total + k
		// Seeding by ranges pays only when every range finds an idle box: with fewer, the
		// region would count as supplied while part of the item had no way in, and the
		// wishers would wait for the server's copy until the seeds were done.
		if st.idleFor(c.item, idle, k) < k {
			return
		}
	}
	placed, failed := 0, 0
	const maxFailed = 8 // no source has spare upload left: stop trying
	for _, i := range idle {
		if total >= target || placed >= st.cfg.MaxRangePlacements || failed >= maxFailed {
			return
		}
		b := &st.idx.boxes[i]
		if _, held := b.held[c.item]; held || st.led.boxes[i].relay[c.item] != 0 || st.led.rangePlaced[itemAt(c.item, i)] || slices.Contains(b.wish, c.item) {
			continue
		}
		j := 0
		for x := range holders {
			if holders[x] < holders[j] {
				j = x
			}
		}
		r := st.part(c.item, j)
		need := st.idx.rangeBytes(c.item, r)
		if need > st.led.cacheSpare(i, b.FreeCache) {
			continue
		}
		st.scr.placing = !seed
		if !st.plan(request{box: i, item: c.item, rank: -1, rng: r, seed: seed}) {
			failed++
			continue
		}
		failed = 0
		st.led.cacheUsed[i] += need
		st.led.rangePlaced[itemAt(c.item, i)] = true
		holders[j]++
		total++
		placed++
	}
}

// idleFor counts, up to max, the boxes of idle that could take a range placement of item it.
func (st *State) idleFor(it itemIdx, idle []boxIdx, max int) int {
	n := 0
	for _, i := range idle {
		if n >= max {
			break
		}
		b := &st.idx.boxes[i]
		if _, held := b.held[it]; held || st.led.boxes[i].relay[it] != 0 || st.led.rangePlaced[itemAt(it, i)] || slices.Contains(b.wish, it) {
			continue
		}
		if st.idx.rangeBytes(it, st.part(it, 0)) <= st.led.cacheSpare(i, b.FreeCache) {
			n++
		}
	}
	return n
}

// rangesCovered says every canonical range of the item has an online holder in the region.
func (st *State) rangesCovered(it itemIdx, region regionIdx) bool {
	k := st.parts(it)
	if k < 2 {
		return false
	}
	for j := range k {
		r := st.part(it, j)
		if !slices.ContainsFunc(st.idx.rangeHold[rangeOf(it, region, r)], func(b boxIdx) bool {
			return !st.idx.boxes[b].Offline && rangeFull(st.idx.boxes[b].held[it])
		}) {
			return false
		}
	}
	return true
}

// sharedRange is box i's part of the server's shared copy of item it into its region: with the
// sharers in box order (stable from sync to sync: a box's range moves only when sharers come or
// go), the j-th of n takes the j-th n-th of the pieces. Nil while it is the only one.
func (st *State) sharedRange(i boxIdx, it itemIdx) []PieceRange {
	list := st.led.shared[itemIn(it, st.idx.boxes[i].region)]
	if len(list) < 2 {
		return nil
	}
	order := slices.Clone(list)
	slices.SortFunc(order, func(a, b boxIdx) int { return cmpID(st.idx.boxes[a].ID, st.idx.boxes[b].ID) })
	j := slices.Index(order, i)
	if j < 0 {
		return nil
	}
	n := st.idx.items[it].pieces
	r := PieceRange{Begin: n * j / len(order), End: n * (j + 1) / len(order)}
	if r.Len() == 0 {
		return nil
	}
	return []PieceRange{r}
}

// importShares adds to a sharer's sources the sharers of other LANs whose shares it brings
// into its LAN: the LAN's sharers take the other LANs' shares in turn, so each share crosses
// into a LAN once and moves on inside it (SCHED-3); a box on no LAN takes every share itself.
func (st *State) importShares(i boxIdx, it itemIdx, limit int64, chosen []srcRec, rate int64) ([]srcRec, int64) {
	b := &st.idx.boxes[i]
	var mine, foreign []boxIdx
	if b.lan >= 0 {
		mine = append(mine, i)
	}
	for _, x := range st.led.shared[itemIn(it, b.region)] {
		switch {
		case x == i:
		case b.lan >= 0 && st.idx.boxes[x].lan == b.lan:
			mine = append(mine, x)
		default:
			foreign = append(foreign, x)
		}
	}
	byID := func(a, b boxIdx) int { return cmpID(st.idx.boxes[a].ID, st.idx.boxes[b].ID) }
	slices.SortFunc(mine, byID)
	slices.SortFunc(foreign, byID)
	per := max(st.cfg.MinRate, limit/int64(len(foreign)+1))
	for j, x := range foreign {
		if len(mine) > 0 && mine[j%len(mine)] != i {
			continue
		}
		if rate+st.cfg.MinRate > limit {
			break
		}
		c, ok := st.usable(x, i, it)
		if !ok || st.scr.seen(x) {
			continue
		}
		a := min(c.rate, per, limit-rate, st.shareRate(x, itemIn(it, b.region)))
		chosen = append(chosen, srcRec{box: x, rate: a, relay: true, share: true})
		rate += a
	}
	return chosen, rate
}

// shareRate is the most a sharer's source sends to one sharer of the copy k: an even part of
// its uplink, since each sharer of the copy serves every other.
func (st *State) shareRate(src boxIdx, k itemRegion) int64 {
	return max(st.cfg.MinRate, st.idx.boxes[src].up/int64(max(1, len(st.led.shared[k]))))
}
