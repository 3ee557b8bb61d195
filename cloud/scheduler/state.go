package scheduler

import (
	"cmp"
	"slices"
	"time"

	"swarmbox/media"
)

// Source tiers by network cost, cheapest first (c9, c62, c65); the server comes after all.
const (
	tierLAN = iota
	tierNetwork
	tierRegion
	tierOther
)

type itemInfo struct {
	id     media.ItemID
	size   int64
	pieces int
}

type boxInfo struct {
	Box
	region, net, lan int32 // lan -1 = none
	up, down         int64
	upUsed, downUsed int64
	served, uploaded int64 // LastServed, LastUploaded in Unix nanoseconds (0 = never)
	held             map[int32]Holding
	wish             []int32
	fetches          []fetchRec
	evict            []int32
	uploads          []upRec
	// relay[item] marks an item in flight here: 1 unfed (partial pieces, no planned source yet),
	// 2 fed (planned from the server, a complete holder or a fed relay).
	relay map[int32]uint8
	// ranged says the box is listed in State.ranged: it reported a range placement.
	ranged bool
}

type fetchRec struct {
	item       int32
	srcs       []srcRec
	server     bool
	serverRate int64
	start      time.Time
	cache      bool
	bytes      int64
	rank       int
	rng        PieceRange // a range placement's pieces; empty = the whole item
	// share: the server's copy of a whole item into the region is split among its receivers
	// (State.shared), this box taking one range; charged is what the server's slot was charged.
	share   bool
	charged int64
}

type srcRec struct {
	box   int32
	rate  int64
	relay bool
	rng   PieceRange // the range a range holder serves; empty = any piece
	share bool       // a sharer of the server's copy in another LAN: it serves its share only
}

type upRec struct{ item, to int32 }

const (
	relayUnfed = 1
	relayFed   = 2
)

// State is a planning round's bookkeeping: indexes of who holds what, spare link capacity,
// the server's budget per slot and every box's planned fetches. Compute builds one and plans the
// whole round; Update re-plans a single box against it, which is what a box's sync costs.
type State struct {
	cfg     Config
	now     time.Time
	items   []itemInfo
	itemIdx map[media.ItemID]int32
	boxes   []boxInfo
	boxIdx  map[media.BoxID]int32
	regions map[string]int32
	nets    map[[2]string]int32
	lans    map[string]int32
	lanBox  [][]int32
	// Complete holders per item, per (item, network) and per (item, region), best first.
	holdAll    [][]int32
	holdNet    map[uint64][]int32
	holdRegion map[uint64][]int32
	relays     map[uint64][]int32 // boxes with an item in flight, per (item, region)
	relaysAll  map[int32][]int32  // the same per item, every region
	// Range holders per (item, region, first piece of the range): boxes holding a whole range.
	rangeHold map[[3]int32][]int32
	rangeIn   map[uint64]int // range holders listed per (item, region): none means no lookups
	rcursor   map[[3]int32]int
	cacheUsed map[int32]int64 // cache bytes placed per box in this round
	// rangePlaced marks (item, box) range placements planned in this round.
	rangePlaced map[uint64]bool
	ranged      []int32 // boxes that reported a range placement
	// seeded marks (item, region) pairs whose copy the server is sending as ranges this round.
	seeded map[uint64]bool
	// shared lists, per (item, region), the boxes the server is sending its one copy of a whole
	// item to now, in planning order: each takes a range of it (sharedRange) and the rest from
	// the others, so the copy enters the region at the server's rate and every receiver's
	// uplink has pieces nobody else has yet.
	shared map[uint64][]int32
	// placing: range placements from peers may use only half of a source's uplink, so the
	// wishes they will serve are never starved by them.
	placing  bool
	want     PieceRange // the range the request being planned asks for
	candBuf  []cand
	cursor   map[uint64]int // first index worth scanning in a list during a full round
	inRound  bool
	measured map[int32]map[int32]int64 // to → from → bytes/s
	slots    []Slot
	slotUsed []int64
	serving  map[int32]map[int32]bool // item → boxes the server was sending to
	forecast map[uint64]float64       // (item, region) → predicted extra wishes
	mark     []uint32                 // mark[box] == stamp: already considered for the current request
	stamp    uint32
	// Planned counts the requests the planner has considered since the State was made; a box's
	// Update adds only that box's.
	Planned int
}

// seen marks box b as considered for the current request and says whether it already was.
func (st *State) seen(b int32) bool {
	if st.mark[b] == st.stamp {
		return true
	}
	st.mark[b] = st.stamp
	return false
}

