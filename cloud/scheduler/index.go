package scheduler

import (
	"cmp"
	"slices"
	"time"

	"swarmbox/media"
)

type itemInfo struct {
	id     media.ItemID
	size   int64
	pieces int
}

// boxInfo is what the index knows of a box: its report, where it is and what it holds and
// wishes. What the round books on it is the ledger's (boxLoad).
type boxInfo struct {
	Box
	region           regionIdx
	net              netIdx
	lan              lanIdx // noLAN = none
	up, down         int64
	served, uploaded int64 // LastServed, LastUploaded in Unix nanoseconds (0 = never)
	held             map[itemIdx]Holding
	wish             []itemIdx
	// ranged says the box is listed in index.ranged: it reported a range placement.
	ranged bool
}

// index is a round's lookups, built from the snapshot: items and boxes by number, where each box
// is, who holds what complete or by range, measured rates, the server's current receivers and
// the forecast. Planning reads it; only a box's sync (Update) changes it, for that box.
type index struct {
	items   []itemInfo
	itemOf  map[media.ItemID]itemIdx
	boxes   []boxInfo
	boxOf   map[media.BoxID]boxIdx
	regions map[string]regionIdx
	nets    map[[2]string]netIdx
	lans    map[string]lanIdx
	lanBox  [][]boxIdx
	// Complete holders per item, per (item, network) and per (item, region), best first.
	holdAll    [][]boxIdx
	holdNet    map[itemNet][]boxIdx
	holdRegion map[itemRegion][]boxIdx
	// Range holders per (item, region, first piece of the range): boxes holding a whole range.
	rangeHold map[rangeKey][]boxIdx
	rangeIn   map[itemRegion]int          // range holders listed per (item, region): none means no lookups
	ranged    []boxIdx                    // boxes that reported a range placement
	measured  map[boxIdx]map[boxIdx]int64 // to → from → bytes/s
	serving   map[itemIdx]map[boxIdx]bool // item → boxes the server was sending to
	forecast  map[itemRegion]float64      // (item, region) → predicted extra wishes
}

func newIndex(nItems, nBoxes int) index {
	return index{
		itemOf: make(map[media.ItemID]itemIdx, nItems), boxOf: make(map[media.BoxID]boxIdx, nBoxes),
		regions: map[string]regionIdx{}, nets: map[[2]string]netIdx{}, lans: make(map[string]lanIdx, nBoxes),
		holdNet: map[itemNet][]boxIdx{}, holdRegion: map[itemRegion][]boxIdx{},
		rangeHold: map[rangeKey][]boxIdx{}, rangeIn: map[itemRegion]int{},
		measured: map[boxIdx]map[boxIdx]int64{}, serving: map[itemIdx]map[boxIdx]bool{},
		forecast: map[itemRegion]float64{},
	}
}

// build indexes the snapshot's items, boxes, rates, server receivers and forecast. Boxes are
// added through addBox, which the State wraps to grow its ledger and scratch alongside.
func (ix *index) build(s Snapshot, addBox func(Box)) {
	ids := make([]media.ItemID, 0, len(s.Items))
	for id := range s.Items {
		ids = append(ids, id)
	}
	sortIDs(ids)
	for _, id := range ids {
		it := s.Items[id]
		ix.itemOf[id] = itemIdx(len(ix.items))
		ix.items = append(ix.items, itemInfo{id: id, size: it.Size, pieces: it.Pieces})
	}
	ix.holdAll = make([][]boxIdx, len(ix.items))
	ix.boxes = make([]boxInfo, 0, len(s.Boxes)) // boxInfo is large: no regrowth copies
	order := make([]int32, len(s.Boxes))        // sorted by id: Box is large, so sort indexes
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmpID(s.Boxes[a].ID, s.Boxes[b].ID) })
	for _, i := range order {
		addBox(s.Boxes[i])
	}
	for _, r := range s.Rates {
		from, to := ix.boxOf[r.From], ix.boxOf[r.To]
		if ix.measured[to] == nil {
			ix.measured[to] = map[boxIdx]int64{}
		}
		ix.measured[to][from] = r.BytesPerSecond
	}
	for id, bs := range s.Serving {
		it := ix.itemOf[id]
		ix.serving[it] = map[boxIdx]bool{}
		for _, b := range bs {
			ix.serving[it][ix.boxOf[b]] = true
		}
	}
	for region, f := range s.Forecast {
		r, ok := ix.regions[region]
		if !ok {
			continue
		}
		for id, v := range f {
			ix.forecast[itemIn(ix.itemOf[id], r)] = v
		}
	}
	for _, list := range ix.holdAll {
		ix.sortHolders(list)
	}
	for _, list := range ix.holdNet {
		ix.sortHolders(list)
	}
	for _, list := range ix.holdRegion {
		ix.sortHolders(list)
	}
}

