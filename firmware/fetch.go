package firmware

// Carrying out the plan's fetches and evictions: storage chooses the room, the engine lets go of
// what must go before storage removes it, and fetches what the plan names.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"swarmbox/media"
	"swarmbox/player"
	"swarmbox/storage"
	"swarmbox/sync/protocol"
	"swarmbox/sync/transfer"
)

// evict carries out the scheduler's eviction of item, unless the rules protect it (preload,
// being played): the engine lets go of it first, and serves it again if it stays.
func (b *Box) evict(ctx context.Context, item media.ItemID) {
	it, err := b.store.GetItem(ctx, item)
	if err != nil {
		return // not here (any more)
	}
	b.engine.Drop(item)
	if err := b.store.Evict(ctx, item, b.cfg.Now()); err != nil {
		b.log.Warn("eviction refused; item kept", "item", item, "err", err)
		b.serveAgain(ctx, item)
		return
	}
	delete(b.pending, item)
	b.log.Info("evicted as the scheduler asked", "item", item, "area", it.Area)
}

// want is what storage takes in for an item: its torrent's figures, read here (storage does not
// parse torrents).
func want(item media.ItemID, infoHash string, torrent []byte, total int) (storage.Want, error) {
	m, err := transfer.ParseMeta(torrent)
	if err != nil {
		return storage.Want{}, fmt.Errorf("%s: %w", item, err)
	}
	return storage.Want{Item: item, InfoHash: infoHash, Torrent: torrent, Total: total, PieceLength: m.PieceLength, Length: m.Length}, nil
}

// take takes the room storage reserved for item: the engine lets go of what is to be evicted
// first, since Commit deletes their files (the engine must not be writing them, see
// storage.Reservation), and serves again any it let go of that Commit kept (a playback lease
// taken in between).
func (b *Box) take(ctx context.Context, res *storage.Reservation, item media.ItemID) error {
	for _, e := range res.Evict {
		b.engine.Drop(e)
	}
	evicted, err := res.Commit(ctx)
	for _, e := range evicted {
		b.log.Info("evicted to make room", "item", e, "for", item)
	}
	for _, e := range res.Evict {
		if !slices.Contains(evicted, e) {
			b.serveAgain(ctx, e)
		}
	}
	return err
}

// serveAgain puts a local item the engine let go of back to be served, if it is still here.
func (b *Box) serveAgain(ctx context.Context, item media.ItemID) {
	it, err := b.store.GetItem(ctx, item)
	if err != nil {
		return
	}
	seed := b.engine.Seed
	if it.Area == storage.AreaPreload {
		seed = b.engine.SeedPreloaded
	}
	if err := seed(item, it.Torrent); err != nil {
		b.log.Error("serving a kept item again", "item", item, "err", err)
	}
}

func (b *Box) fetch(ctx context.Context, f protocol.Fetch) error {
	if b.cfg.IgnorePlanPeers {
		f.Peers, f.Announce = nil, ""
	}
	it, err := b.store.GetItem(ctx, f.Item)
	if err == nil && ((it.Area == storage.AreaCache && f.Area != storage.AreaCache) || (!it.Range.Empty() && f.Range == nil)) {
		// A cache placement the household now wishes for moves to the wishlist area, no copy;
		// a range placement the plan now wants whole grows to the whole item.
		w, err := want(it.ID, it.InfoHash, it.Torrent, it.Total)
		if err != nil {
			return err
		}
		res, err := b.store.Reserve(ctx, w, f.Area, b.cfg.Now())
		if err != nil {
			return err
		}
		if err := b.take(ctx, res, f.Item); err != nil {
			return err
		}
		if !it.Range.Empty() {
			b.log.Info("range placement widened to the whole item", "item", f.Item, "pieces", fmt.Sprintf("%d-%d", it.Range.Begin, it.Range.End-1))
		}
		it.Range = media.PieceRange{}
	}
	if err == nil {
		// The box keeps what it has: a whole item is never narrowed to a range, nor a range
		// moved to another (the plan's ranges are the box's own report of them).
		f.Range = pieceRange(it)
	}
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
		w, err := want(f.Item, ih, tb, total)
		if err != nil {
			return err
		}
		var res *storage.Reservation
		if f.Range != nil {
			// A range placement: only these pieces, in the cache area, to serve a flash crowd.
			res, err = b.store.ReserveRange(ctx, w, *f.Range, b.cfg.Now())
		} else {
			res, err = b.store.Reserve(ctx, w, f.Area, b.cfg.Now())
		}
		if err == nil {
			err = b.take(ctx, res, f.Item)
		}
		if errors.Is(err, storage.ErrNoSpace) {
			b.log.Error("disk or area full: item not fetched", "item", f.Item, "area", f.Area, "err", err)
		}
		if err != nil {
			return err
		}
		it = storage.Item{ID: f.Item, InfoHash: ih, Torrent: tb}
		if f.Range != nil {
			it.Range = *f.Range
		}
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
	desc := strings.Join(names, ",")
	attrs := []any{"item", f.Item, "from", desc}
	if f.Range != nil {
		pieces := fmt.Sprintf("%d-%d", f.Range.Begin, f.Range.End-1)
		desc += " pieces " + pieces
		attrs = append(attrs, "pieces", pieces, "area", storage.AreaCache)
	}
	if b.planned[f.Item] != desc {
		b.planned[f.Item] = desc
		b.log.Info("fetching", attrs...)
	}
	return b.engine.Fetch(f.Item, it.Torrent, f)
}

// stream opens an item under download for playback (API.Stream).
func (b *Box) stream(item media.ItemID) (player.Container, int64, error) {
	s, err := b.engine.Stream(item)
	if err != nil {
		return nil, 0, err
	}
	return s, s.Size(), nil
}

// pieceRange is a stored item's range placement as the protocol carries it: nil for the whole
// item.
func pieceRange(it storage.Item) *protocol.PieceRange {
	if it.Range.Empty() {
		return nil
	}
	r := it.Range
	return &r
}

// dialReceivers hands the plan's dial orders to the engine: the receivers this box, behind NAT,
// connects to itself to serve what it holds (NET-2). An order for an address that does not
// parse is logged and skipped.
func (b *Box) dialReceivers(orders []protocol.DialOrder) {
	out := map[media.ItemID][]netip.AddrPort{}
	for _, o := range orders {
		for _, p := range o.To {
			ap, err := netip.ParseAddrPort(p.Addr)
			if err != nil {
				b.log.Warn("plan asks to dial a receiver at a bad address; skipped", "item", o.Item, "addr", p.Addr, "err", err)
				continue
			}
			out[o.Item] = append(out[o.Item], ap)
		}
	}
	b.engine.DialReceivers(out)
}
