package firmware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"swarmbox/firmware/boxbus"
	"swarmbox/media"
	"swarmbox/player"
	"swarmbox/storage"
	"swarmbox/storage/disk"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// API is what a household can do with its box, and the only way into the box's state: browse
// the catalog (from the local replica, so it works offline), order the wishlist, buy and play,
// and follow every change (Subscribe). The daemon, its D-Bus service and the command line (when
// no daemon runs) all go through it.
type API struct {
	store  *storage.Store
	owned  bool // the store was opened by OpenAPI and is closed by Close
	clock  *secureClock
	now    func() time.Time // clock.Now: never earlier than what the head-end vouched for
	stream func(item media.ItemID) (player.Container, int64, error)

	account atomic.Pointer[protocol.AccountInfo]
	hub     hub

	mu      sync.Mutex
	playing *playback // nil when nothing plays
	expiry  map[media.ItemID]*time.Timer
	watch   bool // licence expiries are timed (the daemon's API)

	link      linkState     // the head-end link, followed by the daemon (online.go)
	disk      string        // Status.Disk: what a full disk holds up, "" when nothing (diskfull.go); under mu
	mediaDisk *disk.Monitor // the media disk (Options.Disk, or one over the media folder)
}

// Options are the optional parts of an API.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Stream, when the daemon runs, opens a title that is still downloading for playback while
	// it arrives: reads wait for verified pieces, which are fetched in order from the play
	// position. Without it, only complete titles play.
	Stream func(item media.ItemID) (player.Container, int64, error)
	// Disk watches the media disk; nil: a monitor of the media folder with no boot status.
	Disk *disk.Monitor
}

// NewAPI is the API over an open store.
func NewAPI(store *storage.Store, opts Options) *API {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	clock := &secureClock{wall: opts.Now, store: store, log: slog.Default()}
	a := &API{store: store, clock: clock, now: clock.Now, stream: opts.Stream, expiry: map[media.ItemID]*time.Timer{}, mediaDisk: opts.Disk}
	if a.mediaDisk == nil {
		a.mediaDisk, _ = disk.New(store.MediaDir(), "") // without a boot status file New cannot fail
	}
	return a
}

// OpenAPI opens the box's state folder for in-process use, when no daemon runs. Close it.
func OpenAPI(ctx context.Context, dir string) (*API, error) {
	if _, err := os.Stat(filepath.Join(dir, "box.db")); err != nil {
		return nil, fmt.Errorf("no box state in %s: start the box first with 'swarmboxd run -dir %s -headend URL'", dir, dir)
	}
	st, err := storage.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	a := NewAPI(st, Options{})
	a.owned = true
	return a, nil
}

// Close stops playback and the licence timers, and closes the store if OpenAPI opened it.
func (a *API) Close() error {
	a.Stop(context.Background())
	a.mu.Lock()
	for id, t := range a.expiry {
		t.Stop()
		delete(a.expiry, id)
	}
	a.watch = false
	a.mu.Unlock()
	if a.owned {
		return a.store.Close()
	}
	return nil
}

// ErrAccountUnknown is returned before the box has synced with its head-end.
var ErrAccountUnknown = errors.New("the account is not known yet: the box has not synced with its head-end")

// Account returns the household's account status and balance as of the last sync.
func (a *API) Account() (protocol.AccountInfo, error) {
	if ai := a.account.Load(); ai != nil {
		return *ai, nil
	}
	return protocol.AccountInfo{}, ErrAccountUnknown
}

// setAccount records the account from a sync and announces it when it changed.
func (a *API) setAccount(ai protocol.AccountInfo) {
	if old := a.account.Swap(&ai); old != nil && *old == ai {
		return
	}
	a.hub.publish(Change{Kind: AccountChanged, Account: ai})
}

// ErrUnknownItem is returned for an item the box's catalog does not list.
var ErrUnknownItem = errors.New("unknown item")

// catalog returns the catalog as last fetched from the head-end.
func (a *API) catalog(ctx context.Context) (protocol.Catalog, error) {
	var cat protocol.Catalog
	_, raw, err := a.store.Catalog(ctx)
	if err != nil || raw == nil {
		return cat, err
	}
	if err := json.Unmarshal(raw, &cat); err != nil {
		return cat, fmt.Errorf("local catalog is damaged (it is refetched on the next sync): %w", err)
	}
	return cat, nil
}