func intern[T ~int32](m map[string]T, k string) T {
	if v, ok := m[k]; ok {
		return v
	}
	v := T(len(m))
	m[k] = v
	return v
}

// addBox numbers a new box and places it; setBox then lists its holdings.
func (ix *index) addBox(b Box) boxIdx {
	i := boxIdx(len(ix.boxes))
	ix.boxOf[b.ID] = i
	ix.boxes = append(ix.boxes, boxInfo{})
	ix.place(i, b)
	return i
}

// place sets box i's region, network and LAN, and lists it among its LAN's boxes.
func (ix *index) place(i boxIdx, b Box) {
	bi := &ix.boxes[i]
	bi.region, bi.lan = intern(ix.regions, b.Region), noLAN
	if v, ok := ix.nets[[2]string{b.Region, b.Network}]; ok {
		bi.net = v
	} else {
		bi.net = netIdx(len(ix.nets))
		ix.nets[[2]string{b.Region, b.Network}] = bi.net
	}
	if b.LAN != "" {
		bi.lan = intern(ix.lans, b.LAN)
		for int(bi.lan) >= len(ix.lanBox) {
			ix.lanBox = append(ix.lanBox, nil)
		}
		ix.lanBox[bi.lan] = append(ix.lanBox[bi.lan], i)
	}
}

// move takes box i out of the lists of its old region, network and LAN and puts it in the new
// ones; setBox then lists its holdings there afresh.
func (ix *index) move(i boxIdx, b Box) {
	bi := &ix.boxes[i]
	drop := func(list []boxIdx) []boxIdx { return slices.DeleteFunc(list, func(x boxIdx) bool { return x == i }) }
	for it, h := range bi.held {
		if h.Complete {
			ix.holdAll[it] = drop(ix.holdAll[it])
			ix.holdNet[itemOn(it, bi.net)] = drop(ix.holdNet[itemOn(it, bi.net)])
			ix.holdRegion[itemIn(it, bi.region)] = drop(ix.holdRegion[itemIn(it, bi.region)])
		}
		if rangeFull(h) {
			k := rangeOf(it, bi.region, h.Range)
			ix.rangeHold[k] = drop(ix.rangeHold[k])
			ix.rangeIn[itemIn(it, bi.region)]--
		}
	}
	if bi.lan >= 0 {
		ix.lanBox[bi.lan] = drop(ix.lanBox[bi.lan])
	}
	bi.held = nil
	ix.place(i, b)
}

