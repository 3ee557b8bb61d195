// Package firmware is the box's supervisor: it owns the box's state, registers with the head-end,
// syncs its wishlist and holdings on an interval and whenever they change, and carries out its
// part of the plan with the transfer engine.
package firmware

import (
	"github.com/godbus/dbus/v5"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"swarmbox/media"
	"swarmbox/storage"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
	"swarmbox/sync/transfer"
)

// Config is how a box is started.
type Config struct {
	Dir        string // state folder: box.db and media/
	HeadendURL string // needed on first start; later it is stored
	Account    string // needed on first start
	ListenAddr string // BitTorrent host:port
	// AdvertiseAddr is the host:port other boxes dial; empty means the listen address.
	AdvertiseAddr string
	// DBus is where the box's API is published: "" for nowhere, "system", "session", or a bus
	// address such as unix:path=/run/swarmbox/bus.
	DBus string
	// DBusName is the well-known name to own (default org.swarmbox.Box).
	DBusName string
	Log      *slog.Logger
	Now      func() time.Time
}

// Box is a running box.
type Box struct {
	cfg    Config
	store  *storage.Store
	id     storage.Identity
	client *cloudclient.Client
	engine *transfer.Engine
	log    *slog.Logger
	bus    *DBusService // nil when not on D-Bus

	counted  map[media.ItemID][2]int64         // engine byte counters already added to the database
	fromPeer map[media.ItemID]map[string]int64 // most bytes seen per peer connection, for logs
	peerBox  map[string]media.BoxID            // peer address -> box, from the plan, for logs
	planned  map[media.ItemID]string           // last logged plan per item, to log changes only
	catalogV int64
}

// Run starts the box and blocks until ctx ends.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	st, err := storage.Open(ctx, cfg.Dir)
	if err != nil {
		return err
	}
	defer st.Close()
	id, err := st.EnsureIdentity(ctx, cfg.HeadendURL, cfg.Account)
	if err != nil {
		return err
	}
	b := &Box{
		cfg: cfg, store: st, id: id, log: cfg.Log.With("box", id.Box.String()[:8]),
		client:  cloudclient.New(id.HeadendURL, id.SignKey),
		counted: map[media.ItemID][2]int64{}, fromPeer: map[media.ItemID]map[string]int64{}, peerBox: map[string]media.BoxID{}, planned: map[media.ItemID]string{},
	}
	b.client.Now = cfg.Now
	if err := b.register(ctx); err != nil {
		return err
	}
	b.engine, err = transfer.New(transfer.Config{MediaDir: st.MediaDir(), ListenAddr: cfg.ListenAddr, Completion: st.PieceCompletion(), Log: b.log})
	if err != nil {
		return err
	}
	defer b.engine.Close()
	if err := b.resume(ctx); err != nil {
		return err
	}
	if cfg.DBus != "" {
		conn, err := ConnectBus(cfg.DBus)
		if err != nil {
			return err
		}
		defer conn.Close()
		if b.bus, err = ServeDBus(conn, &API{Store: st, Now: cfg.Now}, cfg.DBusName); err != nil {
			return err
		}
		defer b.bus.Close()
	}
	b.log.Info("box up", "id", id.Box, "headend", id.HeadendURL, "bittorrent", b.engine.Addr())
	return b.loop(ctx)
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

// register enrolls the box, retrying while the head-end cannot be reached.
func (b *Box) register(ctx context.Context) error {
	delay := time.Second
	for {
		resp, err := b.client.Register(ctx, b.id.Account, b.id.KEMKey.PublicKey().Bytes())
		if err == nil {
			if err := b.store.SetRegistered(ctx, resp.HeadendKey); err != nil {
				return err
			}
			b.id.HeadendKey = resp.HeadendKey
			b.log.Info("registered", "account", b.id.Account, "region", resp.Region)
			return nil
		}
		var api *cloudclient.APIError
		if errors.As(err, &api) && api.Status/100 == 4 {
			return fmt.Errorf("registration refused: %w", err)
		}
		b.log.Warn("head-end unreachable; retrying", "err", err, "in", delay)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Minute)
	}
}

// resume puts every local item back into the engine: held ones to seed, partial ones to be
// continued once the plan names their sources again.
func (b *Box) resume(ctx context.Context) error {
	items, err := b.store.Items(ctx)
	if err != nil {
		return err
	}
	for _, it := range items {
		if err := b.engine.Seed(it.ID, it.Torrent); err != nil {
			return fmt.Errorf("resume %s: %w", it.ID, err)
		}
	}
	return nil
}

