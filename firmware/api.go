package firmware

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"swarmbox/media"
	"swarmbox/player"
	"swarmbox/storage"
	"swarmbox/sync/cloudclient"
	"swarmbox/sync/protocol"
)

// API is what a household can do with its box: browse the catalog (from the local replica, so it
// works offline), order the wishlist, buy and play. The command line and the D-Bus service are
// both thin layers over it; it works with or without the daemon running.
type API struct {
	Store *storage.Store
	Now   func() time.Time
	// Stream, when the daemon runs, opens a title that is still downloading for playback while
	// it arrives: reads wait for verified pieces, which are fetched in order from the play
	// position. Without it, only complete titles play.
	Stream func(item media.ItemID) (player.Container, int64, error)
	// Account, when the daemon runs, is the household's account as of the last sync.
	Account func() (protocol.AccountInfo, bool)
}

// ErrAccountUnknown is returned before the box has synced with its head-end.
var ErrAccountUnknown = errors.New("the account is not known yet: the box has not synced with its head-end")

// AccountInfo returns the household's account status and balance as of the last sync.
func (a *API) AccountInfo() (protocol.AccountInfo, error) {
	if a.Account != nil {
		if ai, ok := a.Account(); ok {
			return ai, nil
		}
	}
	return protocol.AccountInfo{}, ErrAccountUnknown
}

// ErrUnknownItem is returned for an item the box's catalog does not list.
var ErrUnknownItem = errors.New("unknown item")

// Catalog returns the catalog as last fetched from the head-end.
func (a *API) Catalog(ctx context.Context) (protocol.Catalog, error) {
	var cat protocol.Catalog
	_, raw, err := a.Store.Catalog(ctx)
	if err != nil || raw == nil {
		return cat, err
	}
	if err := json.Unmarshal(raw, &cat); err != nil {
		return cat, fmt.Errorf("local catalog is damaged (it is refetched on the next sync): %w", err)
	}
	return cat, nil
}

// ErrUnknownKind is returned for a kind other than video, audio, file or "" (every kind).
var ErrUnknownKind = errors.New("unknown kind: use video, audio, file or empty for every kind")

// Categories lists the catalog's categories that hold titles of kind (every kind when empty),
// parents included, with how many titles each holds; uncategorised titles come last, under "".
func (a *API) Categories(ctx context.Context, kind string) ([]storage.Shelf, error) {
	switch kind {
	case "", protocol.KindVideo, protocol.KindAudio, protocol.KindFile:
	default:
		return nil, fmt.Errorf("kind %q: %w", kind, ErrUnknownKind)
	}
	return a.Store.Shelves(ctx, kind)
}

// Item states, as the TV shows them.
const (
	StateNotWished   = "not wished"
	StateWished      = "wished"
	StateDownloading = "downloading"
	StateReadyToBuy  = "ready to buy"
	StateBought      = "bought"
	StateExpired     = "license expired"
	// StateKept: the scheduler placed the title (or a piece range of it) in the disk space the
	// box lends to the swarm, for other households; this one has not wished it and the box
	// does not hold all of it, so it is neither downloading for them nor ready to buy.
	StateKept = "kept for neighbours"
)

// ItemInfo is one title with where it stands on this box.
type ItemInfo struct {
	protocol.CatalogItem
	State           string    `json:"state"`
	WishRank        int       `json:"wish_rank"` // 1-based; 0 when not wished
	Pieces          int       `json:"pieces"`
	BytesFromServer int64     `json:"bytes_from_server"`
	BytesFromPeers  int64     `json:"bytes_from_peers"`
	Expires         time.Time `json:"expires,omitzero"` // of the license, when bought
}

// Item returns a title's info and state.
func (a *API) Item(ctx context.Context, id media.ItemID) (ItemInfo, error) {
	cat, err := a.Catalog(ctx)
	if err != nil {
		return ItemInfo{}, err
	}
	i := slices.IndexFunc(cat.Items, func(c protocol.CatalogItem) bool { return c.ID == id })
	if i < 0 {
		return ItemInfo{}, fmt.Errorf("%s: %w", id, ErrUnknownItem)
	}
	info := ItemInfo{CatalogItem: cat.Items[i], State: StateNotWished}
	wish, _, err := a.Store.Wishlist(ctx)
	if err != nil {
		return info, err
	}
	if r := slices.Index(wish, id); r >= 0 {
		info.WishRank, info.State = r+1, StateWished
	}
	local, err := a.Store.GetItem(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return info, nil
	case err != nil:
		return info, err
	}
	info.Pieces, info.BytesFromServer, info.BytesFromPeers = local.Pieces, local.BytesFromServer, local.BytesFromPeers
	if !local.Complete {
		info.State = StateDownloading
		if local.Area == storage.AreaCache && info.WishRank == 0 {
			info.State = StateKept
		}
		return info, nil
	}
	info.State = StateReadyToBuy
	if lic, err := a.license(ctx, id); err == nil {
		info.Expires = lic.Expires
		info.State = StateBought
		if !a.Now().Before(lic.Expires) {
			info.State = StateExpired
		}
	}
	return info, nil
}