func key(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// Compute validates a snapshot and plans the whole round.
func Compute(s Snapshot) (Plan, error) {
	st, err := NewState(s)
	if err != nil {
		return Plan{}, err
	}
	st.Round()
	return st.Plan(), nil
}

// NewState validates a snapshot and indexes it without planning.
func NewState(s Snapshot) (*State, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	st := &State{
		cfg: s.Config.withDefaults(), now: s.Now,
		itemIdx: make(map[media.ItemID]int32, len(s.Items)), boxIdx: make(map[media.BoxID]int32, len(s.Boxes)),
		regions: map[string]int32{}, nets: map[[2]string]int32{}, lans: make(map[string]int32, len(s.Boxes)),
		holdNet: map[uint64][]int32{}, holdRegion: map[uint64][]int32{}, relays: map[uint64][]int32{}, relaysAll: map[int32][]int32{},
		cursor: map[uint64]int{}, rangeHold: map[[3]int32][]int32{}, rangeIn: map[uint64]int{}, rcursor: map[[3]int32]int{}, cacheUsed: map[int32]int64{}, rangePlaced: map[uint64]bool{}, seeded: map[uint64]bool{}, shared: map[uint64][]int32{}, measured: map[int32]map[int32]int64{}, serving: map[int32]map[int32]bool{},
		forecast: map[uint64]float64{}, slots: slices.Clone(s.Slots), slotUsed: make([]int64, len(s.Slots)),
	}
	ids := make([]media.ItemID, 0, len(s.Items))
	for id := range s.Items {
		ids = append(ids, id)
	}
	sortIDs(ids)
	for _, id := range ids {
		it := s.Items[id]
		st.itemIdx[id] = int32(len(st.items))
		st.items = append(st.items, itemInfo{id: id, size: it.Size, pieces: it.Pieces})
	}
	st.holdAll = make([][]int32, len(st.items))
	st.boxes = make([]boxInfo, 0, len(s.Boxes)) // boxInfo is large: no regrowth copies
	order := make([]int32, len(s.Boxes))        // sorted by id: Box is large, so sort indexes
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmpID(s.Boxes[a].ID, s.Boxes[b].ID) })
	for _, i := range order {
		st.addBox(s.Boxes[i])
	}
	for _, r := range s.Rates {
		from, to := st.boxIdx[r.From], st.boxIdx[r.To]
		if st.measured[to] == nil {
			st.measured[to] = map[int32]int64{}
		}
		st.measured[to][from] = r.BytesPerSecond
	}
	for id, bs := range s.Serving {
		it := st.itemIdx[id]
		st.serving[it] = map[int32]bool{}
		for _, b := range bs {
			st.serving[it][st.boxIdx[b]] = true
		}
	}
	for region, f := range s.Forecast {
		r, ok := st.regions[region]
		if !ok {
			continue
		}
		for id, v := range f {
			st.forecast[key(st.itemIdx[id], r)] = v
		}
	}
	for _, list := range st.holdAll {
		st.sortHolders(list)
	}
	for _, list := range st.holdNet {
		st.sortHolders(list)
	}
	for _, list := range st.holdRegion {
		st.sortHolders(list)
	}
	return st, nil
}

func (st *State) intern(m map[string]int32, k string) int32 {
	if v, ok := m[k]; ok {
		return v
	}
	v := int32(len(m))
	m[k] = v
	return v
}

// addBox indexes a new box (its holder lists are sorted by the caller, or appended to).
func (st *State) addBox(b Box) int32 {
	i := int32(len(st.boxes))
	st.boxIdx[b.ID] = i
	st.boxes = append(st.boxes, boxInfo{})
	st.place(i, b)
	st.mark = append(st.mark, 0)
	st.setBox(i, b)
	return i
}

// place sets box i's region, network and LAN, and lists it among its LAN's boxes.
func (st *State) place(i int32, b Box) {
	bi := &st.boxes[i]
	bi.region, bi.lan = st.intern(st.regions, b.Region), -1
	if v, ok := st.nets[[2]string{b.Region, b.Network}]; ok {
		bi.net = v
	} else {
		bi.net = int32(len(st.nets))
		st.nets[[2]string{b.Region, b.Network}] = bi.net
	}
	if b.LAN != "" {
		bi.lan = st.intern(st.lans, b.LAN)
		for int(bi.lan) >= len(st.lanBox) {
			st.lanBox = append(st.lanBox, nil)
		}
		st.lanBox[bi.lan] = append(st.lanBox[bi.lan], i)
	}
}

// move takes box i out of the lists of its old region, network and LAN and puts it in the new
// ones; setBox then lists its holdings there afresh.
func (st *State) move(i int32, b Box) {
	bi := &st.boxes[i]
	drop := func(list []int32) []int32 { return slices.DeleteFunc(list, func(x int32) bool { return x == i }) }
	for it, h := range bi.held {
		if h.Complete {
			st.holdAll[it] = drop(st.holdAll[it])
			st.holdNet[key(it, bi.net)] = drop(st.holdNet[key(it, bi.net)])
			st.holdRegion[key(it, bi.region)] = drop(st.holdRegion[key(it, bi.region)])
		}
		if rangeFull(h) {
			k := [3]int32{it, bi.region, int32(h.Range.Begin)}
			st.rangeHold[k] = drop(st.rangeHold[k])
			st.rangeIn[key(it, bi.region)]--
		}
	}
	if bi.lan >= 0 {
		st.lanBox[bi.lan] = drop(st.lanBox[bi.lan])
	}
	bi.held = nil
	st.place(i, b)
}

