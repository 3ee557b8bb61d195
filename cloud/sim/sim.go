package sim

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"swarmbox/cloud/regions"
	"swarmbox/cloud/scheduler"
	"swarmbox/media"
)

// Policy names, in the order they run.
const (
	PolicyScheduler = "scheduler"
	PolicyTracker   = "tracker"
	PolicyCDN       = "cdn"
)

// Policies lists the policy names.
var Policies = []string{PolicyScheduler, PolicyTracker, PolicyCDN}

// Result is the simulator's one JSON object.
type Result struct {
	// GlobalLowerBoundServerShare: each wished title leaves the server once unless some box
	// holds it at the start; no policy goes below it (World.GlobalLowerBoundServerShare).
	GlobalLowerBoundServerShare float64 `json:"global_lower_bound_server_share"`
	// RegionCopiesServerShare: each wished title sent once into each region that lacks it, what
	// a planner that never crosses regions can at best do (not a bound).
	RegionCopiesServerShare float64                  `json:"region_copies_server_share"`
	Policies                map[string]*PolicyResult `json:"policies"`
}

// PolicyResult is what one policy achieved on the world.
type PolicyResult struct {
	ServerShare float64 `json:"server_share"`
	// ServerShareOverGlobalBound is ServerShare over the global lower bound (1 is optimal).
	ServerShareOverGlobalBound float64 `json:"server_share_over_global_bound"`
	// CrossRegionPeerBytes are bytes boxes received from boxes in another region (transit the
	// operator may pay for), and CrossRegionPeerShare their share of all bytes boxes sent.
	CrossRegionPeerBytes     int64   `json:"cross_region_peer_bytes"`
	CrossRegionPeerShare     float64 `json:"cross_region_peer_share"`
	P50ReadySeconds          float64 `json:"p50_ready_seconds"`
	P95ReadySeconds          float64 `json:"p95_ready_seconds"`
	P95ReadyOverDownlink     float64 `json:"p95_ready_over_downlink_bound"`
	ServerCopiesPerRegionMax float64 `json:"server_copies_per_region_max"`
	StorageViolations        int     `json:"storage_violations"`
	UploadCapViolations      int     `json:"upload_cap_violations"`
	PlanSecondsPerRound      float64 `json:"plan_seconds_per_round"`
	// PeakHourServerShare is the share of the server's bytes sent in peak hours (PeakHours,
	// the world's time of day).
	PeakHourServerShare float64 `json:"peak_hour_server_share"`
	PeakRSSBytes        int64   `json:"peak_rss_bytes"`
	// Beyond the JSON: the other invariants Check counts, wishes never ready, and the series
	// the plot draws.
	OtherViolations int     `json:"-"`
	Unfinished      int     `json:"-"`
	Series          []Point `json:"-"`
}

// Point is one hour of a policy's run: the server share of all bytes so far and the median
// time-to-ready of the top wishes that became ready so far.
type Point struct {
	Hours, ServerShare, MedianReadyHours float64
}

// Options tune a run.
type Options struct {
	Step     time.Duration // simulated time per round; 0 = the workload's default
	Duration time.Duration // 0 = the workload's
	// Progress is called after every round with rounds done and total (all policies).
	Progress func(done, total int)
	// Config is the planner's configuration for the scheduler policy (zero = defaults), with
	// range placements on unless NoRangePlacements. Shared server copies (on in the head-end)
	// are off unless SharedServerCopy: the flow model moves a sharer's bytes at the planned
	// per-source rates, a sharer's share of each peer's uplink, where BitTorrent moves them at
	// whatever the uplinks have free, so it judges them by a pessimistic model.
	Config            scheduler.Config
	NoRangePlacements bool
	SharedServerCopy  bool
	// OffPeak, when set, is every region's off-peak window for the scheduler (its slot
	// calendar, as the head-end's -regions file gives it, SCHED-16); the baselines ignore it.
	OffPeak *regions.Window
}