// Catalog lists every title of the catalog as last fetched from the head-end.
func (a *API) Catalog(ctx context.Context) ([]boxbus.Title, error) {
	cat, err := a.catalog(ctx)
	if err != nil {
		return nil, err
	}
	out := []boxbus.Title{}
	for _, it := range cat.Items {
		out = append(out, boxbus.Title{ID: it.ID.String(), Title: it.Title, Kind: it.Kind, Size: it.Size, PriceCents: it.PriceCents, Category: it.Category})
	}
	return out, nil
}

// saveCatalog stores a catalog fetched from the head-end and announces its version.
func (a *API) saveCatalog(ctx context.Context, version int64, raw []byte) (storage.CatalogChange, error) {
	ch, err := a.store.SaveCatalog(ctx, version, raw)
	if err == nil {
		a.hub.publish(Change{Kind: CatalogChanged, CatalogVersion: version})
	}
	return ch, err
}

// CatalogVersion is the version of the local catalog replica; 0 before the first sync.
func (a *API) CatalogVersion(ctx context.Context) (int64, error) {
	v, _, err := a.store.Catalog(ctx)
	return v, err
}

// ErrUnknownKind is returned for a kind other than video, audio, file or "" (every kind).
var ErrUnknownKind = errors.New("unknown kind: use video, audio, file or empty for every kind")

// Categories lists the catalog's categories that hold titles of kind (every kind when empty),
// parents included, with how many titles each holds; uncategorised titles come last, under "".
func (a *API) Categories(ctx context.Context, kind string) ([]boxbus.Shelf, error) {
	switch kind {
	case "", protocol.KindVideo, protocol.KindAudio, protocol.KindFile:
	default:
		return nil, fmt.Errorf("kind %q: %w", kind, ErrUnknownKind)
	}
	sh, err := a.store.Shelves(ctx, kind)
	if err != nil {
		return nil, err
	}
	out := []boxbus.Shelf{}
	for _, c := range sh {
		out = append(out, boxbus.Shelf{Category: c.Category, Titles: int32(c.Titles)})
	}
	return out, nil
}

// Item returns a title and where it stands on this box.
func (a *API) Item(ctx context.Context, id media.ItemID) (boxbus.Item, error) {
	cat, err := a.catalog(ctx)
	if err != nil {
		return boxbus.Item{}, err
	}
	i := slices.IndexFunc(cat.Items, func(c protocol.CatalogItem) bool { return c.ID == id })
	if i < 0 {
		return boxbus.Item{}, fmt.Errorf("%s: %w", id, ErrUnknownItem)
	}
	wish, err := a.Wishlist(ctx)
	if err != nil {
		return boxbus.Item{}, err
	}
	return a.item(ctx, cat.Items[i], wish)
}

