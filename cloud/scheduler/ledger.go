package scheduler

import (
	"slices"
	"time"
)

// boxLoad is what the round has booked on one box: upload and download taken, the fetches it
// receives, the uploads it serves, what it evicts, and which items are in flight there.
type boxLoad struct {
	upUsed, downUsed int64
	fetches          []fetchRec
	evict            []itemIdx
	uploads          []upRec
	// relay[item] marks an item in flight here: relayUnfed (partial pieces, no planned source
	// yet) or relayFed (planned from the server, a complete holder or a fed relay).
	relay map[itemIdx]uint8
}

const (
	relayUnfed = 1
	relayFed   = 2
)

type fetchRec struct {
	item       itemIdx
	srcs       []srcRec
	server     bool
	serverRate int64
	start      time.Time
	cache      bool
	bytes      int64
	rank       int
	rng        PieceRange // a range placement's pieces; empty = the whole item
	// share: the server's copy of a whole item into the region is split among its receivers
	// (ledger.shared), this box taking one range; charged is what the server's slot was charged.
	share   bool
	charged int64
}

type srcRec struct {
	box   boxIdx
	rate  int64
	relay bool
	rng   PieceRange // the range a range holder serves; empty = any piece
	share bool       // a sharer of the server's copy in another LAN: it serves its share only
}

type upRec struct {
	item itemIdx
	to   boxIdx
}

// ledger is the capacity a round consumes as it plans, and the bookings that consume it: every
// box's upload and download (boxLoad), its cache space, the server's budget per slot, the items
// in flight per region, the server's copies being seeded or shared, and the scan cursors past
// holders whose upload is spent. Round clears it; release gives a box's bookings back.
type ledger struct {
	boxes     []boxLoad
	slots     []Slot
	slotUsed  []int64
	cacheUsed map[boxIdx]int64        // cache bytes placed per box in this round
	relays    map[itemRegion][]boxIdx // boxes with an item in flight, per (item, region)
	relaysAll map[itemIdx][]boxIdx    // the same per item, every region
	// rangePlaced marks (item, box) range placements planned in this round.
	rangePlaced map[itemBox]bool
	// seeded marks (item, region) pairs whose copy the server is sending as ranges this round.
	seeded map[itemRegion]bool
	// shared lists, per (item, region), the boxes the server is sending its one copy of a whole
	// item to now, in planning order: each takes a range of it (sharedRange) and the rest from
	// the others, so the copy enters the region at the server's rate and every receiver's
	// uplink has pieces nobody else has yet.
	shared  map[itemRegion][]boxIdx
	cursor  map[listKey]int  // first index worth scanning in a list during a full round
	rcursor map[rangeKey]int // the same for range holder lists
}

func newLedger(slots []Slot) ledger {
	return ledger{
		slots: slices.Clone(slots), slotUsed: make([]int64, len(slots)),
		cacheUsed: map[boxIdx]int64{}, relays: map[itemRegion][]boxIdx{}, relaysAll: map[itemIdx][]boxIdx{},
		rangePlaced: map[itemBox]bool{}, seeded: map[itemRegion]bool{}, shared: map[itemRegion][]boxIdx{},
		cursor: map[listKey]int{}, rcursor: map[rangeKey]int{},
	}
}

// reset clears every booking for a new round.
func (l *ledger) reset() {
	for i := range l.boxes {
		b := &l.boxes[i]
		b.upUsed, b.downUsed = 0, 0
		b.fetches, b.evict, b.uploads = nil, nil, nil
		b.relay = nil
	}
	clear(l.relays)
	clear(l.relaysAll)
	clear(l.cursor)
	clear(l.rcursor)
	clear(l.cacheUsed)
	clear(l.rangePlaced)
	clear(l.seeded)
	clear(l.shared)
	clear(l.slotUsed)
}

// upSpare is the upload box b has left of its uplink up.
func (l *ledger) upSpare(b boxIdx, up int64) int64 { return up - l.boxes[b].upUsed }

// downSpare is the download box b has left of its downlink down.
func (l *ledger) downSpare(b boxIdx, down int64) int64 { return down - l.boxes[b].downUsed }