func (b *Box) loop(ctx context.Context) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	_, lastWish, err := b.store.Wishlist(ctx)
	if err != nil {
		return err
	}
	nextSync := time.Time{} // sync at once
	for {
		now := time.Now()
		changed, err := b.refresh(ctx)
		if err != nil {
			b.log.Error("recording progress", "err", err)
		}
		if _, v, err := b.store.Wishlist(ctx); err == nil && v != lastWish {
			lastWish, changed = v, true
		}
		if changed || !now.Before(nextSync) {
			after, err := b.sync(ctx)
			if err != nil {
				b.log.Warn("sync failed; will retry", "err", err)
				after = 5 * time.Second
			}
			nextSync = time.Now().Add(after)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// refresh copies the engine's progress into the database. It reports whether an item completed.
func (b *Box) refresh(ctx context.Context) (completed bool, err error) {
	items, err := b.store.Items(ctx)
	if err != nil {
		return false, err
	}
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
		prev := b.counted[it.ID]
		dServer, dPeers := st.BytesFromServer-prev[0], st.BytesFromPeers-prev[1]
		if st.Pieces == it.Pieces && st.Complete == it.Complete && dServer == 0 && dPeers == 0 {
			continue
		}
		if err := b.store.UpdateItem(ctx, it.ID, st.Pieces, st.Complete, dServer, dPeers, now); err != nil {
			return completed, err
		}
		b.counted[it.ID] = [2]int64{st.BytesFromServer, st.BytesFromPeers}
		if b.bus != nil {
			b.bus.Progress(it.ID, st.Pieces, st.Total, it.BytesFromServer+dServer, it.BytesFromPeers+dPeers)
			if st.Complete && !it.Complete {
				b.bus.StateChanged(it.ID, StateReadyToBuy)
			}
		}
		if st.Complete && !it.Complete {
			completed = true
			b.log.Info("item complete, every piece verified", "item", it.ID,
				"bytes_from_server", it.BytesFromServer+dServer, "bytes_from_peers", it.BytesFromPeers+dPeers,
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
	wish, _, err := b.store.Wishlist(ctx)
	if err != nil {
		return 0, err
	}
	items, err := b.store.Items(ctx)
	if err != nil {
		return 0, err
	}
	req := protocol.SyncRequest{
		PeerAddr: b.cfg.AdvertiseAddr, Wishlist: wish, FreeBytes: b.store.FreeBytes(),
		Holdings: []protocol.Holding{}, Transfers: []protocol.TransferReport{},
	}
	if req.PeerAddr == "" {
		req.PeerAddr = b.engine.Addr()
	}
	for _, it := range items {
		req.Holdings = append(req.Holdings, protocol.Holding{Item: it.ID, Pieces: it.Pieces, Complete: it.Complete})
		if it.BytesFromServer+it.BytesFromPeers > 0 {
			req.Transfers = append(req.Transfers, protocol.TransferReport{Item: it.ID, BytesFromServer: it.BytesFromServer, BytesFromPeers: it.BytesFromPeers, Complete: it.Complete})
		}
	}
	resp, err := b.client.Sync(ctx, req)
	if err != nil {
		return 0, err
	}
	for _, f := range resp.Fetches {
		if err := b.fetch(ctx, f); err != nil {
			b.log.Error("cannot start fetch", "item", f.Item, "err", err)
		}
	}
	if resp.CatalogVersion != b.catalogV {
		if _, raw, err := b.client.Catalog(ctx); err == nil {
			if ch, err := b.store.SaveCatalog(ctx, resp.CatalogVersion, raw); err == nil {
				b.catalogV = resp.CatalogVersion
				b.log.Info("catalog replica updated", "version", resp.CatalogVersion, "added", ch.Added, "changed", ch.Changed, "removed", ch.Removed)
			} else {
				b.log.Warn("catalog not stored; the replica is kept", "err", err)
			}
		}
	}
	return time.Duration(resp.SyncAfterSeconds) * time.Second, nil
}

func (b *Box) fetch(ctx context.Context, f protocol.Fetch) error {
	it, err := b.store.GetItem(ctx, f.Item)
	if errors.Is(err, storage.ErrNotFound) {
		tb, err := b.client.Torrent(ctx, f.Item)
		if err != nil {
			return err
		}
		ih, total, err := transfer.ParseTorrent(tb)
		if err != nil {
			return err
		}
		if ih != f.InfoHash {
			return fmt.Errorf("metainfo for %s has info hash %s, the plan says %s", f.Item, ih, f.InfoHash)
		}
		if err := b.store.AddItem(ctx, f.Item, ih, tb, total, b.cfg.Now()); err != nil {
			return err
		}
		it = storage.Item{ID: f.Item, InfoHash: ih, Torrent: tb}
	} else if err != nil {
		return err
	}
	var names []string
	for _, p := range f.Peers {
		b.peerBox[p.Addr] = p.Box
		names = append(names, p.Box.String()[:8])
	}
	if f.WebSeed != "" {
		names = append(names, "server")
	}
	if desc := strings.Join(names, ","); b.planned[f.Item] != desc {
		b.planned[f.Item] = desc
		b.log.Info("fetching", "item", f.Item, "from", desc)
	}
	return b.engine.Fetch(f.Item, it.Torrent, f)
}
