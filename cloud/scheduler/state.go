package scheduler

import (
	"cmp"
	"slices"
	"time"

	"swarmbox/media"
)

// State is a planning round: its index (index.go: who holds what, where every box is), its
// ledger (ledger.go: the capacity the round's plans consume and the fetches that consume it)
// and the scratch reused from one request to the next (scratch.go). Compute builds one and plans
// the whole round; Update re-plans a single box against it, which is what a box's sync costs.
type State struct {
	cfg     Config
	now     time.Time
	idx     index
	led     ledger
	scr     scratch
	inRound bool // a full round is planning: list scans may start at the ledger's cursors
	// Planned counts the requests the planner has considered since the State was made; a box's
	// Update adds only that box's.
	Planned int
}

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
		idx: newIndex(len(s.Items), len(s.Boxes)),
		led: newLedger(s.Slots),
	}
	st.led.boxes = make([]boxLoad, 0, len(s.Boxes))
	st.idx.build(s, func(b Box) { st.addBox(b) })
	return st, nil
}

// addBox indexes a new box (its holder lists are sorted by the caller, or appended to) and
// gives it a place in the ledger and the scratch marks.
func (st *State) addBox(b Box) boxIdx {
	i := st.idx.addBox(b)
	st.led.boxes = append(st.led.boxes, boxLoad{})
	st.scr.mark = append(st.scr.mark, 0)
	st.idx.setBox(i, b, &st.cfg)
	return i
}

// request is one need to plan: a box and an item.
type request struct {
	box     boxIdx
	item    itemIdx
	rank    int
	serving bool
	served  int64
	rng     PieceRange // a range placement's pieces
	seed    bool       // a range placement the server sends: the region's one copy of a crowd's item
	by      time.Time  // the household's deadline for this wish; zero = none (SCHED-18)
}

func (r request) cache() bool { return r.rank < 0 }