// setBox replaces a box's reported state and lists it as a holder of what it completed.
func (st *State) setBox(i int32, b Box) {
	bi := &st.boxes[i]
	prev := bi.held
	bi.Box = b
	bi.Holdings = nil
	bi.up, bi.down = cmp.Or(b.Uplink, st.cfg.DefaultUplink), cmp.Or(b.Downlink, st.cfg.DefaultDownlink)
	bi.served, bi.uploaded = unixNano(b.LastServed), unixNano(b.LastUploaded)
	bi.held = nil // reading a nil map is fine, and many boxes hold nothing
	if len(b.Holdings) > 0 {
		bi.held = make(map[int32]Holding, len(b.Holdings))
	}
	for id, h := range b.Holdings {
		it := st.itemIdx[id]
		if h.Pieces >= st.items[it].pieces {
			h.Complete = true
		}
		bi.held[it] = h
		if h.Range != (PieceRange{}) && !bi.ranged {
			bi.ranged = true
			st.ranged = append(st.ranged, i)
		}
		if rangeFull(h) && !rangeFull(prev[it]) {
			k := [3]int32{it, bi.region, int32(h.Range.Begin)}
			st.rangeHold[k] = append(st.rangeHold[k], i)
			st.rangeIn[key(it, bi.region)]++
		}
		if h.Complete && !prev[it].Complete {
			st.holdAll[it] = append(st.holdAll[it], i)
			k := key(it, bi.net)
			st.holdNet[k] = append(st.holdNet[k], i)
			k = key(it, bi.region)
			st.holdRegion[k] = append(st.holdRegion[k], i)
		}
	}
	bi.wish = bi.wish[:0]
	for _, id := range b.Wishlist {
		bi.wish = append(bi.wish, st.itemIdx[id])
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
// then least recently uploading (c66), then id.
func (st *State) sortHolders(list []int32) {
	slices.SortFunc(list, func(a, b int32) int {
		x, y := &st.boxes[a], &st.boxes[b]
		return cmp.Or(cmp.Compare(y.up, x.up), cmp.Compare(x.uploaded, y.uploaded), cmpID(x.ID, y.ID))
	})
}

// request is one need to plan: a box and an item.
type request struct {
	box     int32
	item    int32
	rank    int
	serving bool
	served  int64
	rng     PieceRange // a range placement's pieces
	seed    bool       // a range placement the server sends: the region's one copy of a crowd's item
}

// Round plans every box from scratch.
func (st *State) Round() {
	for i := range st.boxes {
		b := &st.boxes[i]
		b.upUsed, b.downUsed = 0, 0
		b.fetches, b.evict, b.uploads = nil, nil, nil
		b.relay = nil
	}
	clear(st.relays)
	clear(st.relaysAll)
	clear(st.cursor)
	clear(st.rcursor)
	clear(st.cacheUsed)
	clear(st.rangePlaced)
	clear(st.seeded)
	clear(st.shared)
	clear(st.slotUsed)
	var reqs []request
	for i := range st.boxes {
		reqs = st.needs(int32(i), reqs)
	}
	// Continuing server transfers first, so their boxes become fed relays before anyone asks
	// whether the region has the item; then by priority (c59), least recently served first
	// (c58).
	slices.SortFunc(reqs, func(a, b request) int {
		return cmp.Or(-cmpBool(a.serving, b.serving), cmp.Compare(a.rank, b.rank), cmp.Compare(a.served, b.served), cmpID(st.boxes[a.box].ID, st.boxes[b.box].ID))
	})
	st.inRound = true
	// Boxes the server keeps sending to, then range placements for flash crowds (each pays back
	// many times over, so it goes before the wishes it serves), then the wishes.
	n := 0
	for n < len(reqs) && reqs[n].serving {
		st.plan(reqs[n])
		n++
	}
	st.placeRanges(reqs)
	for _, r := range reqs[n:] {
		st.plan(r)
	}
	st.placeCache()
	st.inRound = false
}

// needs appends a box's requests: its wishes it does not hold complete (c54), in priority order,
// as many as fit its free wishlist space (c12), at most MaxFetches. Partial holders of a wished
// item are marked as unfed relays: they hold pieces others can use.
func (st *State) needs(i int32, reqs []request) []request {
	b := &st.boxes[i]
	if b.Offline {
		return reqs
	}
	free := b.FreeWish
	rank := 0
	for _, it := range b.wish {
		h := b.held[it]
		if h.Complete {
			continue
		}
		r := rank
		rank++
		if rank > st.cfg.MaxFetches {
			break
		}
		need := st.remaining(it, h)
		if need > free {
			continue
		}
		free -= need
		if h.Pieces > 0 {
			st.markRelay(i, it, relayUnfed)
		}
		// The server keeps sending a wish it was sending, not one whose range it was placing.
		serving := st.serving[it][i] && h.Range == (PieceRange{})
		reqs = append(reqs, request{box: i, item: it, rank: r, serving: serving, served: b.served})
	}
	return reqs
}

func (st *State) remaining(it int32, h Holding) int64 {
	in := st.items[it]
	if h.Complete || in.pieces == 0 {
		return 0
	}
	return in.size - in.size*int64(h.Pieces)/int64(in.pieces)
}

func (st *State) markRelay(b, it int32, level uint8) {
	bi := &st.boxes[b]
	if bi.relay == nil {
		bi.relay = map[int32]uint8{}
	}
	old := bi.relay[it]
	if old == 0 {
		k := key(it, bi.region)
		st.relays[k] = append(st.relays[k], b)
		st.relaysAll[it] = append(st.relaysAll[it], b)
	}
	bi.relay[it] = max(old, level)
}

func (st *State) tier(src, dst *boxInfo) int {
	switch {
	case dst.lan >= 0 && src.lan == dst.lan:
		return tierLAN
	case src.net == dst.net:
		return tierNetwork
	case src.region == dst.region:
		return tierRegion
	}
	return tierOther
}

type cand struct {
	box   int32
	rate  int64
	relay bool
	fed   bool
	rng   PieceRange
}

// usable says whether src may send item it to dst now, and how fast at most.
func (st *State) usable(src, dst int32, it int32) (cand, bool) {
	if src == dst {
		return cand{}, false
	}
	s, d := &st.boxes[src], &st.boxes[dst]
	if s.Offline || (s.NAT && d.NAT) { // two NATed boxes cannot reach each other (c71)
		return cand{}, false
	}
	spare := s.up - s.upUsed
	if st.placing {
		spare = s.up/2 - s.upUsed
	}
	if spare < st.cfg.MinRate {
		return cand{}, false
	}
	c := cand{box: src}
	h := s.held[it]
	switch {
	case h.Complete:
		c.fed = true
	case rangeFull(h) && (st.want == PieceRange{} || h.Range.contains(st.want)):
		// A range holder serves its range (or the part of it a range placement asks for).
		c.fed, c.rng = true, h.Range
		if st.want != (PieceRange{}) {
			c.rng = st.want
		}
	case s.relay[it] != 0:
		c.relay, c.fed = true, s.relay[it] == relayFed
	default:
		return cand{}, false
	}
	// Measured throughput beats the caps when the receiver has reported it (c60, c61).
	est := min(s.up, d.down)
	if m, ok := st.measured[dst][src]; ok && m > 0 {
		est = m
	}
	c.rate = min(est, spare)
	return c, true
}

// gather collects up to limit usable candidates from a holder list, skipping ones already
// chosen. In a full round it starts past the list's exhausted head.
func (st *State) gather(list []int32, k uint64, dst, it int32, want int, out []cand) []cand {
	if !st.inRound || k == 0 {
		return st.gatherFrom(list, nil, dst, it, want, out)
	}
	start := st.cursor[k]
	out = st.gatherFrom(list, &start, dst, it, want, out)
	st.cursor[k] = start
	return out
}

// gatherFrom is gather with the list's cursor in start (nil: scan from the head).
func (st *State) gatherFrom(list []int32, start *int, dst, it int32, want int, out []cand) []cand {
	j0 := 0
	if start != nil {
		j0 = *start
	}
	n := 0
	for j := j0; j < len(list) && n < want; j++ {
		src := list[j]
		c, ok := st.usable(src, dst, it)
		if !ok {
			if start != nil && j == *start && st.exhausted(src, it) {
				*start++
			}
			continue
		}
		if st.seen(src) {
			continue
		}
		out = append(out, c)
		n++
	}
	return out
}

// exhausted says src can no longer serve in this round whoever asks: no spare upload, offline,
// or (for relay lists) the item is no longer in flight there.
func (st *State) exhausted(src, it int32) bool {
	s := &st.boxes[src]
	return s.Offline || s.up-s.upUsed < st.cfg.MinRate || (!s.held[it].Complete && !rangeFull(s.held[it]) && s.relay[it] == 0)
}

// candidates returns usable sources of one tier for dst, best first: fastest estimate (c64),
// then least recently uploading (c66), then id.
func (st *State) candidates(dst, it int32, tier int) []cand {
	d := &st.boxes[dst]
	want := 2 * st.cfg.MaxSources
	out := st.candBuf[:0] // reused: callers are done with the previous list
	defer func() { st.candBuf = out[:0] }()
	switch tier {
	case tierLAN:
		if d.lan >= 0 {
			for _, src := range st.lanBox[d.lan] {
				if c, ok := st.usable(src, dst, it); ok && !st.seen(src) {
					out = append(out, c)
				}
			}
		}
	case tierNetwork:
		k := key(it, d.net)
		out = st.gather(st.holdNet[k], k|1<<63, dst, it, want, out)
	case tierRegion:
		k := key(it, d.region)
		out = st.gather(st.holdRegion[k], k|1<<62, dst, it, want, out)
		out = st.rangeCandidates(dst, it, out)
		out = st.gather(st.relays[k], k|3<<61, dst, it, want, out)
	case tierOther:
		// Complete holders elsewhere, then boxes elsewhere already receiving it: following an
		// in-flight copy from another region beats a new copy from the server (c9).
		out = st.gather(st.holdAll[it], uint64(it)|1<<61, dst, it, want, out)
		out = st.gather(st.relaysAll[it], uint64(it)|1<<60, dst, it, want, out)
	}
	// Measured peers of this tier the list scan did not reach.
	for src := range st.measured[dst] {
		if st.mark[src] == st.stamp || st.tier(&st.boxes[src], d) != tier {
			continue
		}
		if c, ok := st.usable(src, dst, it); ok && !st.seen(src) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b cand) int {
		x, y := &st.boxes[a.box], &st.boxes[b.box]
		// Relays last: they pass on only what reached them, holders send pieces the receiver lacks.
		return cmp.Or(cmpBool(a.relay, b.relay), cmp.Compare(b.rate, a.rate), cmp.Compare(x.uploaded, y.uploaded), cmpID(x.ID, y.ID))
	})
	return out
}

// reachesLAN says whether src brings item it into its LAN without dst: src holds it complete,
// or src's fetch of it has the server or a source outside the LAN, or a LAN source (not dst)
// that does. Boxes of a LAN that only feed each other bring nothing in.
func (st *State) reachesLAN(src, dst, it int32, seen map[int32]bool) bool {
	s := &st.boxes[src]
	if s.held[it].Complete {
		return true
	}
	if seen == nil {
		seen = map[int32]bool{}
	}
	seen[src] = true
	for _, f := range s.fetches {
		if f.item != it {
			continue
		}
		if f.server {
			return true
		}
		for _, c := range f.srcs {
			if c.box == dst || seen[c.box] {
				continue
			}
			if st.tier(&st.boxes[c.box], s) != tierLAN || st.reachesLAN(c.box, dst, it, seen) {
				return true
			}
		}
	}
	return false
}

// regionSupplied says whether a box of dst's region other than dst holds the item complete and
// is online, or is receiving it from a fed source, or the region holds (or the server is
// sending it) range by range: then the server need not send it there (c10).
func (st *State) regionSupplied(dst, it int32) bool {
	return st.suppliedIn(st.boxes[dst].region, it, dst)
}

// suppliedIn is regionSupplied for a region, not counting box except (-1: none).
func (st *State) suppliedIn(region, it, dst int32) bool {
	k := key(it, region)
	if st.seeded[k] || st.rangesCovered(it, region) {
		return true
	}
	for _, h := range st.holdRegion[k] {
		if h != dst && !st.boxes[h].Offline && st.boxes[h].held[it].Complete {
			return true
		}
	}
	for _, r := range st.relays[k] {
		if r != dst && st.boxes[r].relay[it] == relayFed {
			return true
		}
	}
	return false
}

// suppliersBusy says no box of dst's region holding the item (complete, or fed and receiving
// it) can deliver bytes to dst within the horizon: each is busy until one of the transfers it
// serves ends, and sends at most its uplink after that. A range seeding counts as supply.
func (st *State) suppliersBusy(dst, it int32, bytes int64) bool {
	d := &st.boxes[dst]
	k := key(it, d.region)
	if st.seeded[k] || st.rangesCovered(it, d.region) {
		return false
	}
	const scan = 64 // holders looked at; lists are sorted by uplink
	best := time.Duration(1<<63 - 1)
	try := func(h int32) {
		s := &st.boxes[h]
		if h == dst || s.Offline || (s.NAT && d.NAT) {
			return
		}
		free, send := st.freeIn(h), eta(bytes, min(s.up, d.down))
		if free < st.cfg.Horizon && send < st.cfg.Horizon { // else never within it (and no overflow)
			best = min(best, free+send)
		}
	}
	for j, h := range st.holdRegion[k] {
		if j == scan {
			break
		}
		if st.boxes[h].held[it].Complete {
			try(h)
		}
	}
	for j, h := range st.relays[k] {
		if j == scan {
			break
		}
		if st.boxes[h].relay[it] == relayFed {
			try(h)
		}
	}
	return best > st.cfg.Horizon
}

// freeIn is how soon box h has upload to spare: now if it has, else when the first transfer it
// serves ends at its planned rate.
func (st *State) freeIn(h int32) time.Duration {
	s := &st.boxes[h]
	if s.up-s.upUsed >= st.cfg.MinRate {
		return 0
	}
	first := time.Duration(1<<63 - 1)
	for _, u := range s.uploads {
		for _, f := range st.boxes[u.to].fetches {
			if f.item != u.item {
				continue
			}
			rate := f.serverRate
			for _, c := range f.srcs {
				rate += c.rate
			}
			first = min(first, eta(f.bytes, rate))
		}
	}
	return first
}

func eta(bytes, rate int64) time.Duration {
	if rate <= 0 {
		return 1<<63 - 1
	}
	return time.Duration(float64(bytes) / float64(rate) * float64(time.Second))
}

// plan plans one request; it returns whether a fetch was planned.
func (st *State) plan(r request) bool {
	st.Planned++
	d := &st.boxes[r.box]
	if d.Offline {
		return false
	}
	it := r.item
	bytes := st.remaining(it, d.held[it])
	if r.rng != (PieceRange{}) {
		bytes = st.rangeRemaining(it, d.held[it], r.rng)
	}
	if bytes == 0 && st.items[it].size > 0 {
		return false
	}
	st.want = r.rng
	defer func() { st.want = PieceRange{} }()
	// With the downlink taken only a later off-peak server transfer is possible.
	spare := d.down - d.downUsed
	// The server is already sending its copy of the item into the region and no box there holds
	// it: this receiver takes a share of that same copy rather than waiting on the first
	// receiver's uplink (see State.shared); it adds no server bytes, only splits them. Peers
	// then get at most half the downlink, the server's share the rest.
	sk := key(it, d.region)
	joining := st.cfg.SharedServerCopy && r.rng == (PieceRange{}) && !r.cache() && len(st.shared[sk]) > 0 &&
		len(st.shared[sk]) < st.parts(it) && !st.regionHasComplete(r.box, it)
	limit := spare
	if joining {
		limit = spare / 2
	}
	st.stamp++ // a new request: nobody is seen yet but the receiver
	st.seen(r.box)
	var chosen []srcRec
	var rate int64
	fed := false
	// Range holders of a whole-item fetch come on top of MaxSources, one per range, each with
	// an equal share of the downlink, so the receiver gets every range at once (c67–c69).
	parts := st.parts(it)
	whole, ranged := 0, 0
	takeFrom := func(list []cand) {
		for _, c := range list {
			if rate+st.cfg.MinRate > limit {
				return
			}
			a := min(c.rate, limit-rate)
			if c.rng != (PieceRange{}) && r.rng == (PieceRange{}) {
				if ranged >= parts {
					continue
				}
				a = min(a, max(st.cfg.MinRate, spare/int64(parts)))
				ranged++
			} else {
				// A range placement takes one source: the range is small, and every holder
				// is better spent starting another placement (the copies double each round).
				if whole >= st.cfg.MaxSources || (r.rng != (PieceRange{}) && whole >= 1) {
					continue
				}
				whole++
			}
			if joining { // every sharer serves every other: no one of them takes a whole uplink
				a = min(a, st.shareRate(c.box, sk))
			}
			chosen = append(chosen, srcRec{box: c.box, rate: a, relay: c.relay, rng: c.rng})
			rate += a
			fed = fed || c.fed
		}
	}
	take := func(tier int) { takeFrom(st.candidates(r.box, it, tier)) }
	horizon := st.cfg.Horizon
	if spare >= st.cfg.MinRate {
		take(tierLAN)
		if joining {
			chosen, rate = st.importShares(r.box, it, limit, chosen, rate)
		}
		// A LAN neighbour holding or receiving the item brings it into the LAN once; the rest
		// moves inside the LAN, so costlier tiers only to finish within the horizon (c9, c11).
		// A sharer of the server's copy has every piece coming: its share from the server, the
		// rest from its LAN and the other LANs' sharers.
		inside := joining || slices.ContainsFunc(chosen, func(c srcRec) bool { return st.reachesLAN(c.box, r.box, it, nil) })
		switch {
		case !inside || (eta(bytes, rate) > horizon && !joining):
			for t := tierNetwork; t <= tierRegion; t++ {
				take(t)
			}
		case st.rangeIn[key(it, d.region)] > 0:
			// Range holders still: each serves a range nobody on the LAN may have yet, and
			// is placed in the region to be used by every receiver of a crowd (ranges.go).
			takeFrom(st.rangeCandidates(r.box, it, st.candBuf[:0]))
		}
	}
	supplied := st.regionSupplied(r.box, it)
	// Another region costs more than this one (c9), so it is used only to finish within the
	// horizon (c11) or to keep the server away (c10).
	if spare >= st.cfg.MinRate && !joining && (!supplied || eta(bytes, rate) > horizon) {
		take(tierOther)
	}
	if supplied && rate == 0 && r.rank == 0 && st.suppliersBusy(r.box, it, bytes) {
		// A top wish, and every box of the region that could send it is booked past the
		// horizon: the region cannot supply it within the horizon (c10, c11).
		supplied = false
	}
	keepServer := r.serving && !st.regionHasComplete(r.box, it)
	server := !r.serving && !supplied && (rate == 0 || eta(bytes, rate) > horizon)
	server = (server || keepServer) && !r.cache()
	if r.rng != (PieceRange{}) && (r.seed || st.serving[it][r.box]) {
		server = true // the region's copy of a crowd's item, sent as ranges (see ranges.go)
	}
	share := st.cfg.SharedServerCopy && r.rng == (PieceRange{}) && !r.cache() && (server || joining)
	server = server || share
	f := fetchRec{item: it, bytes: bytes, rank: r.rank, start: st.now, cache: r.cache(), rng: r.rng}
	if server {
		charge := bytes
		if share {
			charge = bytes / int64(len(st.shared[sk])+1) // its part of the one copy
		}
		// A joiner's copy is already flowing: it needs no off-peak slot of its own (c70).
		start, ok := st.serverSlot(charge, r.rank == 0 || r.rng != (PieceRange{}) || joining)
		f.charged = charge
		switch {
		case ok && start.After(st.now):
			// An off-peak server transfer later; peers found now are not used until then.
			f.server, f.start, chosen, rate = true, start, nil, 0
		case ok && spare >= 2*st.cfg.MinRate:
			// Relays hold only what reached the region, which the server is bringing here:
			// they give way to it, unless they take part in the same copy, each with other
			// pieces of it. Complete holders keep at most half the downlink.
			if !share || len(st.shared[sk]) == 0 {
				chosen = slices.DeleteFunc(chosen, func(c srcRec) bool { return c.relay })
			}
			rate = 0
			for _, c := range chosen {
				rate += c.rate
			}
			for rate > spare/2 {
				last := &chosen[len(chosen)-1]
				if rate-last.rate >= spare/2 || len(chosen) == 1 {
					cut := min(last.rate, rate-spare/2)
					last.rate -= cut
					rate -= cut
				} else {
					rate -= last.rate
					last.rate = 0
				}
				if last.rate < st.cfg.MinRate {
					rate -= last.rate
					chosen = chosen[:len(chosen)-1]
				}
			}
			f.server, f.serverRate, f.share = true, spare-rate, share
		case ok:
			st.unchargeSlot(st.now, charge)
		}
	}
	if len(chosen) == 0 && !f.server {
		return false
	}
	if f.server && r.rng != (PieceRange{}) {
		st.seeded[key(it, d.region)] = true
	}
	if f.serverRate == 0 && r.serving {
		delete(st.serving[it], r.box)
	}
	if f.share {
		st.shared[sk] = append(st.shared[sk], r.box)
	}
	f.srcs = chosen
	d.downUsed += rate + f.serverRate
	for _, c := range chosen {
		s := &st.boxes[c.box]
		s.upUsed += c.rate
		s.uploads = append(s.uploads, upRec{item: it, to: r.box})
	}
	d.fetches = append(d.fetches, f)
	switch {
	case r.rng != (PieceRange{}):
		// A range placement receives one range only: no relay of the whole item.
	case f.server && !f.start.After(st.now), fed:
		st.markRelay(r.box, it, relayFed)
	default:
		st.markRelay(r.box, it, relayUnfed)
	}
	return true
}

func (r request) cache() bool { return r.rank < 0 }

func (st *State) regionHasComplete(dst, it int32) bool {
	for _, h := range st.holdRegion[key(it, st.boxes[dst].region)] {
		if h != dst && !st.boxes[h].Offline && st.boxes[h].held[it].Complete {
			return true
		}
	}
	return false
}

// serverSlot finds when the server may send bytes (c70): a top wish now, anything else in the
// first off-peak slot with budget left. No calendar means now, without a budget.
func (st *State) serverSlot(bytes int64, top bool) (time.Time, bool) {
	if len(st.slots) == 0 {
		return st.now, true
	}
	for i, sl := range st.slots {
		if !sl.End.After(st.now) {
			continue
		}
		if top {
			if !sl.Start.After(st.now) {
				st.slotUsed[i] += bytes
			}
			return st.now, true
		}
		if sl.Peak || sl.Budget-st.slotUsed[i] < bytes {
			continue
		}
		st.slotUsed[i] += bytes
		if sl.Start.After(st.now) {
			return sl.Start, true
		}
		return st.now, true
	}
	if top {
		return st.now, true
	}
	return time.Time{}, false
}

// unchargeSlot gives bytes back to the budget of the slot that holds start.
func (st *State) unchargeSlot(start time.Time, bytes int64) {
	for j, sl := range st.slots {
		if !start.Before(sl.Start) && start.Before(sl.End) {
			st.slotUsed[j] -= bytes
		}
	}
}

// release undoes a box's planned fetches: its sources get their upload back, the server its
// budget, and it stops being a relay.
func (st *State) release(i int32) {
	b := &st.boxes[i]
	for _, f := range b.fetches {
		for _, c := range f.srcs {
			s := &st.boxes[c.box]
			s.upUsed -= c.rate
			s.uploads = slices.DeleteFunc(s.uploads, func(u upRec) bool { return u.to == i && u.item == f.item })
		}
		if f.server {
			st.unchargeSlot(f.start, f.charged)
		}
		if f.share {
			k := key(f.item, b.region)
			st.shared[k] = slices.DeleteFunc(st.shared[k], func(x int32) bool { return x == i })
		}
	}
	b.fetches, b.evict, b.downUsed = nil, nil, 0
	for it := range b.relay {
		k := key(it, b.region)
		st.relays[k] = slices.DeleteFunc(st.relays[k], func(x int32) bool { return x == i })
		st.relaysAll[it] = slices.DeleteFunc(st.relaysAll[it], func(x int32) bool { return x == i })
	}
	b.relay = nil
}

// Update re-plans one box after its sync, against the round's other plans: only this box's
// requests are considered (the rest of the world is left as planned). A box the State has not
// seen is added. A changed region, network or LAN moves the box in the indexes at once: its own
// plan and every later request see it where it now is.
func (st *State) Update(b Box, now time.Time) (BoxPlan, error) {
	pieces := func(id media.ItemID) (int, bool) {
		i, ok := st.itemIdx[id]
		if !ok {
			return 0, false
		}
		return st.items[i].pieces, true
	}
	if err := validateBox(0, b, pieces, len(st.items)); err != nil {
		return BoxPlan{}, err
	}
	st.now = now
	i, ok := st.boxIdx[b.ID]
	var placed []fetchRec
	if !ok {
		i = st.addBox(b)
	} else {
		for _, f := range st.boxes[i].fetches {
			if f.cache {
				placed = append(placed, f)
			}
		}
		// The server keeps sending to the box it was sending to (see Snapshot.Serving).
		for _, f := range st.boxes[i].fetches {
			if f.server && f.serverRate > 0 {
				if st.serving[f.item] == nil {
					st.serving[f.item] = map[int32]bool{}
				}
				st.serving[f.item][i] = true
			}
		}
		st.release(i)
		if old := &st.boxes[i].Box; old.Region != b.Region || old.Network != b.Network || old.LAN != b.LAN {
			st.move(i, b)
		}
		st.setBox(i, b)
	}
	var reqs []request
	reqs = st.needs(i, reqs)
	slices.SortFunc(reqs, func(a, b request) int { return cmp.Compare(a.rank, b.rank) })
	for _, r := range reqs {
		st.plan(r)
	}
	st.cacheUsed[i] = 0
	st.keepPlacements(i, placed)
	st.continueRange(i, nil)
	st.prune(i)
	return st.boxPlan(i), nil
}

// keepPlacements plans again the cache placements the round gave box i (c19, c20), which a sync
// re-plans: the box learns of a placement only from its sync's answer, so one dropped there would
// never start. A placement the box now wishes, holds or has no room for is let go; a range the
// box already reports is continueRange's.
func (st *State) keepPlacements(i int32, placed []fetchRec) {
	b := &st.boxes[i]
	if b.Offline {
		return
	}
	defer func() { st.placing = false }()
	for _, f := range placed {
		h := b.held[f.item]
		if slices.Contains(b.wish, f.item) || h.Complete || h.Range != (PieceRange{}) ||
			slices.ContainsFunc(b.fetches, func(x fetchRec) bool { return x.item == f.item }) {
			continue
		}
		need := st.items[f.item].size
		if f.rng != (PieceRange{}) {
			need = st.rangeBytes(f.item, f.rng)
		}
		if need > b.FreeCache-st.cacheUsed[i] {
			continue
		}
		seed := f.rng != (PieceRange{}) && f.server && len(f.srcs) == 0
		st.placing = f.rng != (PieceRange{}) && !seed
		if st.plan(request{box: i, item: f.item, rank: -1, rng: f.rng, seed: seed}) {
			st.cacheUsed[i] += need
			if f.rng != (PieceRange{}) {
				st.rangePlaced[key(f.item, i)] = true
			}
		}
	}
}

// prune withdraws box i from the fetches it serves when its new state no longer allows them:
// offline, behind NAT like the receiver, no longer holding or receiving the item, or over its
// (possibly lowered) uplink. A receiver left without any source loses that fetch, and so on
// down the relay chain.
func (st *State) prune(i int32) {
	b := &st.boxes[i]
	for j := len(b.uploads) - 1; j >= 0; j-- {
		u := b.uploads[j]
		ok := !b.Offline && !(b.NAT && st.boxes[u.to].NAT) && (b.held[u.item].Complete || rangeFull(b.held[u.item]) || b.relay[u.item] != 0)
		if ok && b.upUsed <= b.up {
			continue
		}
		st.dropSource(u.to, u.item, i)
	}
}

// dropSource removes src from recv's fetch of item.
func (st *State) dropSource(recv, item, src int32) {
	s, r := &st.boxes[src], &st.boxes[recv]
	s.uploads = slices.DeleteFunc(s.uploads, func(u upRec) bool { return u.to == recv && u.item == item })
	for fi := range r.fetches {
		f := &r.fetches[fi]
		if f.item != item {
			continue
		}
		f.srcs = slices.DeleteFunc(f.srcs, func(c srcRec) bool {
			if c.box == src {
				s.upUsed -= c.rate
				r.downUsed -= c.rate
				return true
			}
			return false
		})
		if len(f.srcs) > 0 || f.server {
			return
		}
		r.fetches = slices.Delete(r.fetches, fi, fi+1)
		if r.held[item].Pieces == 0 {
			delete(r.relay, item)
			k := key(item, r.region)
			st.relays[k] = slices.DeleteFunc(st.relays[k], func(x int32) bool { return x == recv })
			st.relaysAll[item] = slices.DeleteFunc(st.relaysAll[item], func(x int32) bool { return x == recv })
			for _, u := range slices.Clone(r.uploads) {
				if u.item == item {
					st.dropSource(u.to, item, recv)
				}
			}
		}
		return
	}
}

// BoxPlan returns one box's part of the current plan.
func (st *State) BoxPlan(id media.BoxID) BoxPlan {
	i, ok := st.boxIdx[id]
	if !ok {
		return BoxPlan{}
	}
	return st.boxPlan(i)
}

func (st *State) boxPlan(i int32) BoxPlan {
	b := &st.boxes[i]
	var bp BoxPlan
	for _, f := range b.fetches {
		in := st.items[f.item]
		out := Fetch{Item: in.id, Server: f.server, ServerRate: f.serverRate, Start: f.start, Cache: f.cache, Bytes: f.bytes, Rank: f.rank, Range: f.rng}
		if f.share {
			out.ServerRanges = st.sharedRange(i, f.item)
		}
		var full []int64
		for _, c := range f.srcs {
			if !c.relay && c.rng == (PieceRange{}) {
				full = append(full, c.rate)
			}
		}
		whole := f.rng
		if whole == (PieceRange{}) {
			whole = PieceRange{0, in.pieces}
		}
		ranges := splitRanges(whole.Len(), full)
		for _, c := range f.srcs {
			s := &st.boxes[c.box]
			src := Source{Box: s.ID, Rate: c.rate, Relay: c.relay, Dial: !s.NAT}
			switch {
			case c.rng != (PieceRange{}):
				src.Ranges = []PieceRange{c.rng}
			case c.share:
				src.Ranges, src.Share = st.sharedRange(c.box, f.item), true
			case !c.relay:
				r := ranges[0]
				src.Ranges, ranges = []PieceRange{{whole.Begin + r.Begin, whole.Begin + r.End}}, ranges[1:]
			}
			out.Sources = append(out.Sources, src)
		}
		bp.Fetches = append(bp.Fetches, out)
	}
	for _, it := range b.evict {
		bp.Evict = append(bp.Evict, st.items[it].id)
	}
	for _, u := range b.uploads {
		bp.Receivers = append(bp.Receivers, Upload{Item: st.items[u.item].id, To: st.boxes[u.to].ID})
		if b.NAT { // unreachable itself, it dials its receivers
			bp.Uploads = append(bp.Uploads, Upload{Item: st.items[u.item].id, To: st.boxes[u.to].ID})
		}
	}
	return bp
}

// Plan returns the whole current plan with its totals.
func (st *State) Plan() Plan {
	p := Plan{Boxes: make(map[media.BoxID]BoxPlan)}
	for i := range st.boxes {
		bp := st.boxPlan(int32(i))
		if len(bp.Fetches)+len(bp.Evict)+len(bp.Uploads) == 0 {
			continue
		}
		p.Boxes[st.boxes[i].ID] = bp
		for _, f := range bp.Fetches {
			var peer int64
			for _, s := range f.Sources {
				peer += s.Rate
			}
			switch {
			case !f.Server:
				p.PeerBytes += f.Bytes
			case len(f.ServerRanges) > 0: // a share of the region's copy: its ranges from the server
				var sb int64
				for _, r := range f.ServerRanges {
					sb += st.rangeBytes(st.itemIdx[f.Item], r)
				}
				sb = min(sb, f.Bytes)
				p.ServerBytes += sb
				p.PeerBytes += f.Bytes - sb
			case peer+f.ServerRate == 0:
				p.ServerBytes += f.Bytes
			default:
				sb := int64(float64(f.Bytes) * float64(f.ServerRate) / float64(peer+f.ServerRate))
				p.ServerBytes += sb
				p.PeerBytes += f.Bytes - sb
			}
		}
	}
	return p
}

// Now is the time the State last planned at.
func (st *State) Now() time.Time { return st.now }

func cmpID[T ~[16]byte](a, b T) int { return slices.Compare(a[:], b[:]) }

func sortIDs[T ~[16]byte](ids []T) { slices.SortFunc(ids, cmpID) }

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
