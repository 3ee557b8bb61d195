// Package firmware is the box's supervisor: it owns the box's state, registers with the head-end,
// syncs its wishlist and holdings on an interval and whenever they change, and carries out its
// part of the plan with the transfer engine.
package firmware

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"

	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/storage/disk"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/lan"
	"swarmbox/sync/protocol"
	"swarmbox/sync/transfer"
)

// Config is how a box is started.
type Config struct {
	Dir        string // state folder: box.db and media/
	HeadendURL string // needed on first start; later it is stored
	// Enroll is an enrollment token ('swarmbox-cloud account enroll'): the box is paired to
	// its household as it registers. Without one the box registers unpaired and shows a code.
	Enroll     string
	ListenAddr string // BitTorrent host:port
	// AdvertiseAddr is the host:port other boxes dial; empty means the listen address.
	AdvertiseAddr string
	// DBus is where the box's API is published: "" for nowhere, "system", "session", or a bus
	// address such as unix:path=/run/swarmbox/bus.
	DBus string
	// DBusName is the well-known name to own (default org.swarmbox.Box).
	DBusName string
	// Quotas are the storage areas' byte quotas (storage.Area*); 0 or missing = the disk's size.
	Quotas map[string]int64
	// DiskStatus is the init's record of the media disk (scripts/image.d/media-disk writes
	// /run/swarmbox/disk); "" when no init set the disk up.
	DiskStatus string
	// LANInterfaces are the interfaces mDNS announces and browses on; none = no LAN discovery.
	LANInterfaces []string
	// Link caps in bytes per second (0 = none): enforced on BitTorrent and reported.
	UplinkBytesPerSecond, DownlinkBytesPerSecond int64
	Network                                      string // ISP/network label for tests, reported to the head-end (its prefix map wins: SCHED-15)
	BehindNAT                                    bool   // the box cannot accept incoming connections; reported
	// IgnorePlanPeers makes the box fetch only from LAN neighbours and the web seed, never from
	// the peers the plan names nor the tracker's: for testing LAN discovery on its own.
	IgnorePlanPeers bool
	// RenewPoll is how often the box looks for owned licences due for renewal (default 1 min).
	RenewPoll time.Duration
	Log       *slog.Logger
	Now       func() time.Time
}

// Box is a running box.
type Box struct {
	cfg    Config
	store  *storage.Store
	id     storage.Identity
	client *cloudclient.Client
	engine *transfer.Engine
	log    *slog.Logger
	api    *API
	known  map[media.ItemID]bool // items on the disk at the last refresh, to announce arrivals and departures

	counted  map[media.ItemID][2]int64         // engine byte counters already added to the database
	fromPeer map[media.ItemID]map[string]int64 // most bytes seen per peer connection, for logs
	peerBox  map[string]media.BoxID            // peer address -> box, from the plan, for logs
	planned  map[media.ItemID]string           // last logged plan per item, to log changes only
	catalogV int64

	registered bool   // the head-end enrolled this box
	failures   int    // tries in a row that did not reach the head-end
	keptPlan   string // the plan peers last kept on the disk (lastplan.go)

	lan       *lan.Discovery                        // nil without LAN interfaces
	lanSeen   string                                // neighbour set last given to the engine
	pending   map[media.ItemID]protocol.Fetch       // planned fetches whose server part waits for its start time
	hashFails map[media.ItemID]int64                // pieces that failed verification, per item
	badFrom   map[media.ItemID]map[netip.Addr]int64 // and per peer address (badsources.go)
	proofs    []protocol.Proof                      // answers to the last sync's possession challenges
}