// PeakHours are the busy evening hours [From, To) of the world's day in which server bytes count
// as peak-hour bytes (PolicyResult.PeakHourServerShare).
var PeakHours = struct{ From, To int }{17, 23}

type hold struct {
	bytes   int64
	cache   bool
	preload bool
	rng     scheduler.PieceRange // a range placement: bytes are of these pieces only
}

type openWish struct {
	title int32
	at    time.Duration
}

// run is one policy's pass over the world.
type run struct {
	w        *World
	held     []map[int32]*hold
	open     [][]openWish
	served   []time.Duration // last time each box received, -1 never
	uploaded []time.Duration
	lan, isp []string
	res      *PolicyResult
	server   int64
	peak     int64              // of those, bytes sent in PeakHours
	peers    int64              // bytes boxes sent each other
	crossed  int64              // of those, bytes between boxes of different regions
	wished   int64              // bytes delivered into wished items (from the server or peers)
	copies   map[[2]int32]int64 // server bytes per (region, title)
	// fromServer is what each (box, title) took from the server: a share of a shared copy
	// stops at its ranges.
	fromServer map[[2]int32]int64
	ready      []float64 // top-wish ready seconds
	ratio      []float64 // ready ÷ (size ÷ downlink)
	done       []bool    // top wish ready
	prev       scheduler.Plan
	cfg        scheduler.Config
	offPeak    *regions.Window
	rng        *rand.Rand
	wishIdx    int // next arrival in w.wishes
}

// Run simulates every policy on the world and reports.
func Run(w *World, opt Options) (*Result, error) {
	step, dur := opt.Step, opt.Duration
	if step <= 0 {
		step = 10 * time.Minute
		if w.Name == Flash {
			step = 2 * time.Minute
		}
	}
	if dur <= 0 {
		dur = w.Duration
	}
	rounds := int((dur + step - 1) / step)
	res := &Result{GlobalLowerBoundServerShare: w.GlobalLowerBoundServerShare(), RegionCopiesServerShare: w.RegionCopiesServerShare(),
		Policies: map[string]*PolicyResult{}}
	for pi, name := range Policies {
		r := newRun(w)
		r.cfg = opt.Config
		r.cfg.RangePlacements = !opt.NoRangePlacements
		r.cfg.SharedServerCopy = opt.SharedServerCopy
		r.offPeak = opt.OffPeak
		for k := range rounds {
			now := time.Duration(k) * step
			if err := r.round(name, now, step); err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", name, k, err)
			}
			if opt.Progress != nil {
				opt.Progress(pi*rounds+k+1, len(Policies)*rounds)
			}
		}
		r.finish(dur, rounds)
		if res.GlobalLowerBoundServerShare > 0 {
			r.res.ServerShareOverGlobalBound = r.res.ServerShare / res.GlobalLowerBoundServerShare
		}
		res.Policies[name] = r.res
	}
	return res, nil
}

func newRun(w *World) *run {
	r := &run{w: w, res: &PolicyResult{}, copies: map[[2]int32]int64{}, fromServer: map[[2]int32]int64{}, rng: rand.New(rand.NewPCG(w.Seed, 0x7ac))}
	n := len(w.boxes)
	r.held, r.open = make([]map[int32]*hold, n), make([][]openWish, n)
	r.served, r.uploaded = make([]time.Duration, n), make([]time.Duration, n)
	r.lan, r.isp, r.done = make([]string, n), make([]string, n), make([]bool, n)
	for i := range w.boxes {
		b := &w.boxes[i]
		r.held[i] = map[int32]*hold{}
		for _, t := range b.preload {
			r.held[i][t] = &hold{bytes: w.titles[t].size, preload: true}
		}
		r.served[i], r.uploaded[i] = -1, -1
		r.lan[i] = "lan" + strconv.Itoa(int(b.lan))
		r.isp[i] = "isp" + strconv.Itoa(int(b.isp))
	}
	return r
}

