package headend

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"swarmbox/cloud/regions"
	"swarmbox/cloud/scheduler"
	"swarmbox/cloud/store"
	"swarmbox/cloud/tracker"
	"swarmbox/media"
	"swarmbox/sync/protocol"
)

// planner holds the plan of every region. Full planning rounds run in the background (Start),
// never inside a sync: a sync re-plans only its own box against the region's latest plan.
//
// Several head-end instances may share one database. Each region has a lease in the store
// ("plan/REGION"); the instance holding it runs the region's rounds, re-plans each box that syncs
// with it, and publishes the plan after every round. The other instances answer syncs from the
// latest published plan until they win the lease themselves, which happens when the holder stops
// renewing it (it died, or Close released it).
type planner struct {
	id      string // this instance, as lease holder
	mu      sync.RWMutex
	regions map[string]*regionPlan
	kick    chan struct{} // asks the loop for an early pass
	stop    context.CancelFunc
	done    chan struct{}
}

// regionPlan is one region's latest plan.
type regionPlan struct {
	name string

	mu        sync.Mutex
	holder    bool             // this instance holds the region's lease
	state     *scheduler.State // the holder's plan, updated by every sync
	published *publishedPlan   // another instance's plan, when not the holder
	version   int64            // of published
	items     map[media.ItemID]planItem
	catalogV  int64
	round     time.Time // when the last full round ran here
	// relabel says a box reported LAN neighbours the last round did not group it with (it
	// just found them by mDNS): LANs are labelled in full rounds, and until the next one the
	// box would be planned across the WAN while a neighbour has the item.
	relabel bool
	addrs   map[media.BoxID]string
	lan     map[media.BoxID]string
	uplinks map[media.BoxID]int64 // measured per source box at the last round (SCHED-5)
	// policyV is the region file's version the last round planned with: a reloaded file
	// re-plans at once (SCHED-16).
	policyV int64
}

// planItem is what answering a sync needs of a title.
type planItem struct {
	Pieces   int    `json:"pieces"`
	InfoHash string `json:"info_hash"`
	Size     int64  `json:"size,omitempty"` // of the sealed container
}

// publishedPlan is a region's plan as its lease holder stores it for the other instances.
type publishedPlan struct {
	Catalog int64                             `json:"catalog"`
	At      time.Time                         `json:"at"`
	Items   map[media.ItemID]planItem         `json:"items"`
	Boxes   map[media.BoxID]scheduler.BoxPlan `json:"boxes"`
	Addrs   map[media.BoxID]string            `json:"addrs"`
}

func leaseName(region string) string { return "plan/" + region }

func newPlanner(id string) planner {
	if id == "" {
		b := make([]byte, 6)
		rand.Read(b)
		host, _ := os.Hostname()
		id = host + "/" + hex.EncodeToString(b)
	}
	return planner{id: id, regions: map[string]*regionPlan{}, kick: make(chan struct{}, 1)}
}

// region returns the region's plan, making an empty one when create is set.
func (p *planner) region(name string, create bool) *regionPlan {
	p.mu.RLock()
	rp := p.regions[name]
	p.mu.RUnlock()
	if rp != nil || !create {
		return rp
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if rp = p.regions[name]; rp == nil {
		rp = &regionPlan{name: name, addrs: map[media.BoxID]string{}}
		p.regions[name] = rp
	}
	return rp
}

func (p *planner) all() []*regionPlan {
	p.mu.RLock()
	defer p.mu.RUnlock()
	out := make([]*regionPlan, 0, len(p.regions))
	for _, rp := range p.regions {
		out = append(out, rp)
	}
	return out
}

// wake asks the loop for a pass now (without waiting for it).
func (p *planner) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Start plans once (so the first syncs find a plan), then keeps planning in the background
// until ctx ends or Close is called.
func (s *Server) Start(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	s.planner.stop, s.planner.done = cancel, make(chan struct{})
	if err := s.planPass(ctx); err != nil {
		s.cfg.Log.Warn("planning", "err", err)
	}
	go s.planLoop(ctx)
}

// Close stops the planning loop and gives up this instance's leases, so that another instance
// takes its regions over at once rather than after the lease runs out.
func (s *Server) Close() {
	if s.planner.stop == nil {
		return
	}
	s.planner.stop()
	<-s.planner.done
	for _, rp := range s.planner.all() {
		rp.mu.Lock()
		held := rp.holder
		rp.holder, rp.state = false, nil
		rp.mu.Unlock()
		if held {
			if err := s.cfg.Store.ReleaseLease(context.Background(), leaseName(rp.name), s.planner.id); err != nil {
				s.cfg.Log.Warn("release planner lease", "region", rp.name, "err", err)
			}
		}
	}
}

func (s *Server) planLoop(ctx context.Context) {
	defer close(s.planner.done)
	t := time.NewTicker(s.cfg.PlanPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.planner.kick:
		}
		if err := s.planPass(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("planning", "err", err)
		}
		// Early passes are for catalog changes and new regions: at most ten per poll interval.
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.PlanPoll / 10):
		}
	}
}