// Run starts the box and blocks until ctx ends. Everything that needs no head-end starts at
// once, in this order: storage, the API (licence timers), the transfer engine seeding what the
// disk holds, the last plan's peers (served and fetched from, see lastplan.go), LAN discovery,
// the API socket and D-Bus. Then the loop reaches the head-end in the background (registration
// on a first start, the catalog, syncs; see online.go), backing off while it cannot; when the
// head-end returns, nothing needs a restart.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := CheckLinkCaps(cfg.UplinkBytesPerSecond, cfg.DownlinkBytesPerSecond); err != nil {
		return err
	}
	st, err := storage.Open(ctx, cfg.Dir)
	if errors.Is(err, storage.ErrDiskFull) {
		// Read-only until space returns, then start as usual (fullstart.go).
		if st, err = serveFullDisk(ctx, cfg, err); st == nil && err == nil {
			return nil
		}
	}
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SetQuotas(cfg.Quotas); err != nil {
		return err
	}
	id, err := st.EnsureIdentity(ctx, cfg.HeadendURL, "")
	if err != nil {
		return err
	}
	b := &Box{
		cfg: cfg, store: st, id: id, log: cfg.Log.With("box", id.Box.String()[:8]), registered: id.Registered,
		client:  cloudclient.New(id.HeadendURL, id.SignKey),
		counted: map[media.ItemID][2]int64{}, fromPeer: map[media.ItemID]map[string]int64{}, peerBox: map[string]media.BoxID{}, planned: map[media.ItemID]string{},
		pending: map[media.ItemID]protocol.Fetch{}, hashFails: map[media.ItemID]int64{},
	}
	b.client.Now = cfg.Now
	b.client.HTTP = sourceBound(cfg.ListenAddr, b.client.HTTP)
	if b.catalogV, _, err = st.Catalog(ctx); err != nil {
		return err
	}
	dm, err := disk.New(st.MediaDir(), cfg.DiskStatus)
	if err != nil {
		return err
	}
	b.api = NewAPI(st, Options{Now: cfg.Now, Stream: b.stream, Disk: dm})
	defer b.api.Close()
	defer b.keepLicences(ctx)() // renewals and the secure clock (renew.go)
	b.api.followLink(cfg.Now(), id.Registered)
	go b.pollPairing(ctx)
	if err := b.api.watchLicences(ctx); err != nil {
		return err
	}
	b.engine, err = transfer.New(transfer.Config{MediaDir: st.MediaDir(), PreloadDir: st.PreloadDir(), ListenAddr: cfg.ListenAddr, SignKey: id.SignKey,
		Completion: transfer.Completion(st), LoopbackPeers: isLoopback(cfg.ListenAddr), UploadBytesPerSecond: cfg.UplinkBytesPerSecond, DownloadBytesPerSecond: cfg.DownlinkBytesPerSecond, Log: b.log})
	if err != nil {
		return err
	}
	defer b.engine.Close()
	if err := b.resume(ctx); err != nil {
		return err
	}
	if err := b.restorePlan(ctx); err != nil {
		return err
	}
	if len(cfg.LANInterfaces) > 0 {
		ap, err := netip.ParseAddrPort(b.engine.Addr())
		if err != nil {
			return fmt.Errorf("BitTorrent address %q: %w", b.engine.Addr(), err)
		}
		if b.lan, err = lan.Start(ctx, lan.Config{Key: id.SignKey, Port: int(ap.Port()), Interfaces: cfg.LANInterfaces, Log: b.log}); err != nil {
			return err
		}
		defer b.lan.Close()
	}
	sock, err := ServeSocket(ctx, SocketPath(cfg.Dir), b.api)
	if err != nil {
		return err
	}
	defer sock.Close()
	if cfg.DBus != "" {
		conn, err := ConnectBus(cfg.DBus)
		if err != nil {
			return err
		}
		defer conn.Close()
		bus, err := ServeDBus(conn, b.api, cfg.DBusName)
		if err != nil {
			return err
		}
		defer bus.Close()
	}
	b.log.Info("box up", "id", id.Box, "headend", id.HeadendURL, "bittorrent", b.engine.Addr(), "registered", id.Registered)
	go b.dumpOnSignal(ctx)
	return b.loop(ctx)
}

// dumpOnSignal writes the torrent client's own report (connections, choking, interest,
// requests per peer) to DIR/transfer-status.txt on every SIGUSR1, for whoever must find out
// at 3 a.m. why a transfer stalls: `kill -USR1 $(pidof swarmboxd)`.
func (b *Box) dumpOnSignal(ctx context.Context) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ch:
		}
		var buf bytes.Buffer
		b.engine.WriteStatus(&buf)
		path := filepath.Join(b.cfg.Dir, "transfer-status.txt")
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			b.log.Error("cannot write the transfer status", "path", path, "err", err)
			continue
		}
		b.log.Info("transfer status written", "path", path)
	}
}

// ConnectBus opens a D-Bus connection: "system", "session", or a bus address.
func ConnectBus(which string) (*dbus.Conn, error) {
	var conn *dbus.Conn
	var err error
	switch which {
	case "system":
		conn, err = dbus.ConnectSystemBus()
	case "session":
		conn, err = dbus.ConnectSessionBus()
	default:
		conn, err = dbus.Connect(which)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to D-Bus (%s): %w", which, err)
	}
	return conn, nil
}