func (r *run) round(policy string, now, step time.Duration) error {
	r.arrive(now)
	snap := r.snapshot(now)
	t0 := time.Now()
	var plan scheduler.Plan
	var err error
	switch policy {
	case PolicyScheduler:
		snap.Serving = r.prev.Serving()
		snap.Config = r.cfg
		if r.offPeak != nil {
			snap.Slots = r.slots(now)
		}
		plan, err = scheduler.Compute(snap)
	case PolicyTracker:
		plan = r.trackerPlan(snap, now)
	case PolicyCDN:
		plan = cdnPlan(snap)
	}
	if err != nil {
		return err
	}
	r.res.PlanSecondsPerRound += time.Since(t0).Seconds()
	v := scheduler.Check(snap, plan)
	r.res.StorageViolations += v.Storage
	r.res.UploadCapViolations += v.UploadCap
	r.res.OtherViolations += v.Source + v.NATPair + v.Offline
	r.apply(snap, plan, now, step)
	r.prev = plan
	if (now+step)/time.Hour != now/time.Hour {
		r.res.Series = append(r.res.Series, Point{Hours: (now + step).Hours(), ServerShare: share(r.server, r.wished), MedianReadyHours: percentile(r.ready, 0.5) / 3600})
	}
	return nil
}

// share is the server's bytes (into wishes and caches alike) over the bytes households wished
// for, so bytes moved into cache space never dilute it, and it compares with the lower bound.
func share(server, wished int64) float64 {
	if wished == 0 {
		return 0
	}
	return float64(server) / float64(wished)
}

// arrive adds the wishes made up to now to the boxes' wishlists (last = least wanted).
func (r *run) arrive(now time.Duration) {
	for ; r.wishIdx < len(r.w.wishes) && r.w.wishes[r.wishIdx].at <= now; r.wishIdx++ {
		e := r.w.wishes[r.wishIdx]
		r.open[e.box] = append(r.open[e.box], openWish{title: e.title, at: e.at})
	}
}

func (r *run) snapshot(now time.Duration) scheduler.Snapshot {
	w := r.w
	s := scheduler.Snapshot{Now: Start.Add(now), Items: make(map[media.ItemID]scheduler.Item, len(w.titles)), Boxes: make([]scheduler.Box, len(w.boxes))}
	for _, t := range w.titles {
		s.Items[t.id] = scheduler.Item{Size: t.size, Pieces: t.pieces}
	}
	for i := range w.boxes {
		b := &w.boxes[i]
		sb := scheduler.Box{ID: b.id, Region: b.regionName, Network: r.isp[i], LAN: r.lan[i], NAT: b.nat, Offline: !w.online(b, now),
			Uplink: b.up, Downlink: b.down, Holdings: make(map[media.ItemID]scheduler.Holding, len(r.held[i]))}
		var wishUsed, cacheUsed int64
		for t, h := range r.held[i] {
			tt := w.titles[t]
			hd := scheduler.Holding{Pieces: int(h.bytes / pieceSize), Complete: h.bytes >= tt.size, Cache: h.cache, Range: h.rng}
			if h.rng != (scheduler.PieceRange{}) {
				hd.Complete = false
				hd.Pieces = min(hd.Pieces, h.rng.Len())
				if h.bytes >= rangeBytes(tt, h.rng) {
					hd.Pieces = h.rng.Len()
				}
			}
			sb.Holdings[tt.id] = hd
			switch {
			case h.cache:
				cacheUsed += h.bytes
			case !h.preload:
				wishUsed += h.bytes
			}
		}
		sb.FreeWish, sb.FreeCache = max(0, b.wishQuota-wishUsed), max(0, b.cacheQuota-cacheUsed)
		for _, o := range r.open[i] {
			sb.Wishlist = append(sb.Wishlist, w.titles[o.title].id)
		}
		if r.served[i] >= 0 {
			sb.LastServed = Start.Add(r.served[i])
		}
		if r.uploaded[i] >= 0 {
			sb.LastUploaded = Start.Add(r.uploaded[i])
		}
		s.Boxes[i] = sb
	}
	return s
}

func boxIndex(id media.BoxID) int32    { return int32(binary.BigEndian.Uint32(id[:4])) }
func titleIndex(id media.ItemID) int32 { return int32(binary.BigEndian.Uint32(id[:4])) }

