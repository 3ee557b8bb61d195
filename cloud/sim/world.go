// Package sim is swarmbox's flow-level simulator: a world of boxes (regions → ISPs → LANs, link
// caps with a realistic spread, a diurnal on/off pattern, wishes arriving over days, some
// preloaded titles) stepped through time, with transfers moving at the rates a policy plans.
// It drives the real planner (cloud/scheduler) beside two baselines, a BitTorrent-style tracker
// and a CDN, over the same world, and reports server share, time-to-ready and violations.
// Everything but the wall-clock figures is deterministic for a given seed.
package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"swarmbox/media"
)

// Workload names.
const (
	Standard = "standard" // Zipf 0.8 demand over 5,000 titles, wishes over 7 days
	Flash    = "flash"    // a new release wished by 30% of boxes within one hour
	Sparse   = "sparse"   // a long tail: Zipf 0.2 over 50,000 titles, few wishes
)

// Workloads lists the workload names.
var Workloads = []string{Standard, Flash, Sparse}

const (
	pieceSize = 4 << 20
	mbit      = 125_000 // bytes/s in one Mbit/s
	gb        = 1_000_000_000
)

// Start is the simulated clock's origin (a Monday, 00:00 UTC).
var Start = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

type title struct {
	id     media.ItemID
	size   int64
	pieces int
}

type wishEv struct {
	at    time.Duration // since Start
	box   int32
	title int32
}

type box struct {
	id               media.BoxID
	region, isp, lan int32
	regionName       string
	nat              bool
	up, down         int64
	offFrom, offLen  int // daily off window, hours (offLen 0 = always on)
	wishQuota        int64
	cacheQuota       int64
	preload          []int32
	first            int32 // the box's first wish (its top wish when it arrived), -1 none
}

// World is a generated workload: boxes, titles and the wishes they make over time.
type World struct {
	Name     string
	Seed     uint64
	Duration time.Duration // how long the simulation runs
	clock    time.Duration // time of day at the start (the flash release comes at 18:00)
	titles   []title
	boxes    []box
	wishes   []wishEv // by time
}