// resume puts every local item back into the engine: held ones to seed, partial ones to be
// continued once the plan names their sources again.
func (b *Box) resume(ctx context.Context) error {
	items, err := b.store.Items(ctx)
	if err != nil {
		return err
	}
	for _, it := range items {
		seed := b.engine.Seed
		if it.Area == storage.AreaPreload {
			seed = b.engine.SeedPreloaded
		}
		if err := seed(it.ID, it.Torrent); err != nil {
			return fmt.Errorf("resume %s: %w", it.ID, err)
		}
	}
	return nil
}

// useNeighbors gives the engine the LAN neighbours as peers for every item in progress, without
// waiting for the head-end: they are on the same LAN, the cheapest source there is.
func (b *Box) useNeighbors(ctx context.Context) error {
	if b.lan == nil {
		return nil
	}
	var addrs []netip.AddrPort
	var key []string
	for _, n := range b.lan.Neighbors() {
		addrs = append(addrs, n.Addr)
		key = append(key, n.Box.String()+"@"+n.Addr.String())
		b.peerBox[n.Addr.String()] = n.Box
		b.engine.Allow(n.Addr.Addr(), "lan")
	}
	items, err := b.store.Items(ctx)
	if err != nil {
		return err
	}
	var want []string
	for _, it := range items {
		if !it.Complete {
			want = append(want, it.ID.String())
		}
	}
	if k := strings.Join(key, ",") + "|" + strings.Join(want, ","); len(addrs) == 0 || k == b.lanSeen {
		return nil
	} else {
		b.lanSeen = k
	}
	for _, it := range items {
		if it.Complete {
			continue
		}
		if err := b.engine.Fetch(it.ID, it.Torrent, protocol.Fetch{Item: it.ID, Range: pieceRange(it)}, addrs...); err != nil {
			return err
		}
	}
	return nil
}

// startDue gives the engine the server's part of planned fetches whose start time has come,
// and says whether any did: the box then syncs at once, for the head-end grants the web seed
// only from the start time on (SCHED-17).
func (b *Box) startDue(ctx context.Context) bool {
	now := b.cfg.Now()
	due := false
	for id, f := range b.pending {
		if now.Before(f.Start) {
			continue
		}
		delete(b.pending, id)
		due = true
		b.log.Info("planned start reached: the server may send", "item", f.Item, "start", f.Start)
		if err := b.fetch(ctx, f); err != nil {
			b.log.Error("cannot start fetch", "item", f.Item, "err", err)
		}
	}
	return due
}

// planFetch carries out one planned fetch. Its sources start at once; when the plan starts the
// server later (an off-peak slot, SCHED-16), the web seed is held back until then and the
// fetch kept in pending for startDue (SCHED-17).
func (b *Box) planFetch(ctx context.Context, f protocol.Fetch) {
	now := b.cfg.Now()
	if f.Start.After(now) {
		if old, ok := b.pending[f.Item]; !ok || !old.Start.Equal(f.Start) {
			b.log.Info("server part planned for later; peers send at once", "item", f.Item, "start", f.Start, "peers", len(f.Peers))
		}
		b.pending[f.Item] = f
		f.WebSeed, f.WebSeedPieces = "", nil
	} else {
		delete(b.pending, f.Item)
	}
	if err := b.fetch(ctx, f); err != nil {
		b.log.Error("cannot start fetch", "item", f.Item, "err", err)
	}
}

func (b *Box) loop(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	changes := b.api.Subscribe(ctx)
	nextSync := time.Time{} // sync at once
	wished := false         // the wishlist changed since the last turn
	for {
		now := time.Now()
		if b.startDue(ctx) {
			nextSync = now // the web seed is granted from the start on: ask for it now
		}
		if err := b.useNeighbors(ctx); err != nil {
			b.log.Error("using LAN neighbours", "err", err)
		}
		changed, err := b.refresh(ctx)
		if err != nil {
			b.log.Error("recording progress", "err", err)
		}
		b.checkDisk(ctx)
		if changed || wished || !now.Before(nextSync) {
			wished = false
			nextSync = time.Now().Add(b.reach(ctx))
		}
		// Wait for the next tick, or for the household's wishes: they are synced at once.
		for turn := false; !turn; {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
				turn = true
			case c, ok := <-changes:
				if !ok {
					if ctx.Err() != nil {
						return nil
					}
					// Cut off for falling behind: a change may be lost, so sync anyway.
					changes = b.api.Subscribe(ctx)
				}
				if !ok || c.Kind == WishlistChanged {
					wished, turn = true, true
				}
			}
		}
	}
}