// apply moves bytes for one round at the planned rates. Bytes from relays count only as far as
// the relays hold pieces the receiver lacks (see frontier below).
func (r *run) apply(snap scheduler.Snapshot, plan scheduler.Plan, now, step time.Duration) {
	w := r.w
	// What a relay gets this round from the server or complete holders: only those bring bytes
	// it does not have already (relays feeding each other add nothing new).
	incoming := map[[2]int32]int64{}
	// A shared server copy's ranges are disjoint: what its sharers took from the server adds
	// up, like range placements' ranges.
	sharedIn := map[int32]int64{}
	for id, bp := range plan.Boxes {
		for _, f := range bp.Fetches {
			k := [2]int32{boxIndex(id), titleIndex(f.Item)}
			rate := f.ServerRate
			if f.Start.Sub(Start) >= now+step {
				rate = 0 // the server starts in a later round
			} else if len(f.ServerRanges) > 0 {
				rate = 0
				sharedIn[k[1]] += r.fromServer[k] + r.serverPart(f, k, step.Seconds())
			}
			for _, s := range f.Sources {
				if !s.Relay {
					rate += s.Rate
				}
			}
			incoming[k] = rate
		}
	}
	// Pieces spread: a relay's pieces are taken as a random subset of the item, so a receiver's
	// relays together hold 1-Π(1-level) of it; but no box gets beyond the frontier, what the
	// server and complete holders have brought into the world so far.
	// Range placements hold disjoint ranges, so what they brought in adds up.
	frontier := map[int32]int64{}
	ranges := map[int32]map[scheduler.PieceRange]int64{}
	for b, hs := range r.held {
		for t, h := range hs {
			reach := h.bytes + int64(float64(incoming[[2]int32{int32(b), t}])*step.Seconds())
			if h.rng == (scheduler.PieceRange{}) {
				frontier[t] = max(frontier[t], min(reach, w.titles[t].size))
				continue
			}
			if ranges[t] == nil {
				ranges[t] = map[scheduler.PieceRange]int64{}
			}
			ranges[t][h.rng] = max(ranges[t][h.rng], min(reach, rangeBytes(w.titles[t], h.rng)))
		}
	}
	for t, m := range ranges {
		frontier[t] = max(frontier[t], sumRates(m))
	}
	for t, b := range sharedIn {
		frontier[t] = max(frontier[t], min(b, w.titles[t].size))
	}
	heldAt := func(b, t int32) int64 {
		if h := r.held[b][t]; h != nil {
			return h.bytes
		}
		return 0
	}
	type move struct {
		box, title     int32
		bytes, server  int64
		cache          bool
		finishFraction float64
		sources        []int32
		crossShare     float64 // of the peers' bytes, the share from sources in another region
		rng            scheduler.PieceRange
		size           int64 // what the fetch completes at: the item or the range
	}
	var moves []move
	for id, bp := range plan.Boxes {
		bi := boxIndex(id)
		for _, e := range bp.Evict {
			delete(r.held[bi], titleIndex(e))
		}
		for _, f := range bp.Fetches {
			// Peers send the whole round; the server from the fetch's start (SCHED-17).
			dt, serverDt := step.Seconds(), 0.0
			if start := f.Start.Sub(Start); start < now+step {
				serverDt = (step - max(0, start-now)).Seconds()
			}
			ti := titleIndex(f.Item)
			tt := w.titles[ti]
			size := tt.size
			if f.Range != (scheduler.PieceRange{}) {
				size = rangeBytes(tt, f.Range) // a range placement fetches its range only
			}
			have := heldAt(bi, ti)
			// Bytes from the server and complete holders are new; bytes from a range holder
			// only as far as the receiver lacks pieces of that range (its own pieces being a
			// random share of the item); bytes from relays only up to what the best relay will
			// have by the round's end.
			var fullRate, relayRate, fromRanges, crossRate, peerRate int64
			var srcs []int32
			missing := 1.0 // share of the item none of the relays holds
			perRange := map[scheduler.PieceRange]int64{}
			for _, s := range f.Sources {
				si := boxIndex(s.Box)
				srcs = append(srcs, si)
				peerRate += s.Rate
				if w.boxes[si].region != w.boxes[bi].region {
					crossRate += s.Rate
				}
				switch {
				case s.Relay:
					relayRate += s.Rate
					missing *= 1 - float64(heldAt(si, ti))/float64(tt.size)
				case r.held[si][ti] != nil && r.held[si][ti].rng != (scheduler.PieceRange{}) && len(s.Ranges) == 1:
					perRange[s.Ranges[0]] += s.Rate
				default:
					fullRate += s.Rate
				}
			}
			lacking := 1 - float64(have)/float64(size)
			if f.Range != (scheduler.PieceRange{}) {
				lacking = 1 // a range placement lacks the rest of its own range
			}
			for rg, rate := range perRange {
				// At least a piece: a receiver asks a range holder for pieces it lacks.
				fromRanges += min(int64(float64(rate)*dt), max(pieceSize, int64(float64(rangeBytes(tt, rg))*lacking)))
				fullRate += rate
			}
			relayReach := min(frontier[ti], int64((1-missing)*float64(tt.size)))
			if f.Range != (scheduler.PieceRange{}) {
				relayReach = int64(float64(relayReach) / float64(tt.size) * float64(size))
			}
			fromServer := r.serverPart(f, [2]int32{bi, ti}, serverDt)
			fromFull := int64(float64(fullRate-sumRates(perRange))*dt) + fromServer + fromRanges
			fromRelays := min(int64(float64(relayRate)*dt), max(0, relayReach-have-fromFull))
			can := min(size-have, fromFull+fromRelays)
			total := fullRate + relayRate
			if serverDt > 0 {
				total += f.ServerRate
			}
			if can <= 0 || total == 0 {
				continue
			}
			server := min(can, fromServer)
			m := move{box: bi, title: ti, bytes: can, server: server, cache: f.Cache, sources: srcs, rng: f.Range, size: size}
			if peerRate > 0 {
				// The peers' bytes split across sources by planned rate.
				m.crossShare = float64(crossRate) / float64(peerRate)
			}
			if have+can >= size {
				m.finishFraction = float64(size-have) / float64(total) / step.Seconds()
			}
			moves = append(moves, m)
		}
	}
	for _, m := range moves {
		h := r.held[m.box][m.title]
		if h == nil {
			h = &hold{cache: m.cache, rng: m.rng}
			r.held[m.box][m.title] = h
		}
		if m.rng == (scheduler.PieceRange{}) {
			h.rng = scheduler.PieceRange{} // a wish for the whole item: the range is part of it
		}
		h.bytes += m.bytes
		r.server += m.server
		if h := int((now+w.clock)/time.Hour) % 24; h >= PeakHours.From && h < PeakHours.To {
			r.peak += m.server
		}
		r.peers += m.bytes - m.server
		r.crossed += int64(float64(m.bytes-m.server) * m.crossShare)
		r.fromServer[[2]int32{m.box, m.title}] += m.server
		if !m.cache {
			r.wished += m.bytes
		}
		b := &w.boxes[m.box]
		r.copies[[2]int32{b.region, m.title}] += m.server
		r.served[m.box] = now
		for _, s := range m.sources {
			r.uploaded[s] = now
		}
		size := w.titles[m.title].size
		if h.rng != (scheduler.PieceRange{}) {
			h.bytes = min(h.bytes, m.size)
			continue
		}
		if h.bytes < size {
			continue
		}
		h.bytes = size
		at := now + time.Duration(m.finishFraction*float64(step))
		r.open[m.box] = slices.DeleteFunc(r.open[m.box], func(o openWish) bool {
			if o.title == m.title && o.title == b.first && !r.done[m.box] {
				r.done[m.box] = true
				sec := (at - o.at).Seconds()
				r.ready = append(r.ready, sec)
				r.ratio = append(r.ratio, sec/(float64(size)/float64(b.down)))
			}
			return o.title == m.title
		})
	}
}