// NewWorld generates a workload deterministically from seed.
func NewWorld(name string, boxes int, seed uint64) (*World, error) {
	if boxes < 1 {
		return nil, fmt.Errorf("boxes: %d, want at least 1", boxes)
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	w := &World{Name: name, Seed: seed}
	var nTitles, wishMean int
	var zipf float64
	var spread time.Duration
	switch name {
	case Standard:
		nTitles, zipf, wishMean, spread, w.Duration = 5000, 0.8, 3, 7*24*time.Hour, 8*24*time.Hour
	case Flash:
		nTitles, zipf, wishMean, spread, w.Duration, w.clock = 500, 0.8, 0, time.Hour, 12*time.Hour, 18*time.Hour
	case Sparse:
		nTitles, zipf, wishMean, spread, w.Duration = 50_000, 0.2, 2, 7*24*time.Hour, 8*24*time.Hour
	default:
		return nil, fmt.Errorf("workload %q: want one of %v", name, Workloads)
	}
	for i := range nTitles {
		size := int64(1*gb + r.Float64()*6*gb) // mean 4 GB
		var id media.ItemID
		id[0], id[1], id[2], id[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		w.titles = append(w.titles, title{id: id, size: size, pieces: int((size + pieceSize - 1) / pieceSize)})
	}
	// Regions of about 10,000 boxes (at least 1, at most 20), 3 ISPs each, LANs of 1–3 boxes.
	regions := min(max(1, boxes/10_000), 20)
	lan := int32(0)
	for i := range boxes {
		var id media.BoxID
		id[0], id[1], id[2], id[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		b := box{id: id, region: int32(i % regions), isp: int32(r.IntN(3)), first: -1}
		b.regionName = fmt.Sprintf("r%02d", b.region)
		if i >= regions && r.IntN(3) == 0 { // a third join the LAN of an earlier box of the region
			prev := &w.boxes[i-regions]
			b.lan, b.isp = prev.lan, prev.isp
		} else {
			b.lan = lan
			lan++
		}
		b.nat = r.IntN(5) < 2
		b.down = int64(25 * mbit * math.Exp(r.NormFloat64()*0.4))
		b.up = int64(5 * mbit * math.Exp(r.NormFloat64()*0.5))
		if r.IntN(10) < 3 { // three in ten are switched off at night
			b.offFrom, b.offLen = r.IntN(3), 5+r.IntN(4)
		}
		b.wishQuota, b.cacheQuota = 200*gb, 40*gb
		if r.IntN(5) == 0 { // preloaded at the factory with popular titles
			for range 1 + r.IntN(3) {
				t := int32(1 + r.IntN(min(50, nTitles-1))) // title 0 is the flash release: never preloaded
				if !slices.Contains(b.preload, t) {
					b.preload = append(b.preload, t)
				}
			}
		}
		w.boxes = append(w.boxes, b)
	}
	cdf := zipfCDF(nTitles, zipf)
	for i := range w.boxes {
		var n int
		switch name {
		case Flash:
			if r.IntN(10) < 3 {
				w.wishes = append(w.wishes, wishEv{at: time.Duration(r.Int64N(int64(spread))), box: int32(i), title: 0})
			}
			continue
		default:
			n = 1 + r.IntN(2*wishMean-1) // 1 .. 2·mean-1, mean = wishMean
		}
		seen := map[int32]bool{}
		for range n {
			t := int32(sort.SearchFloat64s(cdf, r.Float64()))
			t = min(t, int32(nTitles-1))
			if seen[t] || slices.Contains(w.boxes[i].preload, t) {
				continue
			}
			seen[t] = true
			w.wishes = append(w.wishes, wishEv{at: time.Duration(r.Int64N(int64(spread))), box: int32(i), title: t})
		}
	}
	w.sortWishes()
	return w, nil
}

func zipfCDF(n int, s float64) []float64 {
	cdf := make([]float64, n)
	var sum float64
	for k := range n {
		sum += 1 / math.Pow(float64(k+1), s)
		cdf[k] = sum
	}
	for k := range cdf {
		cdf[k] /= sum
	}
	return cdf
}

// online says whether box b is switched on at t (each box has its own nightly off window).
func (w *World) online(b *box, t time.Duration) bool {
	if b.offLen == 0 {
		return true
	}
	h := int((t+w.clock)/time.Hour) % 24
	return (h-b.offFrom+24)%24 >= b.offLen
}

// RegionCopiesServerShare is the share of delivered bytes the server sends when each wished
// title reaches each region once from the server, unless a box there holds it at the start.
// It is what a planner that never crosses regions can at best do, not a bound: a box may fetch
// from a box in another region (GlobalLowerBoundServerShare is the bound).
func (w *World) RegionCopiesServerShare() float64 {
	return w.serverShareOnce(func(b *box) int32 { return b.region })
}

// GlobalLowerBoundServerShare is the least share of delivered bytes the server must send, under
// any plan: each wished title leaves the server once unless some box, anywhere, holds it at the
// start (every other copy can come from boxes). The flow model moves a byte from the server
// only into a box, so no policy can go below it.
func (w *World) GlobalLowerBoundServerShare() float64 {
	return w.serverShareOnce(func(*box) int32 { return 0 })
}

// serverShareOnce is the server's bytes over the wished bytes when each wished title leaves the
// server once per group (boxes with the same group key), unless a box of the group holds it at
// the start.
func (w *World) serverShareOnce(group func(*box) int32) float64 {
	held := map[[2]int32]bool{}
	for i := range w.boxes {
		b := &w.boxes[i]
		for _, t := range b.preload {
			held[[2]int32{group(b), t}] = true
		}
	}
	need := map[[2]int32]bool{}
	var total, server int64
	for _, e := range w.wishes {
		b := &w.boxes[e.box]
		total += w.titles[e.title].size
		k := [2]int32{group(b), e.title}
		if !held[k] && !need[k] {
			need[k] = true
			server += w.titles[e.title].size
		}
	}
	if total == 0 {
		return 0
	}
	return float64(server) / float64(total)
}

// diurnalWeights is how wishes spread over the hours of a day (the world's time of day): few at
// night, most in the evening, as households browse after work.
var diurnalWeights = [24]float64{1, 1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 4, 4, 4, 5, 6, 8, 10, 12, 12, 10, 8, 4}

// Diurnal redraws each wish's time of day from the diurnal demand curve (diurnalWeights), keeping
// its day, so that demand peaks in the evening; deterministic for the world's seed. Wishes
// the curve would move past the end of the first day of a one-day spread stay within the run.
func (w *World) Diurnal() {
	r := rand.New(rand.NewPCG(w.Seed, 0xd1a))
	var cdf [24]float64
	var sum float64
	for h, v := range diurnalWeights {
		sum += v
		cdf[h] = sum
	}
	for i := range w.wishes {
		e := &w.wishes[i]
		local := e.at + w.clock
		day := local / (24 * time.Hour)
		h := sort.SearchFloat64s(cdf[:], r.Float64()*sum)
		at := day*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(r.Int64N(int64(time.Hour))) - w.clock
		e.at = max(0, min(at, w.Duration-time.Minute))
	}
	w.sortWishes()
}

// sortWishes orders the wishes by time, then box, and sets each box's first wish.
func (w *World) sortWishes() {
	slices.SortStableFunc(w.wishes, func(a, b wishEv) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return int(a.box - b.box)
	})
	for i := range w.boxes {
		w.boxes[i].first = -1
	}
	for _, e := range w.wishes {
		if w.boxes[e.box].first < 0 {
			w.boxes[e.box].first = e.title
		}
	}
}
