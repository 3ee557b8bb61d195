package scheduler

import "slices"

// plan plans one request; it returns whether a fetch was planned. Its steps, in order: size
// the request, take sources tier by tier (LAN, then network and region, then other regions) as
// cost and the horizon allow, decide whether the server sends too, find the server a slot (peers
// make room for it), and book the fetch.
func (st *State) plan(r request) bool {
	st.Planned++
	q, ok := st.sizeRequest(r)
	if !ok {
		return false
	}
	st.scr.begin(r.box, r.rng)
	defer st.scr.end()
	st.takeLAN(&q)
	st.takeRegion(&q)
	st.takeOtherRegions(&q)
	st.decideServer(&q)
	st.bookServer(&q)
	if len(q.chosen) == 0 && !q.f.server {
		return false
	}
	st.emitFetch(&q)
	return true
}

// draft is one request while plan works on it: what it needs, the sources taken so far, and
// the fetch it becomes.
type draft struct {
	r     request
	bytes int64 // what the receiver still lacks (of the range, for a range placement)
	spare int64 // the receiver's downlink left
	// limit is what peers may fill of the downlink: all of spare, or half of it for a joiner of
	// a shared server copy (the server's share takes the rest).
	limit   int64
	sk      itemRegion // the item in the receiver's region
	joining bool       // the receiver takes a share of the server's copy already flowing there
	parts   int        // the item's canonical ranges
	// Sources taken: whole-item (or range placement) sources and range holders, counted apart.
	chosen        []srcRec
	rate          int64
	fed           bool
	whole, ranged int
	// supplied: the region can supply the item within the horizon, so the server need not.
	supplied      bool
	server, share bool
	// offPeakOnly: the region supplies the item, too slowly; the server may help only in an
	// off-peak slot, never at peak.
	offPeakOnly bool
	f           fetchRec
}

// sizeRequest works out what the request needs and how much downlink it has; false if the box
// is offline or lacks nothing.
func (st *State) sizeRequest(r request) (draft, bool) {
	d := &st.idx.boxes[r.box]
	if d.Offline {
		return draft{}, false
	}
	it := r.item
	bytes := st.idx.remaining(it, d.held[it])
	if r.rng != (PieceRange{}) {
		bytes = st.idx.rangeRemaining(it, d.held[it], r.rng)
	}
	if bytes == 0 && st.idx.items[it].size > 0 {
		return draft{}, false
	}
	// With the downlink taken only a later off-peak server transfer is possible.
	spare := st.led.downSpare(r.box, d.down)
	// The server is already sending its copy of the item into the region and no box there holds
	// it: this receiver takes a share of that same copy rather than waiting on the first
	// receiver's uplink (see ledger.shared); it adds no server bytes, only splits them. Peers
	// then get at most half the downlink, the server's share the rest.
	sk := itemIn(it, d.region)
	joining := st.cfg.SharedServerCopy && r.rng == (PieceRange{}) && !r.cache() && len(st.led.shared[sk]) > 0 &&
		len(st.led.shared[sk]) < st.parts(it) && !st.idx.regionHasComplete(r.box, it)
	limit := spare
	if joining {
		limit = spare / 2
	}
	// Range holders of a whole-item fetch come on top of MaxSources, one per range, each with
	// an equal share of the downlink, so the receiver gets every range at once (SCHED-10).
	return draft{r: r, bytes: bytes, spare: spare, limit: limit, sk: sk, joining: joining, parts: st.parts(it)}, true
}

// take adds sources from a candidate list, best first, while the downlink has room: at most
// MaxSources whole-item sources (one for a range placement) and one range holder per range.
func (st *State) take(q *draft, list []cand) {
	for _, c := range list {
		if q.rate+st.cfg.MinRate > q.limit {
			return
		}
		a := min(c.rate, q.limit-q.rate)
		if c.rng != (PieceRange{}) && q.r.rng == (PieceRange{}) {
			if q.ranged >= q.parts {
				continue
			}
			a = min(a, max(st.cfg.MinRate, q.spare/int64(q.parts)))
			q.ranged++
		} else {
			// A range placement takes one source: the range is small, and every holder
			// is better spent starting another placement (the copies double each round).
			if q.whole >= st.cfg.MaxSources || (q.r.rng != (PieceRange{}) && q.whole >= 1) {
				continue
			}
			q.whole++
		}
		if q.joining { // every sharer serves every other: no one of them takes a whole uplink
			a = min(a, st.shareRate(c.box, q.sk))
		}
		q.chosen = append(q.chosen, srcRec{box: c.box, rate: a, relay: c.relay, rng: c.rng})
		q.rate += a
		q.fed = q.fed || c.fed
	}
}

