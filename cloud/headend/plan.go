package headend

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"swarmbox/cloud/scheduler"
	"swarmbox/cloud/store"
	"swarmbox/cloud/tracker"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// planner is the head-end's planning state: the scheduler's State from the last full round,
// updated by every sync since, and where boxes accept peers. Server.mu guards it.
type planner struct {
	state    *scheduler.State
	round    time.Time // when the last full round ran
	catalogV int64
	addrs    map[media.BoxID]string
	lan      map[media.BoxID]string
}

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
	}
	for i, r := range req.PeerRates {
		if r.Bytes < 0 || r.BytesPerSecond < 0 {
			return fmt.Errorf("peer_rates[%d]: negative bytes or bytes_per_second", i)
		}
	}
	return nil
}

// replan brings the plan up to date after box synced: a full round when one is due (every
// RoundInterval, or when the catalog changed), else only this box is re-planned.
func (s *Server) replan(ctx context.Context, box media.BoxID, now time.Time) error {
	cat, err := s.cfg.Store.Catalog(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.planner
	if p.state == nil || cat.Version != p.catalogV || now.Sub(p.round) >= s.cfg.RoundInterval || now.Before(p.round) {
		return s.fullRound(ctx, cat, now)
	}
	st, err := s.cfg.Store.BoxState(ctx, box)
	if err != nil {
		return err
	}
	rep, err := s.cfg.Store.Report(ctx, box)
	if err != nil {
		return err
	}
	// LANs are labelled in full rounds; a box reporting neighbours the last round did not group
	// with it (it just found them) gets one now, or it would be planned across the WAN for
	// up to RoundInterval while a neighbour has the item.
	for _, n := range rep.Neighbors {
		if l := p.lan[box]; l == "" || p.lan[n] != l {
			return s.fullRound(ctx, cat, now)
		}
	}
	p.addrs[box] = st.PeerAddr
	lan := p.lan[box]
	for _, n := range rep.Neighbors {
		if l, ok := p.lan[n]; ok && lan == "" {
			lan = l
		}
	}
	_, err = p.state.Update(schedBox(st, rep, lan, false), now)
	return err
}

// fullRound plans every box from the stored reports.
func (s *Server) fullRound(ctx context.Context, cat protocol.Catalog, now time.Time) error {
	p := &s.planner
	states, err := s.cfg.Store.BoxStates(ctx)
	if err != nil {
		return err
	}
	reports, err := s.cfg.Store.Reports(ctx)
	if err != nil {
		return err
	}
	rep := make(map[media.BoxID]store.Report, len(reports))
	for _, r := range reports {
		rep[r.Box] = r
	}
	snap := scheduler.Snapshot{Now: now, Items: make(map[media.ItemID]scheduler.Item, len(cat.Items))}
	if p.state != nil {
		snap.Serving = p.state.Plan().Serving()
	}
	for _, it := range cat.Items {
		snap.Items[it.ID] = scheduler.Item{Size: it.SealedSize, Pieces: it.Pieces}
	}
	p.lan = lanLabels(reports)
	addrs := make(map[media.BoxID]string, len(states))
	for _, st := range states {
		r := rep[st.ID]
		// A box silent for three sync intervals is taken to be off.
		offline := now.Sub(r.Updated) > 3*s.cfg.SyncInterval
		snap.Boxes = append(snap.Boxes, schedBox(st, r, p.lan[st.ID], offline))
		addrs[st.ID] = st.PeerAddr
		for _, pr := range r.Rates {
			if _, known := rep[pr.Box]; known {
				snap.Rates = append(snap.Rates, scheduler.Rate{From: pr.Box, To: st.ID, BytesPerSecond: pr.BytesPerSecond})
			}
		}
	}
	for it, boxes := range snap.Serving {
		snap.Serving[it] = slices.DeleteFunc(boxes, func(b media.BoxID) bool { _, ok := rep[b]; return !ok })
		if _, ok := snap.Items[it]; !ok {
			delete(snap.Serving, it)
		}
	}
	st, err := scheduler.NewState(snap)
	if err != nil {
		return err
	}
	st.Round()
	p.state, p.round, p.catalogV, p.addrs = st, now, cat.Version, addrs
	return nil
}

// schedBox is a stored box as the scheduler sees it.
func schedBox(st store.BoxState, r store.Report, lan string, offline bool) scheduler.Box {
	b := scheduler.Box{
		ID: st.ID, Region: r.Region, Network: r.Network, LAN: lan, NAT: r.NAT, Offline: offline,
		Uplink: r.Uplink, Downlink: r.Downlink, FreeWish: r.FreeWish, FreeCache: r.FreeCache,
		LastServed: r.LastServed, LastUploaded: r.LastUploaded,
		Wishlist: st.Wishlist, Holdings: make(map[media.ItemID]scheduler.Holding, len(st.Holdings)),
	}
	for _, h := range st.Holdings {
		b.Holdings[h.Item] = scheduler.Holding{Pieces: h.Pieces, Complete: h.Complete, Cache: slices.Contains(r.CacheItems, h.Item)}
	}
	return b
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
	out := map[media.BoxID]string{}
	for b := range parent {
		out[b] = find(b).String()
	}
	for _, r := range reports {
		if len(r.Neighbors) > 0 {
			out[r.Box] = find(r.Box).String()
		}
	}
	return out
}

// syncResponse turns the box's part of the plan into protocol fields: peers with who dials and
// their piece ranges, the web seed only once a server transfer's start has come, the start time,
// the cache area for placements, and evictions.
func (s *Server) syncResponse(ctx context.Context, box media.BoxID, now time.Time) (protocol.SyncResponse, error) {
	s.mu.Lock()
	var bp scheduler.BoxPlan
	if s.planner.state != nil {
		bp = s.planner.state.BoxPlan(box)
	}
	addrs := map[media.BoxID]string{}
	for _, f := range bp.Fetches {
		for _, src := range f.Sources {
			addrs[src.Box] = s.planner.addrs[src.Box]
		}
	}
	s.mu.Unlock()
	version, err := s.cfg.Store.CatalogVersion(ctx) // not the whole catalog: this runs on every sync
	if err != nil {
		return protocol.SyncResponse{}, err
	}
	resp := protocol.SyncResponse{Fetches: []protocol.Fetch{}, Evict: bp.Evict, SyncAfterSeconds: int(s.cfg.SyncInterval / time.Second), CatalogVersion: version}
	for _, f := range bp.Fetches {
		it, err := s.cfg.Store.Item(ctx, f.Item)
		if err != nil {
			return resp, err
		}
		pf := protocol.Fetch{Item: f.Item, InfoHash: it.InfoHash, Announce: s.announceURL(box), Peers: []protocol.Peer{}}
		for _, src := range f.Sources {
			a := addrs[src.Box]
			if a == "" {
				continue
			}
			p := protocol.Peer{Box: src.Box, Addr: a, Dial: src.Dial}
			for _, r := range src.Ranges {
				p.Pieces = append(p.Pieces, protocol.PieceRange{Begin: r.Begin, End: r.End})
			}
			pf.Peers = append(pf.Peers, p)
		}
		if f.Start.After(now) {
			pf.Start = f.Start
		} else if f.Server {
			pf.WebSeed = s.seedURL(box, f.Item)
		}
		if f.Cache {
			pf.Area = protocol.AreaCache
		}
		resp.Fetches = append(resp.Fetches, pf)
	}
	if len(resp.Fetches) > 0 {
		// Report progress often while transferring, so followers learn of new pieces.
		resp.SyncAfterSeconds = min(resp.SyncAfterSeconds, 2)
	}
	resp.SyncAfterSeconds = max(resp.SyncAfterSeconds, 1)
	return resp, nil
}

// serverAllowed says whether the current plan lets the server send item to box now.
func (s *Server) serverAllowed(box media.BoxID, item media.ItemID, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.planner.state == nil {
		return false
	}
	for _, f := range s.planner.state.BoxPlan(box).Fetches {
		if f.Item == item {
			return f.Server && !f.Start.After(now)
		}
	}
	return false
}

// PeersFor implements tracker.Peers from the same plan as the sync answers: the sources of the
// box's fetch of the item, and the receivers behind NAT that this box must dial itself.
func (s *Server) PeersFor(ctx context.Context, box media.BoxID, infoHash string) ([]netip.AddrPort, error) {
	it, err := s.cfg.Store.ItemByInfoHash(ctx, infoHash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, tracker.ErrUnknownTorrent
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.planner.state == nil {
		return nil, nil
	}
	bp := s.planner.state.BoxPlan(box)
	var peers []media.BoxID
	for _, f := range bp.Fetches {
		if f.Item == it.ID {
			for _, src := range f.Sources {
				peers = append(peers, src.Box)
			}
		}
	}
	for _, u := range bp.Uploads {
		if u.Item == it.ID {
			peers = append(peers, u.To)
		}
	}
	var out []netip.AddrPort
	for _, p := range peers {
		if ap, err := netip.ParseAddrPort(s.planner.addrs[p]); err == nil {
			out = append(out, ap)
		}
	}
	return out, nil
}