// finish turns the run's tallies into the policy's result. Top wishes not ready by the end count
// with the time they waited (a lower bound on their time-to-ready).
func (r *run) finish(dur time.Duration, rounds int) {
	w := r.w
	firstAt := map[int32]time.Duration{}
	for _, e := range w.wishes {
		if _, ok := firstAt[e.box]; !ok {
			firstAt[e.box] = e.at
		}
	}
	ready, ratio := slices.Clone(r.ready), slices.Clone(r.ratio)
	for b, at := range firstAt {
		if !r.done[b] && at < dur { // a wish made after the end is not counted
			r.res.Unfinished++
			sec := (dur - at).Seconds()
			bx := &w.boxes[b]
			ready = append(ready, sec)
			ratio = append(ratio, sec/(float64(w.titles[bx.first].size)/float64(bx.down)))
		}
	}
	res := r.res
	res.ServerShare = share(r.server, r.wished)
	if r.server > 0 {
		res.PeakHourServerShare = float64(r.peak) / float64(r.server)
	}
	res.CrossRegionPeerBytes = r.crossed
	if r.peers > 0 {
		res.CrossRegionPeerShare = float64(r.crossed) / float64(r.peers)
	}
	res.P50ReadySeconds = percentile(ready, 0.5)
	res.P95ReadySeconds = percentile(ready, 0.95)
	res.P95ReadyOverDownlink = percentile(ratio, 0.95)
	for k, bytes := range r.copies {
		res.ServerCopiesPerRegionMax = max(res.ServerCopiesPerRegionMax, float64(bytes)/float64(w.titles[k[1]].size))
	}
	res.PlanSecondsPerRound /= float64(rounds)
	res.PeakRSSBytes = peakRSS()
}