// setBox replaces a box's reported state and lists it as a holder of what it completed.
func (ix *index) setBox(i boxIdx, b Box, cfg *Config) {
	bi := &ix.boxes[i]
	prev := bi.held
	bi.Box = b
	bi.Holdings = nil
	bi.up, bi.down = cmp.Or(b.Uplink, cfg.DefaultUplink), cmp.Or(b.Downlink, cfg.DefaultDownlink)
	bi.served, bi.uploaded = unixNano(b.LastServed), unixNano(b.LastUploaded)
	bi.held = nil // reading a nil map is fine, and many boxes hold nothing
	if len(b.Holdings) > 0 {
		bi.held = make(map[itemIdx]Holding, len(b.Holdings))
	}
	for id, h := range b.Holdings {
		it := ix.itemOf[id]
		if h.Pieces >= ix.items[it].pieces {
			h.Complete = true
		}
		bi.held[it] = h
		if h.Range != (PieceRange{}) && !bi.ranged {
			bi.ranged = true
			ix.ranged = append(ix.ranged, i)
		}
		if rangeFull(h) && !rangeFull(prev[it]) {
			k := rangeOf(it, bi.region, h.Range)
			ix.rangeHold[k] = append(ix.rangeHold[k], i)
			ix.rangeIn[itemIn(it, bi.region)]++
		}
		if h.Complete && !prev[it].Complete {
			ix.holdAll[it] = append(ix.holdAll[it], i)
			k := itemOn(it, bi.net)
			ix.holdNet[k] = append(ix.holdNet[k], i)
			kr := itemIn(it, bi.region)
			ix.holdRegion[kr] = append(ix.holdRegion[kr], i)
		}
	}
	bi.wish = bi.wish[:0]
	for _, id := range b.Wishlist {
		bi.wish = append(bi.wish, ix.itemOf[id])
	}
	bi.Wishlist = nil
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// sortHolders orders a holder list best source first for an unknown receiver: fastest uplink,
// then least recently uploading (SCHED-9), then id.
func (ix *index) sortHolders(list []boxIdx) {
	slices.SortFunc(list, func(a, b boxIdx) int {
		x, y := &ix.boxes[a], &ix.boxes[b]
		return cmp.Or(cmp.Compare(y.up, x.up), cmp.Compare(x.uploaded, y.uploaded), cmpID(x.ID, y.ID))
	})
}

// sameLAN says a and b found each other on one LAN (mDNS): they reach each other directly,
// behind NAT or not.
func sameLAN(a, b *boxInfo) bool { return a.lan >= 0 && a.lan == b.lan }

// apart says neither of a and b can open a connection to the other: both are behind NAT and
// not on one LAN (SCHED-12).
func apart(a, b *boxInfo) bool { return a.NAT && b.NAT && !sameLAN(a, b) }

// tier is the network cost of sending from src to dst.
func tier(src, dst *boxInfo) int {
	switch {
	case sameLAN(src, dst):
		return tierLAN
	case src.net == dst.net:
		return tierNetwork
	case src.region == dst.region:
		return tierRegion
	}
	return tierOther
}

// Source tiers by network cost, cheapest first (SCHED-3); the server comes after all.
const (
	tierLAN = iota
	tierNetwork
	tierRegion
	tierOther
)

// remaining is what a box holding h still lacks of item it.
func (ix *index) remaining(it itemIdx, h Holding) int64 {
	in := ix.items[it]
	if h.Complete || in.pieces == 0 {
		return 0
	}
	return in.size - in.size*int64(h.Pieces)/int64(in.pieces)
}

// remainingHeld is the bytes a box holds of an item.
func (ix *index) remainingHeld(b boxIdx, it itemIdx) int64 {
	in := ix.items[it]
	h := ix.boxes[b].held[it]
	if h.Complete || in.pieces == 0 {
		return in.size
	}
	return in.size * int64(h.Pieces) / int64(in.pieces)
}

// rangeBytes is the size of a piece range of item it.
func (ix *index) rangeBytes(it itemIdx, r PieceRange) int64 {
	in := ix.items[it]
	if in.pieces == 0 {
		return 0
	}
	return in.size*int64(r.End)/int64(in.pieces) - in.size*int64(r.Begin)/int64(in.pieces)
}

// rangeRemaining is what a box still lacks of range r, given its holding.
func (ix *index) rangeRemaining(it itemIdx, h Holding, r PieceRange) int64 {
	total := ix.rangeBytes(it, r)
	if h.Complete {
		return 0
	}
	if h.Range == r && r.Len() > 0 {
		return total - total*int64(h.Pieces)/int64(r.Len())
	}
	return total
}

// regionHasComplete says an online box of dst's region other than dst, one dst can reach,
// holds the item complete.
func (ix *index) regionHasComplete(dst boxIdx, it itemIdx) bool {
	for _, h := range ix.holdRegion[itemIn(it, ix.boxes[dst].region)] {
		if h != dst && !ix.boxes[h].Offline && ix.boxes[h].held[it].Complete && !apart(&ix.boxes[h], &ix.boxes[dst]) {
			return true
		}
	}
	return false
}

func (ix *index) hasCacheItem(i boxIdx) bool {
	for _, h := range ix.boxes[i].held {
		if h.Cache {
			return true
		}
	}
	return false
}