// refresh copies the engine's progress into the database and announces it, and the items that
// arrived on the disk or left it, through the API. It reports whether an item completed.
func (b *Box) refresh(ctx context.Context) (completed bool, err error) {
	items, err := b.store.Items(ctx)
	if err != nil {
		return false, err
	}
	here := map[media.ItemID]bool{}
	for _, it := range items {
		here[it.ID] = true
		if !b.known[it.ID] {
			b.api.announce(ctx, it.ID)
		}
	}
	for id := range b.known {
		if !here[id] {
			b.api.announce(ctx, id)
		}
	}
	b.known = here
	now := b.cfg.Now()
	for _, it := range items {
		st, ok := b.engine.Status(it.ID)
		if !ok || st.Total == 0 {
			continue
		}
		// Connections close once both sides are complete; keep what each peer sent.
		seen := b.fromPeer[it.ID]
		if seen == nil {
			seen = map[string]int64{}
			b.fromPeer[it.ID] = seen
		}
		for addr, n := range st.FromPeer {
			seen[addr] = max(seen[addr], n)
		}
		if st.HashFailures > b.hashFails[it.ID] {
			b.log.Warn("pieces failed verification and are fetched again", "item", it.ID, "failures", st.HashFailures)
			b.hashFails[it.ID] = st.HashFailures
		}
		b.noteBad(it.ID, st.BadFromPeer)
		// Progress as recorded; the bytes are recorded with each piece (diskfull.go).
		st = b.asRecorded(ctx, it, st)
		prev := b.counted[it.ID]
		dServer, dPeers := st.BytesFromServer-prev[0], st.BytesFromPeers-prev[1]
		if st.Pieces == it.Pieces && st.Complete == it.Complete && dServer == 0 && dPeers == 0 {
			continue
		}
		if err := b.store.UpdateItem(ctx, it.ID, st.Pieces, st.Complete, 0, 0, now); err != nil {
			return completed, err
		}
		b.counted[it.ID] = [2]int64{st.BytesFromServer, st.BytesFromPeers}
		b.api.announce(ctx, it.ID)
		if st.Complete && !it.Complete {
			completed = true
			fresh, _ := b.store.GetItem(ctx, it.ID) // the bytes are recorded with the pieces
			b.log.Info("item complete, every piece verified", "item", it.ID,
				"bytes_from_server", fresh.BytesFromServer, "bytes_from_peers", fresh.BytesFromPeers,
				"from", b.describePeers(seen))
		}
	}
	return completed, nil
}

func (b *Box) describePeers(from map[string]int64) string {
	var parts []string
	for _, addr := range slices.Sorted(maps.Keys(from)) {
		name := addr
		if id, ok := b.peerBox[addr]; ok {
			name = id.String()[:8]
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, from[addr]))
	}
	return strings.Join(parts, " ")
}

