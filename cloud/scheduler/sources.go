package scheduler

import (
	"cmp"
	"slices"
	"time"
)

// Finding sources: which boxes may send an item to a receiver now, tier by tier, and whether the
// receiver's region can supply it at all.

// usable says whether src may send item it to dst now, and how fast at most.
func (st *State) usable(src, dst boxIdx, it itemIdx) (cand, bool) {
	if src == dst {
		return cand{}, false
	}
	s, d := &st.idx.boxes[src], &st.idx.boxes[dst]
	if s.Offline || apart(s, d) { // two NATed boxes cannot reach each other but on one LAN (SCHED-12)
		return cand{}, false
	}
	sl := &st.led.boxes[src]
	spare := s.up - sl.upUsed
	if st.scr.placing {
		spare = s.up/2 - sl.upUsed
	}
	if spare < st.cfg.MinRate {
		return cand{}, false
	}
	c := cand{box: src}
	h := s.held[it]
	want := st.scr.want
	switch {
	case h.Complete:
		c.fed = true
	case rangeFull(h) && (want == PieceRange{} || h.Range.contains(want)):
		// A range holder serves its range (or the part of it a range placement asks for).
		c.fed, c.rng = true, h.Range
		if want != (PieceRange{}) {
			c.rng = want
		}
	case sl.relay[it] != 0:
		c.relay, c.fed = true, sl.relay[it] == relayFed
	default:
		return cand{}, false
	}
	// Measured throughput beats the caps: the pair's own where the receiver has reported it,
	// else what the source was measured sending others (SCHED-5).
	est := min(s.up, d.down)
	if m, ok := st.idx.measured[dst][src]; ok && m > 0 {
		est = m
	} else if s.MeasuredUplink > 0 {
		est = min(s.MeasuredUplink, d.down)
	}
	c.rate = min(est, spare)
	return c, true
}

// gather collects up to limit usable candidates from a holder list, skipping ones already
// chosen. In a full round it starts past the list's exhausted head.
func (st *State) gather(list []boxIdx, k listKey, dst boxIdx, it itemIdx, want int, out []cand) []cand {
	if !st.inRound || k == noList {
		return st.gatherFrom(list, nil, dst, it, want, out)
	}
	start := st.led.cursor[k]
	out = st.gatherFrom(list, &start, dst, it, want, out)
	st.led.cursor[k] = start
	return out
}

// gatherFrom is gather with the list's cursor in start (nil: scan from the head).
func (st *State) gatherFrom(list []boxIdx, start *int, dst boxIdx, it itemIdx, want int, out []cand) []cand {
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
		if st.scr.seen(src) {
			continue
		}
		out = append(out, c)
		n++
	}
	return out
}

// exhausted says src can no longer serve in this round whoever asks: no spare upload, offline,
// or (for relay lists) the item is no longer in flight there.
func (st *State) exhausted(src boxIdx, it itemIdx) bool {
	s, sl := &st.idx.boxes[src], &st.led.boxes[src]
	return s.Offline || st.led.upSpare(src, s.up) < st.cfg.MinRate || (!s.held[it].Complete && !rangeFull(s.held[it]) && sl.relay[it] == 0)
}

// candidates returns usable sources of one tier for dst, best first: fastest estimate (SCHED-5),
// then least recently uploading (SCHED-9), then id.
func (st *State) candidates(dst boxIdx, it itemIdx, t int) []cand {
	d := &st.idx.boxes[dst]
	want := 2 * st.cfg.MaxSources
	out := st.scr.cands() // reused: callers are done with the previous list
	defer func() { st.scr.keep(out) }()
	switch t {
	case tierLAN:
		if d.lan >= 0 {
			for _, src := range st.idx.lanBox[d.lan] {
				if c, ok := st.usable(src, dst, it); ok && !st.scr.seen(src) {
					out = append(out, c)
				}
			}
		}
	case tierNetwork:
		k := itemOn(it, d.net)
		out = st.gather(st.idx.holdNet[k], netList(k), dst, it, want, out)
	case tierRegion:
		k := itemIn(it, d.region)
		out = st.gather(st.idx.holdRegion[k], regionList(k), dst, it, want, out)
		out = st.rangeCandidates(dst, it, out)
		out = st.gather(st.led.relays[k], relayList(k), dst, it, want, out)
	case tierOther:
		// Complete holders elsewhere, then boxes elsewhere already receiving it: following an
		// in-flight copy from another region beats a new copy from the server (SCHED-3).
		out = st.gather(st.idx.holdAll[it], allList(it), dst, it, want, out)
		out = st.gather(st.led.relaysAll[it], relaysAllList(it), dst, it, want, out)
	}
	// Measured peers of this tier the list scan did not reach.
	for src := range st.idx.measured[dst] {
		if st.scr.isSeen(src) || tier(&st.idx.boxes[src], d) != t {
			continue
		}
		if c, ok := st.usable(src, dst, it); ok && !st.scr.seen(src) {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b cand) int {
		x, y := &st.idx.boxes[a.box], &st.idx.boxes[b.box]
		// Relays last: they pass on only what reached them, holders send pieces the receiver lacks.
		return cmp.Or(cmpBool(a.relay, b.relay), cmp.Compare(b.rate, a.rate), cmp.Compare(x.uploaded, y.uploaded), cmpID(x.ID, y.ID))
	})
	return out
}