// takeTier takes sources of one tier.
func (st *State) takeTier(q *draft, t int) { st.take(q, st.candidates(q.r.box, q.r.item, t)) }

// takeLAN takes LAN neighbours holding or receiving the item; a sharer of the server's copy
// also takes the shares of the other LANs' sharers.
func (st *State) takeLAN(q *draft) {
	if q.spare < st.cfg.MinRate {
		return
	}
	st.takeTier(q, tierLAN)
	if q.joining {
		q.chosen, q.rate = st.importShares(q.r.box, q.r.item, q.limit, q.chosen, q.rate)
	}
}

// takeRegion takes sources of the network and the region when the LAN does not bring the item
// in, or too slowly; else only range holders of the region.
func (st *State) takeRegion(q *draft) {
	if q.spare < st.cfg.MinRate {
		return
	}
	// A LAN neighbour holding or receiving the item brings it into the LAN once; the rest
	// moves inside the LAN, so costlier tiers only to finish within the horizon (SCHED-3, SCHED-4).
	// A sharer of the server's copy has every piece coming: its share from the server, the
	// rest from its LAN and the other LANs' sharers.
	inside := q.joining || slices.ContainsFunc(q.chosen, func(c srcRec) bool { return st.reachesLAN(c.box, q.r.box, q.r.item, nil) })
	switch {
	case !inside || (eta(q.bytes, q.rate) > st.cfg.Horizon && !q.joining):
		for t := tierNetwork; t <= tierRegion; t++ {
			st.takeTier(q, t)
		}
	case st.idx.rangeIn[q.sk] > 0:
		// Range holders still: each serves a range nobody on the LAN may have yet, and
		// is placed in the region to be used by every receiver of a crowd (ranges.go).
		st.take(q, st.rangeCandidates(q.r.box, q.r.item, st.scr.cands()))
	}
}

// takeOtherRegions takes sources in other regions, which cost more than this one (SCHED-3): only to
// finish within the horizon (SCHED-4) or to keep the server away when the region cannot supply the
// item (SCHED-2).
func (st *State) takeOtherRegions(q *draft) {
	q.supplied = st.regionSupplied(q.r.box, q.r.item)
	if q.spare >= st.cfg.MinRate && !q.joining && (!q.supplied || eta(q.bytes, q.rate) > st.cfg.Horizon) {
		st.takeTier(q, tierOther)
	}
}

// decideServer decides whether the server sends too: the region cannot supply the item and
// peers are too slow, or the server keeps sending what it was, or it seeds a crowd's ranges,
// or the receiver takes part in a shared server copy.
func (st *State) decideServer(q *draft) {
	r, it := q.r, q.r.item
	if q.supplied && q.rate == 0 && r.rank == 0 && st.suppliersBusy(r.box, it, q.bytes) {
		// A top wish, and every box of the region that could send it is booked past the
		// horizon: the region cannot supply it within the horizon (SCHED-2, SCHED-4).
		q.supplied = false
	}
	keepServer := r.serving && !st.idx.regionHasComplete(r.box, it)
	slow := q.rate == 0 || eta(q.bytes, q.rate) > st.cfg.Horizon
	server := !r.serving && !q.supplied && slow
	// The region holds the item but its peers cannot deliver within the horizon: with an
	// off-peak calendar the server helps in the window, the peers sending meanwhile (SCHED-17).
	q.offPeakOnly = !server && !keepServer && q.supplied && slow && len(st.led.slots) > 0 && r.rng == (PieceRange{})
	server = (server || keepServer || q.offPeakOnly) && !r.cache()
	if r.rng != (PieceRange{}) && (r.seed || st.idx.serving[it][r.box]) {
		server = true // the region's copy of a crowd's item, sent as ranges (see ranges.go)
	}
	if !r.by.IsZero() && !r.cache() {
		// A deadline decides alone: the server only where the peers cannot finish in time.
		late := q.rate == 0 || st.now.Add(eta(q.bytes, q.rate)).After(r.by)
		server, q.offPeakOnly = late || (r.serving && keepServer), false
	}
	q.share = st.cfg.SharedServerCopy && r.rng == (PieceRange{}) && !r.cache() && (server || q.joining)
	q.server = server || q.share
	q.f = fetchRec{item: it, bytes: q.bytes, rank: r.rank, start: st.now, cache: r.cache(), rng: r.rng}
}