// planPass renews or takes the lease of every region, runs the rounds that are due where this
// instance holds the lease, and loads the plans other instances published for the rest.
func (s *Server) planPass(ctx context.Context) error {
	now := s.cfg.Now()
	names, err := s.cfg.Store.Regions(ctx)
	if err != nil {
		return fmt.Errorf("list regions: %w", err)
	}
	catV, err := s.cfg.Store.CatalogVersion(ctx)
	if err != nil {
		return fmt.Errorf("catalog version: %w", err)
	}
	if err := s.cfg.Store.PruneReplays(ctx, now); err != nil {
		return fmt.Errorf("prune replay keys: %w", err)
	}
	policies, policyV := s.policies()
	var due []*regionPlan
	for _, name := range names {
		rp := s.planner.region(name, true)
		held, err := s.cfg.Store.TryLease(ctx, leaseName(name), s.planner.id, now, s.cfg.LeaseTTL)
		if err != nil {
			return fmt.Errorf("planner lease of region %q: %w", name, err)
		}
		rp.mu.Lock()
		if held != rp.holder {
			s.cfg.Log.Info("planner lease", "region", name, "instance", s.planner.id, "held", held)
			rp.state, rp.published, rp.version = nil, nil, 0
		}
		rp.holder = held
		need := held && (rp.state == nil || rp.relabel || rp.catalogV != catV || now.Sub(rp.round) >= s.cfg.RoundInterval || now.Before(rp.round) || rp.policyV != policyV)
		rp.mu.Unlock()
		switch {
		case need:
			due = append(due, rp)
		case !held:
			if err := s.loadPublished(ctx, rp); err != nil {
				return err
			}
		}
	}
	if len(due) == 0 {
		return nil
	}
	return s.fullRound(ctx, due, now, policies, policyV)
}

// policies are the region file's policies in force and their version (none without a file).
func (s *Server) policies() (regions.Policies, int64) {
	if s.cfg.Regions == nil {
		return nil, 0
	}
	return s.cfg.Regions.Current()
}

// calendarDays is how far ahead a round's slot calendar reaches: rounds run every minute, so
// two days cover every window a plan can wait for.
const calendarDays = 2