// Round plans every box from scratch.
func (st *State) Round() {
	st.led.reset()
	var reqs []request
	for i := range st.idx.boxes {
		reqs = st.needs(boxIdx(i), reqs)
	}
	// Continuing server transfers first, so their boxes become fed relays before anyone asks
	// whether the region has the item; then by priority (SCHED-7), least recently served first
	// (SCHED-8).
	slices.SortFunc(reqs, func(a, b request) int {
		return cmp.Or(-cmpBool(a.serving, b.serving), cmp.Compare(a.rank, b.rank), cmp.Compare(a.served, b.served), cmpID(st.idx.boxes[a.box].ID, st.idx.boxes[b.box].ID))
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

// needs appends a box's requests: its wishes it does not hold complete (SCHED-1), in priority order,
// as many as fit its free wishlist space (SCHED-6), at most MaxFetches. Partial holders of a wished
// item are marked as unfed relays: they hold pieces others can use.
func (st *State) needs(i boxIdx, reqs []request) []request {
	b := &st.idx.boxes[i]
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
		need := st.idx.remaining(it, h)
		if need > free {
			continue
		}
		free -= need
		if h.Pieces > 0 {
			st.led.markRelay(i, b.region, it, relayUnfed)
		}
		// The server keeps sending a wish it was sending, not one whose range it was placing.
		serving := st.idx.serving[it][i] && h.Range == (PieceRange{})
		reqs = append(reqs, request{box: i, item: it, rank: r, serving: serving, served: b.served, by: b.Deadlines[st.idx.items[it].id]})
	}
	return reqs
}

// Update re-plans one box after its sync, against the round's other plans: only this box's
// requests are considered (the rest of the world is left as planned). A box the State has not
// seen is added. A changed region, network or LAN moves the box in the indexes at once: its own
// plan and every later request see it where it now is.
func (st *State) Update(b Box, now time.Time) (BoxPlan, error) {
	pieces := func(id media.ItemID) (int, bool) {
		i, ok := st.idx.itemOf[id]
		if !ok {
			return 0, false
		}
		return st.idx.items[i].pieces, true
	}
	if err := validateBox(0, b, pieces, len(st.idx.items)); err != nil {
		return BoxPlan{}, err
	}
	st.now = now
	i, ok := st.idx.boxOf[b.ID]
	var placed []fetchRec
	if !ok {
		i = st.addBox(b)
	} else {
		for _, f := range st.led.boxes[i].fetches {
			if f.cache {
				placed = append(placed, f)
			}
		}
		// The server keeps sending to the box it was sending to (see Snapshot.Serving).
		for _, f := range st.led.boxes[i].fetches {
			if f.server && f.serverRate > 0 {
				if st.idx.serving[f.item] == nil {
					st.idx.serving[f.item] = map[boxIdx]bool{}
				}
				st.idx.serving[f.item][i] = true
			}
		}
		st.led.release(i, st.idx.boxes[i].region)
		if old := &st.idx.boxes[i].Box; old.Region != b.Region || old.Network != b.Network || old.LAN != b.LAN {
			st.idx.move(i, b)
		}
		st.idx.setBox(i, b, &st.cfg)
	}
	var reqs []request
	reqs = st.needs(i, reqs)
	slices.SortFunc(reqs, func(a, b request) int { return cmp.Compare(a.rank, b.rank) })
	for _, r := range reqs {
		st.plan(r)
	}
	st.led.cacheUsed[i] = 0
	st.keepPlacements(i, placed)
	st.continueRange(i, nil)
	st.prune(i)
	return st.boxPlan(i), nil
}

// keepPlacements plans again the cache placements the round gave box i (CACHE-1, CACHE-2), which a sync
// re-plans: the box learns of a placement only from its sync's answer, so one dropped there would
// never start. A placement the box now wishes, holds or has no room for is let go; a range the
// box already reports is continueRange's.
func (st *State) keepPlacements(i boxIdx, placed []fetchRec) {
	b := &st.idx.boxes[i]
	if b.Offline {
		return
	}
	defer func() { st.scr.placing = false }()
	for _, f := range placed {
		h := b.held[f.item]
		if slices.Contains(b.wish, f.item) || h.Complete || h.Range != (PieceRange{}) ||
			slices.ContainsFunc(st.led.boxes[i].fetches, func(x fetchRec) bool { return x.item == f.item }) {
			continue
		}
		need := st.idx.items[f.item].size
		if f.rng != (PieceRange{}) {
			need = st.idx.rangeBytes(f.item, f.rng)
		}
		if need > st.led.cacheSpare(i, b.FreeCache) {
			continue
		}
		seed := f.rng != (PieceRange{}) && f.server && len(f.srcs) == 0
		st.scr.placing = f.rng != (PieceRange{}) && !seed
		if st.plan(request{box: i, item: f.item, rank: -1, rng: f.rng, seed: seed}) {
			st.led.cacheUsed[i] += need
			if f.rng != (PieceRange{}) {
				st.led.rangePlaced[itemAt(f.item, i)] = true
			}
		}
	}
}

// prune withdraws box i from the fetches it serves when its new state no longer allows them:
// offline, behind NAT like the receiver, no longer holding or receiving the item, or over its
// (possibly lowered) uplink. A receiver left without any source loses that fetch, and so on
// down the relay chain.
func (st *State) prune(i boxIdx) {
	b, bl := &st.idx.boxes[i], &st.led.boxes[i]
	for j := len(bl.uploads) - 1; j >= 0; j-- {
		u := bl.uploads[j]
		ok := !b.Offline && !apart(b, &st.idx.boxes[u.to]) && (b.held[u.item].Complete || rangeFull(b.held[u.item]) || bl.relay[u.item] != 0)
		if ok && bl.upUsed <= b.up {
			continue
		}
		st.dropSource(u.to, u.item, i)
	}
}

// dropSource removes src from recv's fetch of item.
func (st *State) dropSource(recv boxIdx, item itemIdx, src boxIdx) {
	s, r := &st.led.boxes[src], &st.led.boxes[recv]
	st.led.dropUploads(src, recv, item)
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
		if st.idx.boxes[recv].held[item].Pieces == 0 {
			delete(r.relay, item)
			st.led.unlistRelay(recv, st.idx.boxes[recv].region, item)
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
	i, ok := st.idx.boxOf[id]
	if !ok {
		return BoxPlan{}
	}
	return st.boxPlan(i)
}

func (st *State) boxPlan(i boxIdx) BoxPlan {
	b, bl := &st.idx.boxes[i], &st.led.boxes[i]
	var bp BoxPlan
	for _, f := range bl.fetches {
		in := st.idx.items[f.item]
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
			s := &st.idx.boxes[c.box]
			src := Source{Box: s.ID, Rate: c.rate, Relay: c.relay, Dial: !s.NAT || sameLAN(s, b)}
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
	for _, it := range bl.evict {
		bp.Evict = append(bp.Evict, st.idx.items[it].id)
	}
	for _, u := range bl.uploads {
		bp.Receivers = append(bp.Receivers, Upload{Item: st.idx.items[u.item].id, To: st.idx.boxes[u.to].ID})
		if b.NAT && !sameLAN(b, &st.idx.boxes[u.to]) { // unreachable itself, it dials its receivers
			bp.Uploads = append(bp.Uploads, Upload{Item: st.idx.items[u.item].id, To: st.idx.boxes[u.to].ID})
		}
	}
	return bp
}

// Plan returns the whole current plan with its totals.
func (st *State) Plan() Plan {
	p := Plan{Boxes: make(map[media.BoxID]BoxPlan)}
	for i := range st.idx.boxes {
		bp := st.boxPlan(boxIdx(i))
		if len(bp.Fetches)+len(bp.Evict)+len(bp.Uploads) == 0 {
			continue
		}
		p.Boxes[st.idx.boxes[i].ID] = bp
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
					sb += st.idx.rangeBytes(st.idx.itemOf[f.Item], r)
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