// sync reports the box's state and carries out the plan it gets back. It returns when to sync next.
func (b *Box) sync(ctx context.Context) (time.Duration, error) {
	wish, wishV, edits, err := b.wishReport(ctx)
	if err != nil {
		return 0, err
	}
	items, err := b.store.Items(ctx)
	if err != nil {
		return 0, err
	}
	req := protocol.SyncRequest{
		PeerAddr: b.cfg.AdvertiseAddr, Wishlist: wish, FreeBytes: b.store.FreeBytes(), WishlistVersion: wishV,
		Holdings: []protocol.Holding{}, Transfers: []protocol.TransferReport{},
		UplinkBytesPerSecond: b.cfg.UplinkBytesPerSecond, DownlinkBytesPerSecond: b.cfg.DownlinkBytesPerSecond,
		Network: b.cfg.Network, BehindNAT: b.cfg.BehindNAT,
	}
	if req.PeerAddr == "" {
		req.PeerAddr = b.engine.Addr()
	}
	for _, it := range items {
		req.Holdings = append(req.Holdings, protocol.Holding{Item: it.ID, Pieces: it.Pieces, Complete: it.Complete, Area: it.Area, Range: pieceRange(it)})
		if bad := b.badSources(it.ID); it.BytesFromServer+it.BytesFromPeers > 0 || len(bad) > 0 {
			req.Transfers = append(req.Transfers, protocol.TransferReport{Item: it.ID, BytesFromServer: it.BytesFromServer, BytesFromPeers: it.BytesFromPeers,
				Complete: it.Complete, HashFailures: b.hashFails[it.ID], BadSources: bad})
		}
	}
	if req.Areas, err = b.spaces(ctx); err != nil {
		return 0, err
	}
	if b.lan != nil {
		for _, n := range b.lan.Neighbors() {
			req.Neighbors = append(req.Neighbors, protocol.Neighbor{Box: n.Box, Addr: n.Addr.String()})
		}
	}
	req.PeerRates = b.peerRates()
	req.Proofs = b.proofs
	req.RefusedPeers = b.engine.RefusedPeers()
	resp, err := b.client.Sync(ctx, req)
	if err != nil {
		return 0, err
	}
	b.proofs = b.answerChallenges(resp.Challenges)
	if resp.Account != nil {
		b.api.setAccount(*resp.Account)
	}
	b.syncedAccount(ctx, resp.Account)
	if err := b.wishesSynced(ctx, resp, wishV, edits); err != nil {
		return 0, err
	}
	b.keepPlan(ctx, resp)
	if resp.Accept != nil {
		b.engine.StrictPeers(true)
		for _, a := range resp.Accept {
			if ip, err := parseHost(a); err == nil {
				b.engine.Allow(ip, "plan")
			} else {
				b.log.Warn("plan lets a peer with a bad address connect; skipped", "addr", a, "err", err)
			}
		}
	}
	if resp.PeerBoxes != nil {
		b.engine.SetPeerBoxes(b.peerBoxes(resp))
	}
	b.dialReceivers(resp.Dial)
	for _, item := range resp.Evict {
		b.evict(ctx, item)
	}
	planned := map[media.ItemID]bool{}
	for _, f := range resp.Fetches {
		planned[f.Item] = true
		b.planFetch(ctx, f)
	}
	for it := range b.planned {
		if !planned[it] {
			delete(b.planned, it)
			b.engine.Unplanned(it)
		}
	}
	for it := range b.pending {
		if !planned[it] {
			delete(b.pending, it) // the plan dropped it: no server part waits any more
		}
	}
	if resp.CatalogVersion != b.catalogV {
		b.fetchCatalog(ctx, resp.CatalogVersion)
	}
	return time.Duration(resp.SyncAfterSeconds) * time.Second, nil
}

// fetchCatalog updates the catalog replica; version 0 takes the version the head-end's
// catalog carries. A failure keeps the replica, for the next sync to try again.
func (b *Box) fetchCatalog(ctx context.Context, version int64) {
	cat, raw, err := b.client.Catalog(ctx)
	if err != nil {
		b.log.Warn("catalog not fetched; the replica is kept", "err", err)
		return
	}
	if version == 0 {
		version = cat.Version
	}
	ch, err := b.api.saveCatalog(ctx, version, raw)
	if err != nil {
		b.log.Warn("catalog not stored; the replica is kept", "err", err)
		return
	}
	b.catalogV = version
	b.log.Info("catalog replica updated", "version", version, "added", ch.Added, "changed", ch.Changed, "removed", ch.Removed)
}

// spaces reports the areas to the head-end. Free is the room the eviction rules can make, not
// only the bytes unused: a planner that saw a disk full of dropped wishes would never send the
// title that makes the box evict them.
func (b *Box) spaces(ctx context.Context) ([]protocol.Space, error) {
	sp, err := b.store.Rooms(ctx, b.cfg.Now())
	if err != nil {
		return nil, err
	}
	var out []protocol.Space
	for _, s := range sp {
		out = append(out, protocol.Space{Area: s.Area, Quota: s.Quota, Used: s.Used, Free: s.Room})
	}
	return out, nil
}

// peerRates names the measured throughputs by box: the box a peer proved by key (so boxes
// behind one address stay apart), else the one the box knows at that address.
func (b *Box) peerRates() []protocol.PeerRate {
	byIP := map[netip.Addr]media.BoxID{}
	for addr, box := range b.peerBox {
		if ap, err := netip.ParseAddrPort(addr); err == nil {
			byIP[ap.Addr()] = box
		}
	}
	var out []protocol.PeerRate
	for _, r := range b.engine.PeerRates() {
		box, ok := r.Box, r.Box != media.BoxID{}
		if !ok {
			box, ok = byIP[r.Addr]
		}
		if ok {
			out = append(out, protocol.PeerRate{Box: box, Bytes: r.Bytes, BytesPerSecond: r.BytesPerSecond})
		}
	}
	return out
}

// isLoopback says whether a host:port is on the loopback network.
func isLoopback(hostPort string) bool {
	ap, err := netip.ParseAddrPort(hostPort)
	return err == nil && ap.Addr().IsLoopback()
}

func parseHost(s string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), nil
	}
	return netip.ParseAddr(s)
}