// loadPublished takes the region's published plan when it is newer than the one held.
func (s *Server) loadPublished(ctx context.Context, rp *regionPlan) error {
	v, err := s.cfg.Store.PlanVersion(ctx, rp.name)
	if err != nil {
		return fmt.Errorf("plan version of region %q: %w", rp.name, err)
	}
	rp.mu.Lock()
	have := rp.version
	rp.mu.Unlock()
	if v == 0 || v == have {
		return nil
	}
	v, body, err := s.cfg.Store.Plan(ctx, rp.name)
	if err != nil {
		return err
	}
	var pub publishedPlan
	if err := json.Unmarshal(body, &pub); err != nil {
		return fmt.Errorf("published plan of region %q: %w", rp.name, err)
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if !rp.holder {
		rp.published, rp.version, rp.items, rp.catalogV = &pub, v, pub.Items, pub.Catalog
		rp.addrs = pub.Addrs
		if rp.addrs == nil {
			rp.addrs = map[media.BoxID]string{}
		}
	}
	return nil
}

// fullRound plans the due regions from the stored reports, each region on its own: a region's
// boxes are sources only for each other, and the server's calendar applies per region.
func (s *Server) fullRound(ctx context.Context, due []*regionPlan, now time.Time, policies regions.Policies, policyV int64) error {
	t0 := time.Now()
	cat, err := s.cfg.Store.Catalog(ctx)
	if err != nil {
		return err
	}
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
	lan := lanLabels(reports)
	uplinks := measuredUplinks(reports, now)
	peerBytes, err := s.roundEvidence(ctx)
	if err != nil {
		return err
	}
	items := make(map[media.ItemID]planItem, len(cat.Items))
	for _, it := range cat.Items {
		items[it.ID] = planItem{Pieces: it.Pieces, InfoHash: it.InfoHash, Size: it.SealedSize}
	}
	for _, rp := range due {
		rp.mu.Lock()
		var serving map[media.ItemID][]media.BoxID
		if rp.state != nil {
			serving = rp.state.Plan().Serving()
		}
		rp.mu.Unlock()
		// The web seed and the boxes honour Fetch.ServerRanges (the server's copy of an item into
		// the region is shared among its receivers) and Fetch.Range (range placements).
		cfg := s.cfg.Plan
		cfg.SharedServerCopy, cfg.RangePlacements = true, true
		snap := scheduler.Snapshot{Now: now, Items: make(map[media.ItemID]scheduler.Item, len(cat.Items)), Serving: serving, Config: cfg}
		if w, ok := policies[rp.name]; ok {
			snap.Slots = w.Slots(now, calendarDays) // off-peak windows (SCHED-11, SCHED-16)
		}
		for _, it := range cat.Items {
			snap.Items[it.ID] = scheduler.Item{Size: it.SealedSize, Pieces: it.Pieces}
		}
		addrs := map[media.BoxID]string{}
		for _, st := range states {
			r, ok := rep[st.ID]
			if !ok || r.Region != rp.name {
				continue
			}
			// A box silent for three sync intervals is taken to be off.
			offline := now.Sub(r.Updated) > 3*s.cfg.SyncInterval
			sb := schedBox(st, r, lan[st.ID], offline, func(id media.ItemID) int { return items[id].Pieces })
			s.evidence.trust(&sb, items, peerBytes[st.ID], now, nil) // only what the evidence supports
			sb.MeasuredUplink = uplinks[st.ID]
			snap.Boxes = append(snap.Boxes, sb)
			addrs[st.ID] = st.PeerAddr
		}
		snap.Rates = pairRates(reports, addrs, now)
		for it, boxes := range snap.Serving {
			snap.Serving[it] = slices.DeleteFunc(boxes, func(b media.BoxID) bool { _, ok := addrs[b]; return !ok })
			if _, ok := snap.Items[it]; !ok {
				delete(snap.Serving, it)
			}
		}
		st, err := scheduler.NewState(snap)
		if err != nil {
			return fmt.Errorf("plan region %q: %w", rp.name, err)
		}
		st.Round()
		body, err := json.Marshal(publishedPlan{Catalog: cat.Version, At: now, Items: items, Boxes: st.Plan().Boxes, Addrs: addrs})
		if err != nil {
			return err
		}
		_, err = s.cfg.Store.SavePlan(ctx, rp.name, leaseName(rp.name), s.planner.id, body, s.cfg.Now())
		if errors.Is(err, store.ErrNotHolder) {
			rp.mu.Lock()
			rp.holder, rp.state = false, nil
			rp.mu.Unlock()
			continue
		}
		if err != nil {
			return fmt.Errorf("publish plan of region %q: %w", rp.name, err)
		}
		rp.mu.Lock()
		rp.state, rp.items, rp.catalogV, rp.round, rp.addrs, rp.lan, rp.uplinks = st, items, cat.Version, now, addrs, lan, uplinks
		rp.relabel, rp.policyV = false, policyV
		rp.mu.Unlock()
	}
	s.metrics.roundTime.Observe(time.Since(t0).Seconds())
	return nil
}

// syncBox is the syncing box as the scheduler sees it, built from what the sync carries (and
// what saving it returned) instead of reading it back: items the plan does not know are left
// out, piece counts clamped. stale says the box named items the plan does not know yet.
func (rp *regionPlan) syncBox(b store.Box, req protocol.SyncRequest, saved store.SyncResult) (sb scheduler.Box, stale bool) {
	wish := req.Wishlist
	if saved.Adopt {
		wish = saved.Wishlist
	}
	freeWish, freeCache := store.FreeSpace(req)
	sb = scheduler.Box{
		ID: b.ID, Region: cmp.Or(saved.Located, b.Region), Network: req.Network, NAT: req.BehindNAT, // SCHED-15
		Uplink: req.UplinkBytesPerSecond, Downlink: req.DownlinkBytesPerSecond, FreeWish: freeWish, FreeCache: freeCache,
		LastServed: saved.LastServed, LastUploaded: saved.LastUploaded, MeasuredUplink: rp.uplinks[b.ID],
		Wishlist: make([]media.ItemID, 0, len(wish)), Holdings: make(map[media.ItemID]scheduler.Holding, len(req.Holdings)),
	}
	for _, id := range wish {
		if _, ok := rp.items[id]; !ok {
			stale = true
		} else if !slices.Contains(sb.Wishlist, id) {
			sb.Wishlist = append(sb.Wishlist, id)
		}
	}
	for _, h := range req.Holdings {
		it, ok := rp.items[h.Item]
		if !ok {
			stale = true
			continue
		}
		sb.Holdings[h.Item] = schedHolding(h, it.Pieces, h.Area == protocol.AreaCache)
	}
	sb.Deadlines = deadlines(req.Deadlines, sb.Wishlist)
	sb.LAN = rp.lan[b.ID]
	for _, n := range req.Neighbors {
		if l, ok := rp.lan[n.Box]; ok && sb.LAN == "" {
			sb.LAN = l
		}
		// Only a neighbour this region knows: one the next round could group the box with.
		if _, known := rp.addrs[n.Box]; known && (rp.lan[b.ID] == "" || rp.lan[n.Box] != rp.lan[b.ID]) {
			rp.relabel = true
		}
	}
	return sb, stale
}

// boxPlan is box's part of the region's plan; rp.mu must be held.
func (rp *regionPlan) boxPlan(box media.BoxID) scheduler.BoxPlan {
	switch {
	case rp.state != nil:
		return rp.state.BoxPlan(box)
	case rp.published != nil:
		return rp.published.Boxes[box]
	}
	return scheduler.BoxPlan{}
}

// peerAddrs copies where the boxes a plan names accept peers; rp.mu must be held.
func (rp *regionPlan) peerAddrs(bp scheduler.BoxPlan) map[media.BoxID]string {
	out := map[media.BoxID]string{}
	for _, f := range bp.Fetches {
		for _, src := range f.Sources {
			out[src.Box] = rp.addrs[src.Box]
		}
	}
	for _, u := range bp.Uploads {
		out[u.To] = rp.addrs[u.To]
	}
	return out
}

// answer re-plans the syncing box (where this instance plans its region) and turns its part of
// the plan into the sync answer: peers with who dials and their piece ranges, the web seed only
// once a server transfer's start has come, the start time, the cache area for placements, and
// evictions.
func (s *Server) answer(b store.Box, addr string, req protocol.SyncRequest, saved store.SyncResult, now time.Time) (protocol.SyncResponse, error) {
	resp := protocol.SyncResponse{Fetches: []protocol.Fetch{}, SyncAfterSeconds: int(s.cfg.SyncInterval / time.Second), CatalogVersion: saved.CatalogVersion}
	var bp scheduler.BoxPlan
	var addrs map[media.BoxID]string
	var hashes []string
	var lanPeers []media.BoxID
	stale := true
	if rp := s.planner.region(b.Region, false); rp != nil {
		rp.mu.Lock()
		stale = rp.catalogV != saved.CatalogVersion || (rp.state == nil && rp.published == nil)
		if rp.state != nil {
			sb, unknown := rp.syncBox(b, req, saved)
			stale = stale || unknown || rp.relabel
			rp.addrs[b.ID] = addr
			t0 := time.Now()
			ask, err := s.weigh(rp, &sb, req, now)
			if err != nil {
				rp.mu.Unlock()
				return resp, err
			}
			if bp, err = rp.state.Update(sb, now); err != nil {
				rp.mu.Unlock()
				return resp, err
			}
			s.metrics.planTime.Observe(time.Since(t0).Seconds())
			s.evidence.record(b.ID, req, bp, now)
			resp.Challenges = s.evidence.challenges(b.ID, ask, sb.Holdings, rp.items, now)
		} else {
			bp = rp.boxPlan(b.ID)
		}
		addrs = rp.peerAddrs(bp)
		lanAddrs(addrs, addr, req.Neighbors)
		lanPeers = rp.knownNeighbors(req.Neighbors)
		for _, f := range bp.Fetches {
			hashes = append(hashes, rp.items[f.Item].InfoHash)
		}
		rp.mu.Unlock()
	}
	if stale {
		// The catalog changed or the region is new: plan it soon, and have the box come back.
		s.planner.wake()
		resp.SyncAfterSeconds = min(resp.SyncAfterSeconds, 2)
	}
	resp.Evict = bp.Evict
	resp.PeerBoxes = peerBoxes(bp, lanPeers)
	resp.Dial = dialOrders(bp, addrs)
	if len(bp.Receivers) > 0 {
		// Boxes about to fetch from this one are admitted once it knows them.
		resp.SyncAfterSeconds = min(resp.SyncAfterSeconds, 2)
	}
	var announce string
	if len(bp.Fetches) > 0 {
		announce = s.announceURL(b.ID) // one per box: an HMAC, not worth repeating per fetch
	}
	for i, f := range bp.Fetches {
		pf := protocol.Fetch{Item: f.Item, InfoHash: hashes[i], Announce: announce, Peers: []protocol.Peer{}}
		for _, src := range f.Sources {
			a := addrs[src.Box]
			if a == "" {
				continue
			}
			p := protocol.Peer{Box: src.Box, Addr: a, Dial: src.Dial, PiecesOnly: src.Share}
			for _, r := range src.Ranges {
				p.Pieces = append(p.Pieces, protocol.PieceRange{Begin: r.Begin, End: r.End})
			}
			pf.Peers = append(pf.Peers, p)
		}
		if f.Start.After(now) {
			pf.Start = f.Start
		} else if f.Server {
			pf.WebSeed = s.seedURL(b.ID, f.Item)
			for _, r := range serverPieces(f) {
				pf.WebSeedPieces = append(pf.WebSeedPieces, protocol.PieceRange{Begin: r.Begin, End: r.End})
			}
		}
		if f.Cache {
			pf.Area = protocol.AreaCache
		}
		if f.Range.Len() > 0 {
			pf.Range = &protocol.PieceRange{Begin: f.Range.Begin, End: f.Range.End}
		}
		resp.Fetches = append(resp.Fetches, pf)
	}
	if len(resp.Fetches) > 0 {
		// Report progress often while transferring, so followers learn of new pieces.
		resp.SyncAfterSeconds = min(resp.SyncAfterSeconds, 2)
	}
	if len(resp.Challenges) > 0 {
		resp.SyncAfterSeconds = min(resp.SyncAfterSeconds, 1) // the answer makes the box a source
	}
	resp.SyncAfterSeconds = max(resp.SyncAfterSeconds, 1)
	return resp, nil
}

// planOf finds box's part of the plan, in whichever region has it, with its peers' addresses.
func (s *Server) planOf(box media.BoxID) (scheduler.BoxPlan, map[media.BoxID]string) {
	for _, rp := range s.planner.all() {
		rp.mu.Lock()
		bp := rp.boxPlan(box)
		if len(bp.Fetches)+len(bp.Uploads)+len(bp.Evict) > 0 {
			addrs := rp.peerAddrs(bp)
			rp.mu.Unlock()
			return bp, addrs
		}
		rp.mu.Unlock()
	}
	return scheduler.BoxPlan{}, nil
}

// serverAllowed says whether the current plan lets the server send item to box now, and which
// pieces (none: any).
func (s *Server) serverAllowed(box media.BoxID, item media.ItemID, now time.Time) ([]scheduler.PieceRange, bool) {
	bp, _ := s.planOf(box)
	for _, f := range bp.Fetches {
		if f.Item == item {
			return serverPieces(f), f.Server && !f.Start.After(now)
		}
	}
	return nil, false
}

// serverPieces are the only pieces the server sends for fetch f (none: any): its share of the
// region's copy, and of a range placement only the range.
func serverPieces(f scheduler.Fetch) []scheduler.PieceRange {
	if f.Range.Len() == 0 {
		return f.ServerRanges
	}
	if len(f.ServerRanges) == 0 {
		return []scheduler.PieceRange{f.Range}
	}
	var out []scheduler.PieceRange
	for _, r := range f.ServerRanges {
		if x := (scheduler.PieceRange{Begin: max(r.Begin, f.Range.Begin), End: min(r.End, f.Range.End)}); x.Len() > 0 {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		// Shares and the range do not meet: the server owes this box nothing; an empty list
		// would read as "any piece".
		return []scheduler.PieceRange{{}}
	}
	return out
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
	bp, addrs := s.planOf(box)
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
		if ap, err := netip.ParseAddrPort(addrs[p]); err == nil {
			out = append(out, ap)
		}
	}
	return out, nil
}