// reachesLAN says whether src brings item it into its LAN without dst: src holds it complete,
// or src's fetch of it has the server or a source outside the LAN, or a LAN source (not dst)
// that does. Boxes of a LAN that only feed each other bring nothing in.
func (st *State) reachesLAN(src, dst boxIdx, it itemIdx, seen map[boxIdx]bool) bool {
	s := &st.idx.boxes[src]
	if s.held[it].Complete {
		return true
	}
	if seen == nil {
		seen = map[boxIdx]bool{}
	}
	seen[src] = true
	for _, f := range st.led.boxes[src].fetches {
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
			if tier(&st.idx.boxes[c.box], s) != tierLAN || st.reachesLAN(c.box, dst, it, seen) {
				return true
			}
		}
	}
	return false
}

// regionSupplied says whether a box of dst's region other than dst holds the item complete and
// is online, or is receiving it from a fed source, or the region holds (or the server is
// sending it) range by range: then the server need not send it there (SCHED-2).
func (st *State) regionSupplied(dst boxIdx, it itemIdx) bool {
	return st.suppliedIn(st.idx.boxes[dst].region, it, dst)
}

// suppliedIn is regionSupplied for a region, not counting box dst (noBox: none) nor boxes
// that cannot reach dst (both behind NAT, not on one LAN): a holder dst can never connect to
// supplies nothing, and counting it would leave dst without the server and without a source.
func (st *State) suppliedIn(region regionIdx, it itemIdx, dst boxIdx) bool {
	k := itemIn(it, region)
	if st.led.seeded[k] || st.rangesCovered(it, region) {
		return true
	}
	reaches := func(h boxIdx) bool {
		return h != dst && (dst == noBox || !apart(&st.idx.boxes[h], &st.idx.boxes[dst]))
	}
	for _, h := range st.idx.holdRegion[k] {
		if reaches(h) && !st.idx.boxes[h].Offline && st.idx.boxes[h].held[it].Complete {
			return true
		}
	}
	for _, r := range st.led.relays[k] {
		if reaches(r) && st.led.boxes[r].relay[it] == relayFed {
			return true
		}
	}
	return false
}

// suppliersBusy says no box of dst's region holding the item (complete, or fed and receiving
// it) can deliver bytes to dst within the horizon: each is busy until one of the transfers it
// serves ends, and sends at most its uplink after that. A range seeding counts as supply.
func (st *State) suppliersBusy(dst boxIdx, it itemIdx, bytes int64) bool {
	d := &st.idx.boxes[dst]
	k := itemIn(it, d.region)
	if st.led.seeded[k] || st.rangesCovered(it, d.region) {
		return false
	}
	const scan = 64 // holders looked at; lists are sorted by uplink
	best := time.Duration(1<<63 - 1)
	try := func(h boxIdx) {
		s := &st.idx.boxes[h]
		if h == dst || s.Offline || apart(s, d) {
			return
		}
		free, send := st.freeIn(h), eta(bytes, min(s.up, d.down))
		if free < st.cfg.Horizon && send < st.cfg.Horizon { // else never within it (and no overflow)
			best = min(best, free+send)
		}
	}
	for j, h := range st.idx.holdRegion[k] {
		if j == scan {
			break
		}
		if st.idx.boxes[h].held[it].Complete {
			try(h)
		}
	}
	for j, h := range st.led.relays[k] {
		if j == scan {
			break
		}
		if st.led.boxes[h].relay[it] == relayFed {
			try(h)
		}
	}
	return best > st.cfg.Horizon
}

// freeIn is how soon box h has upload to spare: now if it has, else when the first transfer it
// serves ends at its planned rate.
func (st *State) freeIn(h boxIdx) time.Duration {
	if st.led.upSpare(h, st.idx.boxes[h].up) >= st.cfg.MinRate {
		return 0
	}
	first := time.Duration(1<<63 - 1)
	for _, u := range st.led.boxes[h].uploads {
		for _, f := range st.led.boxes[u.to].fetches {
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