func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// peakRSS is the process's peak resident set (VmHWM) so far; 0 where /proc is missing.
func peakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Snapshot is the world at time at as a planner input, without simulating up to it: wishes made
// more than a day before are taken as ready, those of the last hour as half fetched. Benchmarks
// plan it.
func (w *World) Snapshot(at time.Duration) scheduler.Snapshot {
	r := newRun(w)
	r.arrive(at)
	for i := range r.open {
		kept := r.open[i][:0]
		for _, o := range r.open[i] {
			size := w.titles[o.title].size
			switch {
			case at-o.at > 24*time.Hour:
				r.held[i][o.title] = &hold{bytes: size}
				continue
			case at-o.at < time.Hour:
				r.held[i][o.title] = &hold{bytes: size / 2}
			}
			kept = append(kept, o)
		}
		r.open[i] = kept
	}
	return r.snapshot(at)
}

// rangeBytes is the size of pieces r of title t.
// serverPart is what the server sends fetch f of (box, title) k in dt seconds: at its planned
// rate, and with a share of a shared copy no more than is left of the share's ranges.
func (r *run) serverPart(f scheduler.Fetch, k [2]int32, dt float64) int64 {
	b := int64(float64(f.ServerRate) * dt)
	if len(f.ServerRanges) == 0 {
		return b
	}
	var share int64
	for _, rg := range f.ServerRanges {
		share += rangeBytes(r.w.titles[k[1]], rg)
	}
	return min(b, max(0, share-r.fromServer[k]))
}

func rangeBytes(t title, r scheduler.PieceRange) int64 {
	return t.size*int64(r.End)/int64(t.pieces) - t.size*int64(r.Begin)/int64(t.pieces)
}

func sumRates(m map[scheduler.PieceRange]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// slots is the off-peak calendar at round time now: the window is in the world's time of day,
// which runs w.clock ahead of the simulated clock.
func (r *run) slots(now time.Duration) []scheduler.Slot {
	out := r.offPeak.Slots(Start.Add(now+r.w.clock), 2)
	for i := range out {
		out[i].Start, out[i].End = out[i].Start.Add(-r.w.clock), out[i].End.Add(-r.w.clock)
	}
	return out
}