// cacheSpare is the cache space box b has left of free in this round.
func (l *ledger) cacheSpare(b boxIdx, free int64) int64 { return free - l.cacheUsed[b] }

// reserve books fetch f into box to: its sources' upload, its download (peers and server), and
// the fetch itself.
func (l *ledger) reserve(to boxIdx, f fetchRec, peerRate int64) {
	l.boxes[to].downUsed += peerRate + f.serverRate
	for _, c := range f.srcs {
		s := &l.boxes[c.box]
		s.upUsed += c.rate
		s.uploads = append(s.uploads, upRec{item: f.item, to: to})
	}
	l.boxes[to].fetches = append(l.boxes[to].fetches, f)
}

// release gives back every booking of box i (in region): its sources get their upload back,
// the server its budget and its share of a copy, and it stops being a relay.
func (l *ledger) release(i boxIdx, region regionIdx) {
	b := &l.boxes[i]
	for _, f := range b.fetches {
		for _, c := range f.srcs {
			s := &l.boxes[c.box]
			s.upUsed -= c.rate
			s.uploads = slices.DeleteFunc(s.uploads, func(u upRec) bool { return u.to == i && u.item == f.item })
		}
		if f.server {
			l.unchargeSlot(f.start, f.charged)
		}
		if f.share {
			k := itemIn(f.item, region)
			l.shared[k] = slices.DeleteFunc(l.shared[k], func(x boxIdx) bool { return x == i })
		}
	}
	b.fetches, b.evict, b.downUsed = nil, nil, 0
	for it := range b.relay {
		l.unlistRelay(i, region, it)
	}
	b.relay = nil
}

// dropUploads removes src's uploads of item to box to.
func (l *ledger) dropUploads(src, to boxIdx, item itemIdx) {
	s := &l.boxes[src]
	s.uploads = slices.DeleteFunc(s.uploads, func(u upRec) bool { return u.to == to && u.item == item })
}

// markRelay marks item it in flight at box b, in region, at least at level.
func (l *ledger) markRelay(b boxIdx, region regionIdx, it itemIdx, level uint8) {
	bl := &l.boxes[b]
	if bl.relay == nil {
		bl.relay = map[itemIdx]uint8{}
	}
	old := bl.relay[it]
	if old == 0 {
		k := itemIn(it, region)
		l.relays[k] = append(l.relays[k], b)
		l.relaysAll[it] = append(l.relaysAll[it], b)
	}
	bl.relay[it] = max(old, level)
}

// unlistRelay takes box b off the relay lists of item it.
func (l *ledger) unlistRelay(b boxIdx, region regionIdx, it itemIdx) {
	k := itemIn(it, region)
	l.relays[k] = slices.DeleteFunc(l.relays[k], func(x boxIdx) bool { return x == b })
	l.relaysAll[it] = slices.DeleteFunc(l.relaysAll[it], func(x boxIdx) bool { return x == b })
}

// serverSlot finds when the server may send bytes (SCHED-11): a top wish now, anything else in the
// first off-peak slot with budget left, and charges that slot. No calendar means now, without a
// budget.
func (l *ledger) serverSlot(now time.Time, bytes int64, top bool) (time.Time, bool) {
	if len(l.slots) == 0 {
		return now, true
	}
	for i, sl := range l.slots {
		if !sl.End.After(now) {
			continue
		}
		if top {
			if !sl.Start.After(now) {
				l.slotUsed[i] += bytes
			}
			return now, true
		}
		if sl.Peak || sl.Budget-l.slotUsed[i] < bytes {
			continue
		}
		l.slotUsed[i] += bytes
		if sl.Start.After(now) {
			return sl.Start, true
		}
		return now, true
	}
	if top {
		return now, true
	}
	return time.Time{}, false
}

// unchargeSlot gives bytes back to the budget of the slot that holds start.
func (l *ledger) unchargeSlot(start time.Time, bytes int64) {
	for j, sl := range l.slots {
		if !start.Before(sl.Start) && start.Before(sl.End) {
			l.slotUsed[j] -= bytes
		}
	}
}
