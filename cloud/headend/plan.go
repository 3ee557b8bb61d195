package headend

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"swarmbox/cloud/scheduler"
	"swarmbox/cloud/store"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// checkReport refuses a sync report whose scheduling fields make no sense, naming the field.
func checkReport(req protocol.SyncRequest) error {
	switch {
	case req.FreeBytes < 0:
		return fmt.Errorf("free_bytes: negative (%d)", req.FreeBytes)
	case req.UplinkBytesPerSecond < 0:
		return fmt.Errorf("uplink_bps: negative (%d)", req.UplinkBytesPerSecond)
	case req.DownlinkBytesPerSecond < 0:
		return fmt.Errorf("downlink_bps: negative (%d)", req.DownlinkBytesPerSecond)
	}
	for i, a := range req.Areas {
		if a.Area != protocol.AreaPreload && a.Area != protocol.AreaWishlist && a.Area != protocol.AreaCache {
			return fmt.Errorf("areas[%d].area: unknown area %q (want %s, %s or %s)", i, a.Area, protocol.AreaPreload, protocol.AreaWishlist, protocol.AreaCache)
		}
		if a.Quota < 0 || a.Used < 0 || a.Free < 0 {
			return fmt.Errorf("areas[%d]: negative quota, used or free", i)
		}
	}
	for i, h := range req.Holdings {
		if h.Area != "" && h.Area != protocol.AreaPreload && h.Area != protocol.AreaWishlist && h.Area != protocol.AreaCache {
			return fmt.Errorf("holdings[%d].area: unknown area %q", i, h.Area)
		}
		if r := h.Range; r != nil && (r.Begin < 0 || r.End <= r.Begin) {
			return fmt.Errorf("holdings[%d].range: [%d,%d) is not a range of pieces", i, r.Begin, r.End)
		}
	}
	for i, r := range req.PeerRates {
		if r.Bytes < 0 || r.BytesPerSecond < 0 {
			return fmt.Errorf("peer_rates[%d]: negative bytes or bytes_per_second", i)
		}
	}
	seen := map[media.ItemID]bool{}
	for i, d := range req.Deadlines {
		switch {
		case d.By.IsZero():
			return fmt.Errorf("deadlines[%d].by: missing; give the time the wish should be ready by", i)
		case seen[d.Item]:
			return fmt.Errorf("deadlines[%d].item: %s given twice; keep one deadline per wish", i, d.Item)
		case !slices.Contains(req.Wishlist, d.Item):
			return fmt.Errorf("deadlines[%d].item: %s is not on the wishlist", i, d.Item)
		}
		seen[d.Item] = true
	}
	return nil
}

// deadlines are a box's deadlines for the wishes of wish (a wishlist the box adopts may have
// dropped some), as the scheduler takes them; nil when none.
func deadlines(ds []protocol.WishDeadline, wish []media.ItemID) map[media.ItemID]time.Time {
	var out map[media.ItemID]time.Time
	for _, d := range ds {
		if slices.Contains(wish, d.Item) {
			if out == nil {
				out = map[media.ItemID]time.Time{}
			}
			out[d.Item] = d.By
		}
	}
	return out
}

// lanLabels groups boxes that found each other by mDNS (neighbours of neighbours included)
// and labels each group by its smallest box id.
func lanLabels(reports []store.Report) map[media.BoxID]string {
	parent := map[media.BoxID]media.BoxID{}
	var find func(media.BoxID) media.BoxID
	find = func(b media.BoxID) media.BoxID {
		p, ok := parent[b]
		if !ok || p == b {
			return b
		}
		r := find(p)
		parent[b] = r
		return r
	}
	union := func(a, b media.BoxID) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if slices.Compare(ra[:], rb[:]) > 0 {
			ra, rb = rb, ra
		}
		parent[rb] = ra
	}
	for _, r := range reports {
		for _, n := range r.Neighbors {
			union(r.Box, n)
		}
	}
	// Both ends of every reported pair get the label, the group's root too (it has no parent
	// entry of its own when only the other box has reported the pair yet).
	out := map[media.BoxID]string{}
	for _, r := range reports {
		for _, n := range r.Neighbors {
			out[r.Box], out[n] = find(r.Box).String(), find(n).String()
		}
	}
	return out
}

// schedHolding is a reported holding of an item of n pieces as the scheduler sees it: counts
// clamped, and a range placement whose range does not fit the item taken as a partial holding
// of the whole item (the planner then never books the box for pieces it may lack).
func schedHolding(h protocol.Holding, n int, cache bool) scheduler.Holding {
	sh := scheduler.Holding{Pieces: min(max(h.Pieces, 0), n), Complete: h.Complete, Cache: cache}
	if r := h.Range; r != nil && !h.Complete && r.Valid(n) {
		sh.Range = scheduler.PieceRange{Begin: r.Begin, End: r.End}
		sh.Pieces = min(sh.Pieces, r.Len())
	}
	return sh
}

// schedBox is a stored box as the scheduler sees it; pieces gives each known item's piece count.
func schedBox(st store.BoxState, r store.Report, lan string, offline bool, pieces func(media.ItemID) int) scheduler.Box {
	b := scheduler.Box{
		ID: st.ID, Region: cmp.Or(r.Located, r.Region), Network: r.Network, LAN: lan, NAT: r.NAT, Offline: offline, // SCHED-15
		Uplink: r.Uplink, Downlink: r.Downlink, FreeWish: r.FreeWish, FreeCache: r.FreeCache,
		LastServed: r.LastServed, LastUploaded: r.LastUploaded,
		Wishlist: st.Wishlist, Holdings: make(map[media.ItemID]scheduler.Holding, len(st.Holdings)),
		Deadlines: deadlines(r.Deadlines, st.Wishlist),
	}
	for _, h := range st.Holdings {
		b.Holdings[h.Item] = schedHolding(h, pieces(h.Item), slices.Contains(r.CacheItems, h.Item))
	}
	return b
}
