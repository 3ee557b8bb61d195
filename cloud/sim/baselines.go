package sim

import (
	"time"

	"swarmbox/cloud/scheduler"
	"swarmbox/media"
)

// maxFetches is how many wishes a baseline box fetches at once, as the planner's default.
var maxFetches = scheduler.DefaultConfig.MaxFetches

// needs returns the wishes of an online box that a baseline fetches: not complete, in order, at
// most maxFetches, as many as fit its free space.
func needs(s *scheduler.Snapshot, b *scheduler.Box) []media.ItemID {
	if b.Offline {
		return nil
	}
	free := b.FreeWish
	var out []media.ItemID
	for _, it := range b.Wishlist {
		h := b.Holdings[it]
		if h.Complete || len(out) == maxFetches {
			continue
		}
		in := s.Items[it]
		rest := in.Size - in.Size*int64(h.Pieces)/int64(max(1, in.Pieces))
		if rest > free {
			continue
		}
		free -= rest
		out = append(out, it)
	}
	return out
}

func remaining(s *scheduler.Snapshot, b *scheduler.Box, it media.ItemID) int64 {
	in := s.Items[it]
	return in.Size - in.Size*int64(b.Holdings[it].Pieces)/int64(max(1, in.Pieces))
}

// cdnPlan sends everything from the server: each box's needs share its downlink.
func cdnPlan(s scheduler.Snapshot) scheduler.Plan {
	p := scheduler.Plan{Boxes: map[media.BoxID]scheduler.BoxPlan{}}
	for i := range s.Boxes {
		b := &s.Boxes[i]
		n := needs(&s, b)
		if len(n) == 0 {
			continue
		}
		var bp scheduler.BoxPlan
		for _, it := range n {
			f := scheduler.Fetch{Item: it, Server: true, ServerRate: b.Downlink / int64(len(n)), Start: s.Now, Bytes: remaining(&s, b, it)}
			bp.Fetches = append(bp.Fetches, f)
			p.ServerBytes += f.Bytes
		}
		p.Boxes[b.ID] = bp
	}
	return p
}

// trackerPlan is BitTorrent with a plain tracker: every box, in random order, asks for each
// need and gets up to 5 random peers holding any of it (anywhere, complete or partial; two NATed
// boxes cannot connect), each sending what its spare uplink allows. The web seed sends too while
// none of the peers it got holds the whole item. No cache placements.
func (r *run) trackerPlan(s scheduler.Snapshot, now time.Duration) scheduler.Plan {
	const peers, tries = 5, 20
	minRate := scheduler.DefaultConfig.MinRate
	holders := map[media.ItemID][]int{}
	for i := range s.Boxes {
		b := &s.Boxes[i]
		if b.Offline {
			continue
		}
		for it, h := range b.Holdings {
			if h.Pieces > 0 {
				holders[it] = append(holders[it], i)
			}
		}
	}
	upUsed := make([]int64, len(s.Boxes))
	p := scheduler.Plan{Boxes: map[media.BoxID]scheduler.BoxPlan{}}
	for _, i := range r.rng.Perm(len(s.Boxes)) {
		b := &s.Boxes[i]
		n := needs(&s, b)
		if len(n) == 0 {
			continue
		}
		var bp scheduler.BoxPlan
		downSpare := b.Downlink
		for _, it := range n {
			f := scheduler.Fetch{Item: it, Start: s.Now, Bytes: remaining(&s, b, it)}
			hs := holders[it]
			chosen := map[int]bool{}
			for range tries {
				if len(hs) == 0 || len(f.Sources) == peers || downSpare < minRate {
					break
				}
				j := hs[r.rng.IntN(len(hs))]
				src := &s.Boxes[j]
				if j == i || chosen[j] || (src.NAT && b.NAT) || src.Uplink-upUsed[j] < minRate {
					continue
				}
				chosen[j] = true
				rate := min(src.Uplink-upUsed[j], downSpare)
				upUsed[j] += rate
				downSpare -= rate
				f.Sources = append(f.Sources, scheduler.Source{Box: src.ID, Rate: rate, Relay: !src.Holdings[it].Complete, Dial: !src.NAT})
			}
			complete := false
			for _, src := range f.Sources {
				complete = complete || !src.Relay
			}
			// Without a seed among its peers, a BitTorrent client falls back on the web seed.
			if !complete && downSpare >= minRate {
				f.Server, f.ServerRate = true, downSpare
				downSpare = 0
			}
			if len(f.Sources) > 0 || f.Server {
				bp.Fetches = append(bp.Fetches, f)
			}
		}
		if len(bp.Fetches) > 0 {
			p.Boxes[b.ID] = bp
		}
	}
	return p
}