// bookServer finds the server's bytes a slot (SCHED-11): now, with the peers making room, or an
// off-peak slot later, without them. No slot leaves the fetch to its peers.
func (st *State) bookServer(q *draft) {
	if !q.server {
		return
	}
	r := q.r
	charge := q.bytes
	if q.share {
		charge = q.bytes / int64(len(st.led.shared[q.sk])+1) // its part of the one copy
	}
	// A joiner's copy is already flowing: it needs no off-peak slot of its own (SCHED-11).
	top := (r.rank == 0 || r.rng != (PieceRange{}) || q.joining) && !q.offPeakOnly
	if !r.by.IsZero() {
		top = false
	}
	start, ok := st.led.serverSlot(st.now, charge, top)
	if !r.by.IsZero() && (!ok || start.Add(eta(q.bytes, q.spare)).After(r.by)) {
		// An off-peak slot would not finish by the deadline: the server sends at once.
		if ok {
			st.led.unchargeSlot(start, charge)
		}
		start, ok = st.led.serverSlot(st.now, charge, true)
	}
	q.f.charged = charge
	switch {
	case ok && start.After(st.now):
		// An off-peak server transfer later for what the peers have not sent by then; the
		// peers found now send at once, within their upload caps (SCHED-17).
		q.f.server, q.f.start = true, start
	case ok && q.spare >= 2*st.cfg.MinRate:
		st.makeRoomForServer(q)
		q.f.server, q.f.serverRate, q.f.share = true, q.spare-q.rate, q.share
	case ok:
		st.led.unchargeSlot(st.now, charge)
	}
}

// makeRoomForServer trims the peers of a fetch the server sends now. Relays hold only what
// reached the region, which the server is bringing here: they give way to it, unless they take
// part in the same copy, each with other pieces of it. Complete holders keep at most half the
// downlink.
func (st *State) makeRoomForServer(q *draft) {
	if !q.share || len(st.led.shared[q.sk]) == 0 {
		q.chosen = slices.DeleteFunc(q.chosen, func(c srcRec) bool { return c.relay })
	}
	q.rate = 0
	for _, c := range q.chosen {
		q.rate += c.rate
	}
	for q.rate > q.spare/2 {
		last := &q.chosen[len(q.chosen)-1]
		if q.rate-last.rate >= q.spare/2 || len(q.chosen) == 1 {
			cut := min(last.rate, q.rate-q.spare/2)
			last.rate -= cut
			q.rate -= cut
		} else {
			q.rate -= last.rate
			last.rate = 0
		}
		if last.rate < st.cfg.MinRate {
			q.rate -= last.rate
			q.chosen = q.chosen[:len(q.chosen)-1]
		}
	}
}

// emitFetch books the planned fetch in the ledger: the sources' upload, the receiver's
// download, the server's copy (seeded or shared) and the receiver as a relay of the item.
func (st *State) emitFetch(q *draft) {
	r, it := q.r, q.r.item
	if q.f.server && r.rng != (PieceRange{}) {
		st.led.seeded[q.sk] = true
	}
	if q.f.serverRate == 0 && r.serving {
		delete(st.idx.serving[it], r.box)
	}
	if q.f.share {
		st.led.shared[q.sk] = append(st.led.shared[q.sk], r.box)
	}
	q.f.srcs = q.chosen
	st.led.reserve(r.box, q.f, q.rate)
	region := q.sk.region()
	switch {
	case r.rng != (PieceRange{}):
		// A range placement receives one range only: no relay of the whole item.
	case q.f.server && !q.f.start.After(st.now), q.fed:
		st.led.markRelay(r.box, region, it, relayFed)
	default:
		st.led.markRelay(r.box, region, it, relayUnfed)
	}
}