func (a *API) license(ctx context.Context, item media.ItemID) (media.License, error) {
	env, err := a.Store.License(ctx, item)
	if err != nil {
		return media.License{}, err
	}
	id, err := a.Store.Identity(ctx)
	if err != nil {
		return media.License{}, err
	}
	return media.ParseLicense(env, id.HeadendKey)
}

// Wishlist returns the wishlist, most wanted first.
func (a *API) Wishlist(ctx context.Context) ([]media.ItemID, error) {
	w, _, err := a.Store.Wishlist(ctx)
	return w, err
}

// SetWishlist replaces the wishlist; the daemon syncs it within a second.
func (a *API) SetWishlist(ctx context.Context, items []media.ItemID) error {
	return a.Store.SetWishlist(ctx, items)
}

// MoveWish puts item at position pos (1 = most wanted) of the wishlist, adding it if it is not
// there; a position past the end puts it last.
func (a *API) MoveWish(ctx context.Context, item media.ItemID, pos int) error {
	if pos < 1 {
		return fmt.Errorf("position %d: positions start at 1", pos)
	}
	w, err := a.Wishlist(ctx)
	if err != nil {
		return err
	}
	w = slices.DeleteFunc(w, func(x media.ItemID) bool { return x == item })
	w = slices.Insert(w, min(pos-1, len(w)), item)
	return a.SetWishlist(ctx, w)
}

// RemoveWish takes item off the wishlist.
func (a *API) RemoveWish(ctx context.Context, item media.ItemID) error {
	w, err := a.Wishlist(ctx)
	if err != nil {
		return err
	}
	return a.SetWishlist(ctx, slices.DeleteFunc(w, func(x media.ItemID) bool { return x == item }))
}

// Purchase is the outcome of Buy.
type Purchase struct {
	License      media.License
	ChargedCents int64
	BalanceCents int64
}

// Buy buys (or rents) a title from the head-end and stores the license. A retry after a lost
// answer reuses the request id, so it never charges twice.
func (a *API) Buy(ctx context.Context, item media.ItemID, rent bool) (Purchase, error) {
	id, err := a.Store.Identity(ctx)
	if err != nil {
		return Purchase{}, err
	}
	if id.HeadendKey == nil {
		return Purchase{}, errors.New("the box has not registered with its head-end yet: start it with 'swarmboxd run'")
	}
	kind := media.Owned
	if rent {
		kind = media.Rental
	}
	reqID := make([]byte, 16)
	rand.Read(reqID)
	req := protocol.BuyRequest{Item: item, Kind: kind, RequestID: hex.EncodeToString(reqID)}
	client := cloudclient.New(id.HeadendURL, id.SignKey)
	client.Now = a.Now
	var resp protocol.BuyResponse
	for attempt := 0; ; attempt++ {
		resp, err = client.Buy(ctx, req)
		var api *cloudclient.APIError
		if err == nil || errors.As(err, &api) || attempt == 2 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		return Purchase{}, fmt.Errorf("cannot buy %s: %w", item, err)
	}
	lic, err := media.ParseLicense(resp.License, id.HeadendKey)
	if err != nil {
		return Purchase{}, fmt.Errorf("the head-end sent a license this box cannot verify: %w", err)
	}
	if err := a.Store.SaveLicense(ctx, item, resp.License, lic.Expires); err != nil {
		return Purchase{}, err
	}
	return Purchase{License: lic, ChargedCents: resp.ChargedCents, BalanceCents: resp.BalanceCents}, nil
}

// Open checks the license of a title and opens it for playback: plaintext with random access.
func (a *API) Open(ctx context.Context, item media.ItemID) (*player.Title, error) {
	id, err := a.Store.Identity(ctx)
	if err != nil {
		return nil, err
	}
	env, err := a.Store.License(ctx, item)
	if errors.Is(err, storage.ErrNotFound) {
		env, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	keys := player.Keys{Box: id.Box, KEM: id.KEMKey, Headend: id.HeadendKey}
	local, err := a.Store.GetItem(ctx, item)
	if err == nil && !local.Complete && env != nil {
		if a.Stream == nil {
			return nil, fmt.Errorf("%s: %w: %d pieces verified so far", item, player.ErrNotDownloaded, local.Pieces)
		}
		c, size, err := a.Stream(item)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %d pieces verified so far, and %w", item, player.ErrNotDownloaded, local.Pieces, err)
		}
		return player.OpenContainer(keys, item, env, c, size, a.Now())
	}
	return player.Open(keys, item, env, a.Store.ContainerPath(item), a.Now())
}

// leaseFor is how long a play lease lasts; Hold renews it at a third of that while playing.
const leaseFor = time.Minute

// Hold keeps item from being evicted while it plays: a lease in the database, renewed until
// release is called (or ctx ends), and cleared then. A crashed player's lease runs out by itself.
func (a *API) Hold(ctx context.Context, item media.ItemID) (release func(), err error) {
	if err := a.Store.Playing(ctx, item, a.Now().Add(leaseFor)); err != nil {
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
				a.Store.Playing(leaseCtx, item, a.Now().Add(leaseFor))
			}
		}
	}()
	return func() {
		end()
		<-done
		a.Store.Playing(context.WithoutCancel(ctx), item, time.Time{})
	}, nil
}