// Items returns every catalog title with where it stands on this box, in catalog order.
func (a *API) Items(ctx context.Context) ([]boxbus.Item, error) {
	cat, err := a.catalog(ctx)
	if err != nil {
		return nil, err
	}
	wish, err := a.Wishlist(ctx)
	if err != nil {
		return nil, err
	}
	out := []boxbus.Item{}
	for _, c := range cat.Items {
		it, err := a.item(ctx, c, wish)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

func (a *API) item(ctx context.Context, c protocol.CatalogItem, wish []media.ItemID) (boxbus.Item, error) {
	info := boxbus.Item{ID: c.ID.String(), Title: c.Title, Kind: c.Kind, Size: c.Size, PriceCents: c.PriceCents, Category: c.Category,
		TotalPieces: int32(c.Pieces)}
	err := a.where(ctx, c.ID, wish, &info)
	return info, err
}

// where fills in an item's state and progress on this box.
func (a *API) where(ctx context.Context, id media.ItemID, wish []media.ItemID, info *boxbus.Item) error {
	info.State = boxbus.NotWished
	if r := slices.Index(wish, id); r >= 0 {
		info.WishRank, info.State = int32(r+1), boxbus.Wished
	}
	local, err := a.store.GetItem(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	info.Pieces, info.BytesFromServer, info.BytesFromPeers = int32(local.Pieces), local.BytesFromServer, local.BytesFromPeers
	if local.Total > 0 {
		info.TotalPieces = int32(local.Total)
	}
	if !local.Complete {
		info.State = boxbus.Downloading
		if local.Area == storage.AreaCache && info.WishRank == 0 {
			info.State = boxbus.Kept
		}
		return nil
	}
	info.State = boxbus.ReadyToBuy
	if lic, err := a.license(ctx, id); err == nil {
		info.Expires, info.LicenceKind = lic.Expires.Unix(), string(lic.Kind)
		info.State = boxbus.Bought
		if err := a.renewalNote(ctx, id, lic, info); err != nil {
			return err
		}
		if !a.now().Before(lic.Expires) {
			info.State = boxbus.Expired
		} else if a.NowPlaying() == id.String() {
			info.State = boxbus.Playing
		}
	}
	return nil
}

// announce tells subscribers where item stands now. An item neither on the disk nor on the
// wishlist is announced as removed.
func (a *API) announce(ctx context.Context, id media.ItemID) {
	wish, err := a.Wishlist(ctx)
	if err != nil {
		return
	}
	var info boxbus.Item
	if err := a.where(ctx, id, wish, &info); err != nil {
		return
	}
	if info.State == boxbus.NotWished {
		info.State = boxbus.Removed
	}
	if info.TotalPieces == 0 {
		// Not on the disk: the catalog knows how many pieces it has.
		if cat, err := a.catalog(ctx); err == nil {
			if i := slices.IndexFunc(cat.Items, func(c protocol.CatalogItem) bool { return c.ID == id }); i >= 0 {
				info.TotalPieces = int32(cat.Items[i].Pieces)
			}
		}
	}
	a.hub.publish(Change{Kind: ItemChanged, Item: boxbus.Change{Item: id.String(), State: info.State, Pieces: info.Pieces, Total: info.TotalPieces,
		BytesFromServer: info.BytesFromServer, BytesFromPeers: info.BytesFromPeers}})
}

func (a *API) license(ctx context.Context, item media.ItemID) (media.License, error) {
	env, err := a.store.License(ctx, item)
	if err != nil {
		return media.License{}, err
	}
	id, err := a.store.Identity(ctx)
	if err != nil {
		return media.License{}, err
	}
	return media.ParseLicense(env, id.HeadendKey)
}

// Status returns the box, its account and head-end, and every local title's progress.
func (a *API) Status(ctx context.Context) (boxbus.Status, error) {
	id, err := a.store.Identity(ctx)
	if err != nil {
		return boxbus.Status{}, err
	}
	items, err := a.store.Items(ctx)
	if err != nil {
		return boxbus.Status{}, err
	}
	s := boxbus.Status{Box: id.Box.String(), Account: id.Account, Headend: id.HeadendURL, Items: []boxbus.Local{}, Link: a.Link(), Disk: a.diskNote()}
	if ai, err := a.Account(); err == nil {
		s.Terms = boxbus.Terms{Currency: ai.Currency, RentalSeconds: ai.RentalSeconds}
	}
	for _, it := range items {
		s.Items = append(s.Items, boxbus.Local{ID: it.ID.String(), Complete: it.Complete, Pieces: int32(it.Pieces), Total: int32(it.Total),
			BytesFromServer: it.BytesFromServer, BytesFromPeers: it.BytesFromPeers})
	}
	return s, nil
}

// Holdings returns the titles on the disk with their areas, the areas' room, past evictions
// and the titles refused for lack of space.
func (a *API) Holdings(ctx context.Context) (boxbus.Disk, error) {
	d := boxbus.Disk{Holdings: []boxbus.Holding{}, Areas: []boxbus.Space{}, Evictions: []boxbus.Note{}, Refused: []boxbus.Note{}}
	items, err := a.store.Items(ctx)
	if err != nil {
		return d, err
	}
	for _, it := range items {
		d.Holdings = append(d.Holdings, boxbus.Holding{ID: it.ID.String(), Complete: it.Complete, Pieces: int32(it.Pieces), Total: int32(it.Total),
			BytesFromServer: it.BytesFromServer, BytesFromPeers: it.BytesFromPeers, Area: it.Area, Size: it.Size,
			RangeBegin: int32(it.Range.Begin), RangeEnd: int32(it.Range.End)})
	}
	spaces, err := a.store.Spaces(ctx)
	if err != nil {
		return d, err
	}
	for _, sp := range spaces {
		d.Areas = append(d.Areas, boxbus.Space{Area: sp.Area, Quota: sp.Quota, Used: sp.Used, Free: sp.Free, Full: sp.Full})
	}
	evictions, err := a.store.Evictions(ctx)
	if err != nil {
		return d, err
	}
	for _, e := range evictions {
		d.Evictions = append(d.Evictions, boxbus.Note{Item: e.Item.String(), Area: e.Area, Reason: e.Reason})
	}
	refusals, err := a.store.Refusals(ctx)
	if err != nil {
		return d, err
	}
	for _, r := range refusals {
		d.Refused = append(d.Refused, boxbus.Note{Item: r.Item.String(), Area: r.Area, Reason: r.Reason})
	}
	return d, nil
}

// Buy buys (or rents) a title from the head-end and stores the license. A retry after a lost
// answer reuses the request id, so it never charges twice.
func (a *API) Buy(ctx context.Context, item media.ItemID, rent bool) (boxbus.Purchase, error) {
	if err := a.store.Writable(); err != nil {
		return boxbus.Purchase{}, fmt.Errorf("not bought, nothing charged: %w", err) // the licence could not be kept
	}
	id, err := a.store.Identity(ctx)
	if err != nil {
		return boxbus.Purchase{}, err
	}
	if err := a.offline(); err != nil {
		return boxbus.Purchase{}, err
	}
	if id.HeadendKey == nil {
		return boxbus.Purchase{}, errors.New("the box has not registered with its head-end yet: start it with 'swarmboxd run'")
	}
	if err := a.checkPaired(ctx); err != nil {
		return boxbus.Purchase{}, err
	}
	kind := media.Owned
	if rent {
		kind = media.Rental
	}
	reqID := make([]byte, 16)
	rand.Read(reqID)
	req := protocol.BuyRequest{Item: item, Kind: kind, RequestID: hex.EncodeToString(reqID)}
	client := cloudclient.New(id.HeadendURL, id.SignKey)
	client.Now, client.OnAnswer = a.now, a.clock.answer
	var resp protocol.BuyResponse
	for attempt := 0; ; attempt++ {
		resp, err = client.Buy(ctx, req)
		var api *cloudclient.APIError
		if err == nil || errors.As(err, &api) || attempt == 2 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	if errors.Is(err, cloudclient.ErrUnreachable) {
		return boxbus.Purchase{}, fmt.Errorf("cannot buy %s: %w: %w", item, ErrOffline, err)
	}
	if err != nil {
		return boxbus.Purchase{}, fmt.Errorf("cannot buy %s: %w", item, err)
	}
	lic, err := media.ParseLicense(resp.License, id.HeadendKey)
	if err != nil {
		return boxbus.Purchase{}, fmt.Errorf("the head-end sent a license this box cannot verify: %w", err)
	}
	if err := a.store.SaveLicense(ctx, item, resp.License, lic.Expires); err != nil {
		return boxbus.Purchase{}, err
	}
	a.expireAt(item, lic.Expires)
	a.announce(ctx, item)
	if ai, err := a.Account(); err == nil {
		ai.BalanceCents = resp.BalanceCents
		a.setAccount(ai)
	}
	return boxbus.Purchase{Licence: lic.ID, Expires: lic.Expires.Unix(), ChargedCents: resp.ChargedCents, BalanceCents: resp.BalanceCents}, nil
}

// watchLicences announces every stored licence's expiry when it comes, from now on: the
// daemon's API does, so the TV hears that a rental ran out.
func (a *API) watchLicences(ctx context.Context) error {
	a.mu.Lock()
	a.watch = true
	a.mu.Unlock()
	items, err := a.store.Items(ctx)
	if err != nil {
		return err
	}
	for _, it := range items {
		if lic, err := a.license(ctx, it.ID); err == nil {
			a.expireAt(it.ID, lic.Expires)
		}
	}
	return nil
}

// expireAt announces item when its licence expires at t (when licences are watched).
func (a *API) expireAt(item media.ItemID, t time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.watch {
		return
	}
	if old := a.expiry[item]; old != nil {
		old.Stop()
	}
	d := t.Sub(a.now())
	if d < 0 {
		delete(a.expiry, item)
		return
	}
	a.expiry[item] = time.AfterFunc(d, func() { a.announce(context.Background(), item) })
}

// Open checks the license of a title and opens it for playback: plaintext with random access.
func (a *API) Open(ctx context.Context, item media.ItemID) (*player.Title, error) {
	id, err := a.store.Identity(ctx)
	if err != nil {
		return nil, err
	}
	env, err := a.store.License(ctx, item)
	if errors.Is(err, storage.ErrNotFound) {
		env, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	keys := player.Keys{Box: id.Box, KEM: id.KEMKey, Headend: id.HeadendKey}
	local, err := a.store.GetItem(ctx, item)
	if err == nil && !local.Complete && env != nil {
		if a.stream == nil {
			return nil, fmt.Errorf("%s: %w: %d pieces verified so far", item, player.ErrNotDownloaded, local.Pieces)
		}
		c, size, err := a.stream(item)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %d pieces verified so far, and %w", item, player.ErrNotDownloaded, local.Pieces, err)
		}
		return player.OpenContainer(keys, item, env, c, size, a.now())
	}
	return player.Open(keys, item, env, a.store.ContainerPath(item), a.now())
}

// leaseFor is how long a play lease lasts; Hold renews it at a third of that while playing.
const leaseFor = time.Minute

// Hold keeps item from being evicted while it plays: a lease in the database, renewed until
// release is called (or ctx ends), and cleared then. A crashed player's lease runs out by itself.
func (a *API) Hold(ctx context.Context, item media.ItemID) (release func(), err error) {
	if err := a.store.Playing(ctx, item, a.now().Add(leaseFor)); err != nil {
		return nil, fmt.Errorf("cannot hold %s for playback: %w", item, err)
	}
	leaseCtx, end := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(leaseFor / 3)
		defer t.Stop()
		for {
			select {
			case <-leaseCtx.Done():
				return
			case <-ctx.Done():
				return
			case <-t.C:
				a.store.Playing(leaseCtx, item, a.now().Add(leaseFor))
			}
		}
	}()
	return func() {
		end()
		<-done
		a.store.Playing(context.WithoutCancel(ctx), item, time.Time{})
	}, nil
}

// playback is the one title playing.
type playback struct {
	item    media.ItemID
	session *player.Session
	release func() // ends the play lease that keeps the title from eviction
}

func (p *playback) stop() {
	p.session.Close()
	p.release()
}

// Play checks the licence and serves the decrypted title on a loopback-only HTTP URL with
// Range support, for a media player that seeks. One title plays at a time: playing another
// stops the first.
func (a *API) Play(ctx context.Context, item media.ItemID) (string, error) {
	t, err := a.Open(ctx, item)
	if err != nil {
		return "", err
	}
	release, err := a.Hold(context.WithoutCancel(ctx), item)
	if err != nil {
		t.Close()
		return "", err
	}
	s, err := player.Serve(ctx, t)
	if err != nil {
		release()
		t.Close()
		return "", err
	}
	a.mu.Lock()
	old := a.playing
	a.playing = &playback{item: item, session: s, release: release}
	a.mu.Unlock()
	if old != nil {
		old.stop()
		if old.item != item {
			a.announce(ctx, old.item)
		}
	}
	a.hub.publish(Change{Kind: NowPlayingChanged, NowPlaying: item.String()})
	a.announce(ctx, item)
	return s.URL(), nil
}

// Stop ends playback; without anything playing it does nothing.
func (a *API) Stop(ctx context.Context) error {
	a.mu.Lock()
	p := a.playing
	a.playing = nil
	a.mu.Unlock()
	if p == nil {
		return nil
	}
	p.stop()
	a.hub.publish(Change{Kind: NowPlayingChanged})
	a.announce(ctx, p.item)
	return nil
}

// NowPlaying is the id of the item playing, "" when none.
func (a *API) NowPlaying() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.playing == nil {
		return ""
	}
	return a.playing.item.String()
}
